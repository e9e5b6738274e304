# mmdet's Mask R-CNN R50-C4 (res1-4 backbone, res5 as the RoI shared head), set up
# to be pretrained: torchvision-style bottlenecks (stride on the 3x3 conv) and
# trainable BN in train mode everywhere, no frozen stem, no download.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50-caffe-c4.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        zero_init_residual=True,
        init_cfg=None),
    roi_head=dict(
        shared_head=dict(
            norm_cfg=norm_cfg, norm_eval=False, style='pytorch')))

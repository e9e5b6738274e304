# soco_r18_fpn_demo.py with heat-map proposals (docs/heatmap.md): boxes from the
# target network's own C5 on V1, inside the model; the dataset needs no proposal
# cache (no tools/precompute_proposals.py step).
#   python tools/train.py configs/objcon/soco-heatmap_r18_fpn_demo.py
_base_ = ['./soco_r18_fpn_demo.py']

# 400 images / 16 = 25 iterations per epoch, 8 epochs = 200 iterations: grid boxes
# for the first ~25% of them.
heatmap_generator = dict(
    type='HeatMapProposals',
    num_centres=4,
    scales=(0.5, 0.75, 1.0),
    aspects=(1.0, ),
    power=1,
    suppress_dist=0.2,
    threshold=0.7,
    min_size=0.05,
    max_size=0.8,  # SoCo's selective-search band: sqrt(wh) <= 0.8 sqrt(WH)
    warmup_iters=50,
    warmup=dict(type='GridBoxes', rows=4, cols=4))
model = dict(
    proposal_generator=heatmap_generator,
    proposal_view=0,
    pair_slots=dict(num_boxes=4, min_visible_fraction=0., min_area=0.,
                    padding='per_view', jitter={{_base_.soco_box_jitter}}))

train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageOrSkip'),
        dict(type='ObjectViews',
             views={{_base_.object_views.views}},
             pairs={{_base_.object_views.pairs}},
             num_boxes=4, max_tries=1, min_boxes=1, backend='cv2'),
        dict(type='PackObjectViews'),
    ]))

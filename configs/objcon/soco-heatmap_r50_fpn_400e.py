# SoCo-FPN 400 epochs with heat-map proposals (docs/heatmap.md): the boxes come from
# the target network's own C5 on V1 inside the model -- no selective search, no
# proposal cache. Everything else is soco_r50_fpn_400e.py.
#   tools/dist_train.sh configs/objcon/soco-heatmap_r50_fpn_400e.py 8
_base_ = ['./soco_r50_fpn_400e.py']

# ImageNet-1k at batch 2048: 625 iterations per epoch. Warm-up on grid boxes for
# the first 10 epochs (the lr warm-up), while the features still mean little.
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
    warmup_iters=6250,
    warmup=dict(type='GridBoxes', rows=4, cols=4))
model = dict(
    proposal_generator=heatmap_generator,
    proposal_view=0,
    pair_slots=dict(num_boxes=4, min_visible_fraction=0., min_area=0.,
                    padding='per_view', jitter={{_base_.soco_box_jitter}}))

# Views as before, but no proposals: ObjectViews then emits the whole-image box per
# pair (replaced in the model) and each view's geometry (view_params).
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageOrSkip'),
        dict(type='ObjectViews',
             views={{_base_.object_views.views}},
             pairs={{_base_.object_views.pairs}},
             num_boxes=4, max_tries=1, min_boxes=1),
        dict(type='PackObjectViews'),
    ]))

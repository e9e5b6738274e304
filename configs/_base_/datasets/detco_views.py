# DetCo's views: two MoCo v2 crops X1, X2 (RandomResizedCrop 224, scale 0.2-1,
# flip 0.5, ColorJitter(0.4, 0.4, 0.4, 0.1) p 0.8, grey p 0.2, blur sigma U(0.1, 2)
# p 0.5) and from each a 3x3 jigsaw patch set (X3 of X1, X4 of X2): per cell a
# window of 0.85 of the cell's sides at a random position, resized to 64 px (about
# the window's size at 224), with its own flip and MoCo v2 colour. The patch
# geometry is objcon's design (unverified: DetCo released no pretraining code).
# No boxes: pairs=[] (nothing reads proposals).
# Use: train_pipeline = [LoadImageOrSkip, object_views, PackObjectViews]
view_size = 224
patch_size = 64
patch_side = 0.85
patch_grid = 3
mocov2_crop = dict(scale=(0.2, 1.0), ratio=(3. / 4., 4. / 3.))
mocov2_photometric = [
    dict(type='RandomApply',
         transforms=[dict(type='mmpretrain.ColorJitter', brightness=0.4,
                          contrast=0.4, saturation=0.4, hue=0.1)],
         prob=0.8),
    # torchvision's Grayscale uses ITU-R 601 luma weights; these are in BGR order.
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.299)),
    dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.5),
]
global_views = [
    dict(size=view_size, crop=mocov2_crop, flip_prob=0.5,
         pipeline=mocov2_photometric) for _ in range(2)
]
# views 2..10: X1's cells row by row; views 11..19: X2's
patch_views = [
    dict(size=patch_size, source=source, flip_prob=0.5,
         cell=dict(grid=patch_grid, index=i, side=patch_side),
         pipeline=mocov2_photometric)
    for source in (0, 1) for i in range(patch_grid * patch_grid)
]
object_views = dict(type='ObjectViews', views=global_views + patch_views,
                    pairs=[], backend='pillow')
view_pipeline = [object_views, dict(type='PackObjectViews')]

# The targets of DETReg and UP-DETR in the pipeline: boxes (DETReg's cached selective
# search, UP-DETR's random patches) become mmdet's gt instances labelled with their
# object ids (ProposalsAsInstances: the model trains one "object" class; no
# annotation is read), and each box's 128x128 crop of the decoded image, with
# SimCLR's colour and no flip, is what the frozen network embeds.
crop_size = 128

# SimCLR's colour distortion (strength 0.5 as in MoCo v2 / SwAV); BGR order.
simclr_colour = [
    dict(type='RandomApply',
         transforms=[dict(type='mmpretrain.ColorJitter', brightness=0.4,
                          contrast=0.4, saturation=0.4, hue=0.1)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.299)),
]
object_crops = dict(type='ObjectCrops', size=crop_size, pipeline=simclr_colour)
pack_inputs = dict(
    type='PackDetInputsWithCrops',
    meta_keys=('img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
               'flip_direction'))

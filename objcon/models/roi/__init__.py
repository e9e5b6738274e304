from .conv_fc_trunk import SharedConvFCTrunk
from .multi_level_roi_align import MultiLevelRoIAlign
from .object_embedder import ObjectEmbedder
from .res_layer_trunk import ResLayerTrunk

__all__ = ['MultiLevelRoIAlign', 'ObjectEmbedder', 'SharedConvFCTrunk',
           'ResLayerTrunk']

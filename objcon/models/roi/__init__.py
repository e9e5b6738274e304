from .conv_fc_trunk import SharedConvFCTrunk
from .flatten_trunk import FlattenTrunk
from .multi_level_roi_align import MultiLevelRoIAlign
from .object_embedder import ObjectEmbedder
from .res_layer_trunk import ResLayerTrunk

__all__ = ['FlattenTrunk', 'MultiLevelRoIAlign', 'ObjectEmbedder', 'SharedConvFCTrunk',
           'ResLayerTrunk']

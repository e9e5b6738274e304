"""Object embeddings: RoI pooling, trunk and projector, BN statistics per chunk."""
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor

from objcon.registry import MODELS
from objcon.structures import boxes_to_rois
from ..utils import forward_per_chunk


@MODELS.register_module()
class ObjectEmbedder(BaseModule):
    """Boxes on feature maps -> one embedding per (box, level).

    ``roi_align`` pools boxes from the feature levels, ``trunk`` turns a pooled
    box into a vector (the detector's box-head trunk, or res5 for C4) and
    ``projector`` maps it into the contrastive space. Pooled boxes come in
    *chunks* (e.g. SoCo's (view, pair, level)) and every BN layer of trunk and
    projector normalises each chunk with its own statistics, as methods that call
    them once per chunk do; ``batched`` runs all chunks in one call with the same
    result (:func:`~objcon.models.utils.forward_per_chunk`).

    Args:
        roi_align (dict): :class:`MultiLevelRoIAlign` config.
        trunk (dict): Trunk config (:class:`SharedConvFCTrunk`,
            :class:`ResLayerTrunk`).
        projector (dict): Projector MLP config (e.g. mmpretrain's NonLinearNeck).
        batched (bool): One call over all chunks with per-chunk BN statistics
            (exact, faster); False: one call per chunk. Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self, roi_align: dict, trunk: dict, projector: dict,
                 batched: bool = True, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.roi_align = MODELS.build(roi_align)
        self.trunk = MODELS.build(trunk)
        self.projector = MODELS.build(projector)
        self.batched = batched

    @property
    def num_levels(self) -> int:
        """Feature levels the boxes are pooled from."""
        return self.roi_align.num_levels

    def transfer_prefixes(self) -> Dict[str, List[Tuple[str, str]]]:
        """The trunk's (own prefix, detector prefix) per transfer part."""
        return dict(getattr(self.trunk, 'transfer_prefixes', {}))

    def pool(self, feats: Sequence[Tensor], boxes: Tensor,
             levels: Optional[Tensor] = None) -> List[Tensor]:
        """Pool (N, K) boxes of N images.

        Args:
            feats (Sequence[Tensor]): One (N, C, H, W) map per level.
            boxes (Tensor): (N, K, 4) pixel xyxy.
            levels (Tensor, optional): (N, K) level of each box: pool each box
                on its level only. None: every box on every level.

        Returns:
            list[Tensor]: Chunks of (N*K, C, S, S) pooled features, image-major:
            one per level without ``levels``, one with them.
        """
        rois = boxes_to_rois(boxes)
        if levels is None:
            return list(self.roi_align(feats, rois))
        return [self.roi_align(feats, rois, levels.reshape(-1))]

    def embed(self, chunks: Sequence[Tensor]) -> Tensor:
        """Trunk and projector of each chunk, BN statistics per chunk.

        Args:
            chunks (Sequence[Tensor]): Pooled (R_i, C, S, S) features.

        Returns:
            Tensor: (sum R_i, D) projections, chunk after chunk.
        """
        return forward_per_chunk(
            self, lambda x: self.projector((self.trunk(x), ))[0], chunks,
            self.batched)

    def forward(self, chunks: Sequence[Tensor]) -> Tensor:
        """Same as :meth:`embed`."""
        return self.embed(chunks)

from typing import Sequence

from mmengine.model import BaseModule
from torch import Tensor

from objcon.registry import MODELS
from ..utils import forward_per_chunk


@MODELS.register_module()
class ObjectPredictHead(BaseModule):
    """Predictor + correspondence loss of BYOL-style object-level methods.

    The online branch's projections go through the predictor; the loss compares
    them with the target branch's projections of the corresponding slots.

    Args:
        predictor (dict): Config of the predictor MLP (e.g. mmpretrain's
            NonLinearNeck 256-4096-256).
        loss (dict): Config of the loss. Defaults to CorrespondenceCosineLoss.
        batched (bool): Run all chunks of :meth:`predict` in one call with
            per-chunk BN statistics (exact, faster). Defaults to True.
    """

    def __init__(self, predictor: dict,
                 loss: dict = dict(type='CorrespondenceCosineLoss'),
                 batched: bool = True) -> None:
        super().__init__()
        self.predictor = MODELS.build(predictor)
        self.loss_module = MODELS.build(loss)
        self.batched = batched

    def predict(self, x: Tensor, num_chunks: int = 1) -> Tensor:
        """(R, D) projections -> (R, D) predictions.

        Args:
            x (Tensor): Projections of ``num_chunks`` equal chunks, chunk after
                chunk; each chunk gets its own BN statistics.
            num_chunks (int): Defaults to 1.

        Returns:
            Tensor: (R, D) predictions.
        """
        chunks: Sequence[Tensor] = x.chunk(num_chunks) if num_chunks > 1 else [x]
        return forward_per_chunk(self.predictor,
                                 lambda z: self.predictor((z, ))[0], chunks,
                                 self.batched)

    def loss(self, pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """See :class:`CorrespondenceCosineLoss`."""
        return self.loss_module(pred, target.detach(), mask)

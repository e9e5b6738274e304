from torch import Tensor

from mmengine.model import BaseModule

from objcon.registry import MODELS


@MODELS.register_module()
class ObjectPredictHead(BaseModule):
    """Predictor + correspondence loss of BYOL-style object-level methods.

    The online branch's projections go through the predictor; the loss compares
    them with the target branch's projections of the corresponding slots.

    Args:
        predictor (dict): Config of the predictor MLP (e.g. mmpretrain's
            NonLinearNeck 256-4096-256).
        loss (dict): Config of the loss. Defaults to CorrespondenceCosineLoss.
    """

    def __init__(self, predictor: dict,
                 loss: dict = dict(type='CorrespondenceCosineLoss')) -> None:
        super().__init__()
        self.predictor = MODELS.build(predictor)
        self.loss_module = MODELS.build(loss)

    def predict(self, x: Tensor) -> Tensor:
        """(R, D) projections -> (R, D) predictions."""
        return self.predictor((x, ))[0]

    def loss(self, pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """See :class:`CorrespondenceCosineLoss`."""
        return self.loss_module(pred, target.detach(), mask)

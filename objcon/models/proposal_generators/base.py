"""The interface of proposal generators that run inside a model."""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Sequence, Tuple

from torch import Tensor


class BaseProposalGenerator(metaclass=ABCMeta):
    """Boxes for a batch of images, made inside the model from its features.

    An algorithm builds it from ``PROPOSAL_GENERATORS`` and calls it in its loss,
    under ``torch.no_grad()``: ``generator(feats, img_shapes)``.

    * ``feats``: what the generator reads, computed on the images the boxes are
      for: a (B, C, h, w) tensor or a tuple of levels (generators that read one
      level take the last);
    * ``img_shapes``: B ``(H, W)``, the sizes of those images;
    * returns B float32 tensors (N_i, 4), pixel xyxy on image i, on ``feats``'
      device; N_i may differ per image and may be 0.

    Per-image proposal sources (offline and pipeline boxes) live in
    ``objcon.proposals`` with their own interface.
    """

    @abstractmethod
    def __call__(self, feats, img_shapes: Sequence[Tuple[int, int]]
                 ) -> List[Tensor]:
        """Boxes per image; see the class docstring."""

    def log_vars(self) -> Dict[str, float]:
        """Scalars for the training log (none by default)."""
        return {}

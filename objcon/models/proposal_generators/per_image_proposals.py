"""The in-model form of a per-image source that only needs image sizes."""
from typing import List, Sequence, Tuple

import numpy as np
import torch

from objcon.registry import PROPOSAL_GENERATORS, PROPOSAL_SOURCES
from .base import BaseProposalGenerator


@PROPOSAL_GENERATORS.register_module()
class PerImageProposals(BaseProposalGenerator):
    """Calls a per-image source on each image size of a batch, inside the model.

    Meant for sources that read only the image size (:class:`GridBoxes`,
    :class:`RandomBoxes`, :class:`WholeImage`), e.g. as the warm-up of a heat-map
    source: they are called on a blank image of the right size.

    Args:
        source (dict): Config of the per-image source (``PROPOSAL_SOURCES``).
    """

    def __init__(self, source: dict) -> None:
        self.source = PROPOSAL_SOURCES.build(source)

    def __call__(self, feats, img_shapes: Sequence[Tuple[int, int]]) -> List[torch.Tensor]:
        device = feats.device if isinstance(feats, torch.Tensor) else 'cpu'
        out = []
        for h, w in img_shapes:
            # A blank image: these sources read only its size.
            blank = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (int(h), int(w), 3))
            out.append(torch.from_numpy(self.source(blank)).to(device))
        return out

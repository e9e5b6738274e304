"""Runner-style checkpoints of pretraining models whose every tensor (online and
EMA target, parameters and buffers) is random, for the conversion tests: a value
can only arrive in a detector from the tensor it was converted from."""
from typing import Dict

import torch
from mmengine.config import Config
from torch import Tensor, nn


def save_random_checkpoint(cfg: Config, model: nn.Module,
                           path: str) -> Dict[str, Tensor]:
    """Randomise ``model``'s state in place (seed 0) and save it as the Runner
    does, with ``cfg`` in the meta.

    Args:
        cfg (Config): The config the model was built from.
        model (nn.Module): The pretraining model.
        path (str): The checkpoint file to write.

    Returns:
        dict[str, Tensor]: The whole state saved, by pretraining name.
    """
    torch.manual_seed(0)
    state = model.state_dict()
    for value in state.values():
        if value.is_floating_point():
            value.normal_()
        else:
            value.random_(1, 100)
    torch.save(dict(state_dict=state, meta=dict(cfg=cfg.pretty_text)), path)
    return state


def online_tensors(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """``state`` without the EMA target's tensors (``target_net.*``)."""
    return {k: v for k, v in state.items() if not k.startswith('target_net.')}

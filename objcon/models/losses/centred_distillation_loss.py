"""DINO's self-distillation loss: centred, sharpened teacher, tempered student."""
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub
from mmengine.model import BaseModule
from torch import Tensor

from objcon.registry import MODELS


@MODELS.register_module()
class CentredDistillationLoss(BaseModule):
    """``CE(softmax((t - c) / tau_t), log_softmax(s / tau_s))``, c an EMA centre.

    The teacher temperature warms up linearly per epoch, as DINO's and PLRC's
    ``np.linspace(start, end, warmup_epochs)``: ``tau_t(e) = start + (end -
    start) e / (warmup_epochs - 1)`` for ``e < warmup_epochs``, ``end`` after.
    The epoch is read from the Runner (MessageHub ``epoch``), so ``--resume``
    continues the schedule; outside a Runner it is 0. After each loss the centre
    moves towards the mean teacher vector of the whole batch (all ranks),
    ``c = m c + (1 - m) mean(t)``; ``centre`` is a registered buffer, so
    checkpoints keep it.

    Args:
        dim (int): Length of the vectors (the centre's).
        student_temperature (float): tau_s. Defaults to 0.1.
        teacher_temperature (Sequence[float]): (start, end) of tau_t.
            Defaults to (0.04, 0.07).
        warmup_epochs (int): Epochs of the warmup. Defaults to 30.
        centre_momentum (float): m. Defaults to 0.9.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self, dim: int, student_temperature: float = 0.1,
                 teacher_temperature: Sequence[float] = (0.04, 0.07),
                 warmup_epochs: int = 30, centre_momentum: float = 0.9,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(teacher_temperature) != 2 or min(teacher_temperature) <= 0 \
                or student_temperature <= 0:
            raise ValueError('temperatures must be > 0 and the teacher\'s a '
                             f'(start, end) pair, got {student_temperature}, '
                             f'{teacher_temperature}')
        if not 0 <= centre_momentum <= 1:
            raise ValueError(f'centre_momentum must be in [0, 1], got '
                             f'{centre_momentum}')
        self.student_temperature = float(student_temperature)
        self.teacher_temperature = tuple(float(t) for t in teacher_temperature)
        self.warmup_epochs = int(warmup_epochs)
        self.centre_momentum = float(centre_momentum)
        self.loss_weight = float(loss_weight)
        self.register_buffer('centre', torch.zeros(1, int(dim)))

    def teacher_temperature_at(self, epoch: int) -> float:
        """tau_t of a (0-based) epoch."""
        start, end = self.teacher_temperature
        if epoch >= self.warmup_epochs or self.warmup_epochs < 2:
            return end
        return float(np.linspace(start, end, self.warmup_epochs)[max(epoch, 0)])

    @staticmethod
    def current_epoch() -> int:
        """The Runner's epoch; 0 outside a Runner."""
        return int(MessageHub.get_current_instance().get_info('epoch', 0) or 0)

    def forward(self, student: Tensor, teacher: Tensor,
                epoch: Optional[int] = None) -> Tensor:
        """
        Args:
            student (Tensor): (M, dim) student vectors.
            teacher (Tensor): (M, dim) teacher vectors (no gradient flows).
            epoch (int, optional): Epoch of the temperature. Defaults to the
                Runner's.

        Returns:
            Tensor: The weighted mean loss; 0 (in the graph) when M is 0.
        """
        if student.shape != teacher.shape or student.shape[-1] != \
                self.centre.shape[1]:
            raise ValueError(f'student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} for a centre of dim '
                             f'{self.centre.shape[1]}')
        epoch = self.current_epoch() if epoch is None else epoch
        teacher = teacher.detach()
        if student.shape[0] == 0:
            loss = student.sum() * 0.
        else:
            target = F.softmax(
                (teacher - self.centre) / self.teacher_temperature_at(epoch), -1)
            log_p = F.log_softmax(student / self.student_temperature, -1)
            loss = self.loss_weight * -(target * log_p).sum(-1).mean()
        self.update_centre(teacher)
        return loss

    @torch.no_grad()
    def update_centre(self, teacher: Tensor) -> None:
        """Move the centre towards the mean teacher vector of every rank."""
        total = teacher.float().sum(0, keepdim=True)
        count = teacher.new_tensor([float(teacher.shape[0])])
        if get_world_size() > 1:
            all_reduce(total, op='sum')
            all_reduce(count, op='sum')
        if float(count) == 0:
            return
        m = self.centre_momentum
        self.centre.mul_(m).add_(total.to(self.centre.dtype) / count, alpha=1 - m)

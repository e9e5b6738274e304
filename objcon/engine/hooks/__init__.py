from .non_finite_loss_hook import NonFiniteLossHook
from .progress_bar_hook import ProgressBarHook

__all__ = ['NonFiniteLossHook', 'ProgressBarHook']

"""Hyper-parameters that move linearly with the training progress."""
from typing import Dict, Optional, Tuple

from mmengine.logging import MessageHub

# CCOP's curriculum (arXiv 2111.13651): positives get harder as training goes.
CCOP_CURRICULUM = dict(iou_floor=(0.8, 0.4), shift=(0.15, 0.6),
                       log_scale=(0.35, 1.4))


class LinearCurriculum:
    """Named values, each linear from its start to its end over training.

    ``value(t) = start + (end - start) * t`` with ``t = iter / max_iters``
    clamped to [0, 1]. :meth:`current` reads the position from the MessageHub
    (``iter`` and ``max_iters``, set by the Runner's ``RuntimeInfoHook``), so a
    resumed run continues where it stopped; outside a Runner t is 0.

    Args:
        **ranges (tuple[float, float]): ``name=(start, end)`` per value.
            Defaults to CCOP's (:data:`CCOP_CURRICULUM`) when none is given.

    Example:
        >>> LinearCurriculum(iou_floor=(0.8, 0.4)).at(0.5)
        {'iou_floor': 0.6000000000000001}
    """

    def __init__(self, **ranges: Tuple[float, float]) -> None:
        ranges = ranges or CCOP_CURRICULUM
        self.ranges: Dict[str, Tuple[float, float]] = {}
        for name, bounds in ranges.items():
            if len(bounds) != 2:
                raise ValueError(f'curriculum value {name!r} needs (start, end), '
                                 f'got {bounds!r}')
            self.ranges[name] = (float(bounds[0]), float(bounds[1]))

    def at(self, progress: float) -> Dict[str, float]:
        """The values at training progress ``progress`` (clamped to [0, 1])."""
        t = min(max(float(progress), 0.), 1.)
        return {k: a + (b - a) * t for k, (a, b) in self.ranges.items()}

    @staticmethod
    def progress(message_hub: Optional[MessageHub] = None) -> float:
        """``iter / max_iters`` of the current run; 0 outside a Runner."""
        hub = message_hub or MessageHub.get_current_instance()
        max_iters = hub.get_info('max_iters')
        if not max_iters:
            return 0.
        return hub.get_info('iter', 0) / max_iters

    def current(self) -> Dict[str, float]:
        """The values at the current run's progress."""
        return self.at(self.progress())

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.ranges})'

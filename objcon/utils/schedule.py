"""Change a config's training length and keep its schedule's shape."""
import math
from typing import List, Union

from mmengine.config import Config
from mmengine.logging import print_log


def _rescale(value: int, old: int, new: int) -> int:
    return max(1, round(value * new / old)) if old else value


def set_train_length(cfg: Config, epochs: int = None, iters: int = None) -> Config:
    """Set ``max_epochs`` (epoch-based) or ``max_iters`` (iteration-based) and
    stretch the parameter schedulers with it.

    Schedulers counted in the loop's unit (``by_epoch`` for ``epochs``, not
    ``by_epoch`` for ``iters``) are stretched; others (an iteration-based warm-up
    of an epoch-based run) keep their length. A warm-up (a ``LinearLR`` from 0
    followed by other schedulers) keeps its length, halved only if it would not
    fit, and left out if half of it is less than one step (an epoch-based warm-up
    converted to iterations may end in mid-epoch: see
    :func:`drop_empty_schedulers`); every other scheduler's ``begin`` / ``end``
    (MultiStepLR milestones, CosineAnnealing's ``T_max``) is scaled by new/old
    length, and one that began where the warm-up ended still does. Checkpoint
    and validation intervals equal to the old length follow the new one, so the
    last step still saves.

    Args:
        cfg (Config): A loaded config (modified in place).
        epochs (int, optional): New ``train_cfg.max_epochs``.
        iters (int, optional): New ``train_cfg.max_iters``.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: Both or neither given, a length < 1, or a loop of the other
            kind.
    """
    if (epochs is None) == (iters is None):
        raise ValueError('give exactly one of epochs and iters')
    key = 'max_epochs' if epochs is not None else 'max_iters'
    new = epochs if epochs is not None else iters
    if new < 1:
        raise ValueError(f'{key} must be >= 1, got {new}')
    old = cfg.train_cfg.get(key)
    if old is None:
        kind = 'epoch' if epochs is not None else 'iteration'
        raise ValueError(f'{kind}-based length asked, but train_cfg has no {key} '
                         f'({dict(cfg.train_cfg)})')
    cfg.train_cfg[key] = new
    if cfg.train_cfg.get('val_interval') == old:
        cfg.train_cfg.val_interval = new
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    # a scheduler counted in the other unit (an iteration-based warm-up of an
    # epoch-based run) keeps its length: the epoch length is not known here
    by_epoch = epochs is not None
    same_unit = [s.get('by_epoch', True) == by_epoch for s in schedulers]
    old_warm = new_warm = None
    if len(schedulers) > 1 and schedulers[0].get('type') == 'LinearLR' \
            and schedulers[0].get('begin', 0) == 0 and same_unit[0]:
        warm = schedulers[0]
        old_warm = warm.get('end', old)
        # a fraction of an epoch is fine for by-epoch schedulers converted to
        # iterations; other schedulers step by whole units
        fractional = warm.get('by_epoch', True) and warm.get('convert_to_iter_based')
        new_warm = old_warm if old_warm < new else (
            new / 2 if fractional else new // 2)
        warm['end'] = new_warm
    for s, rescale in zip(schedulers, same_unit):
        if not rescale or (old_warm is not None and s is schedulers[0]):
            continue
        begin, end = s.get('begin', 0), s.get('end', old)
        if old_warm is not None and begin == old_warm:
            s['begin'] = new_warm
        elif begin:
            s['begin'] = min(_rescale(begin, old, new), new - 1)
        s['end'] = new if end >= old else max(_rescale(end, old, new),
                                              s['begin'] + 1)
        if 'T_max' in s:
            s['T_max'] = max(s['end'] - s['begin'], 1)
        if 'milestones' in s:
            s['milestones'] = [min(_rescale(m, old, new), new)
                               for m in s['milestones']]
    if new_warm == 0:
        cfg.param_scheduler = schedulers[1:]
    ckpt = cfg.get('default_hooks', {}).get('checkpoint')
    if ckpt is not None and ckpt.get('interval') == old:
        ckpt['interval'] = new
    return cfg


def _iterations_covered(scheduler: dict, epoch_length: int) -> float:
    """Iterations an epoch-based scheduler converted to iterations spans, its
    ends rounded as MMEngine's ``build_iter_from_epoch`` rounds them."""
    begin = int(scheduler.get('begin', 0) * epoch_length)
    end = scheduler.get('end')
    return math.inf if end is None else int(end * epoch_length) - begin


def drop_empty_schedulers(schedulers: Union[dict, List[dict], None],
                          epoch_length: int) -> Union[dict, List[dict], None]:
    """Remove the schedulers that convert to no iteration at this epoch length.

    A scheduler configured in (fractions of) epochs with
    ``convert_to_iter_based=True`` spans ``int(end * L) - int(begin * L)``
    iterations for ``L`` iterations an epoch. When that is 0 (a half-epoch
    warm-up of a one-iteration epoch) MMEngine refuses to build it ("end should
    be larger than begin"), though it would change no learning rate. Each one
    removed is logged.

    Args:
        schedulers (dict | list[dict] | None): ``param_scheduler`` configs: one,
            a list, or a dict of lists by optimizer name.
        epoch_length (int): Training iterations an epoch.

    Returns:
        dict | list[dict] | None: The same configs less the empty schedulers.
    """
    if not schedulers:
        return schedulers
    if isinstance(schedulers, dict) and 'type' not in schedulers:
        return {name: drop_empty_schedulers(group, epoch_length)
                for name, group in schedulers.items()}
    single = isinstance(schedulers, dict)
    kept = []
    for s in [schedulers] if single else schedulers:
        converted = isinstance(s, dict) and s.get('by_epoch', True) \
            and s.get('convert_to_iter_based')
        if converted and _iterations_covered(s, epoch_length) <= 0:
            print_log(f"{s['type']} from epoch {s.get('begin', 0)} to "
                      f"{s.get('end')} covers no iteration of a "
                      f'{epoch_length}-iteration epoch: left out',
                      logger='current')
            continue
        kept.append(s)
    if single:
        return kept[0] if kept else None
    return kept

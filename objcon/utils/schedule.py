"""Change a config's training length and keep its schedule's shape."""
from mmengine.config import Config


def _rescale(value: int, old: int, new: int) -> int:
    return max(1, round(value * new / old)) if old else value


def set_train_length(cfg: Config, epochs: int = None, iters: int = None) -> Config:
    """Set ``max_epochs`` (epoch-based) or ``max_iters`` (iteration-based) and
    stretch the parameter schedulers with it.

    A warm-up (a ``LinearLR`` from 0 followed by other schedulers) keeps its
    length, halved only if it would not fit; every other scheduler's ``begin`` /
    ``end`` (MultiStepLR milestones, CosineAnnealing's ``T_max``) is scaled by
    new/old length, and one that began where the warm-up ended still does.
    Checkpoint and validation intervals equal to the old length follow the new
    one, so the last step still saves.

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
    old_warm = new_warm = None
    if len(schedulers) > 1 and schedulers[0].get('type') == 'LinearLR' \
            and schedulers[0].get('begin', 0) == 0:
        old_warm = schedulers[0].get('end', old)
        # a fractional epoch is fine for by-epoch schedulers converted to
        # iterations; an iteration-based one needs an int
        new_warm = old_warm if old_warm < new else (
            new // 2 if new >= 2 else new / 2)
        schedulers[0]['end'] = new_warm
    for s in schedulers[1 if old_warm is not None else 0:]:
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
    ckpt = cfg.get('default_hooks', {}).get('checkpoint')
    if ckpt is not None and ckpt.get('interval') == old:
        ckpt['interval'] = new
    return cfg

"""Config loading shared by tools/train.py and tools/test.py."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from .config import load_config


def load_tool_config(config: str, launcher: str = 'none',
                     cfg_options: Optional[dict] = None,
                     work_dir: Optional[str] = None) -> Config:
    """Load a config as the tools do, mmdet style.

    Args:
        config (str): Config file path.
        launcher (str): ``--launcher`` of the tool. Defaults to ``'none'``.
        cfg_options (dict, optional): ``--cfg-options`` overrides; plain names
            set the config's named variables (:func:`load_config`).
        work_dir (str, optional): ``--work-dir``; otherwise the config's, or
            ``./work_dirs/<config name>``.

    Returns:
        Config: The loaded config.

    Raises:
        FileNotFoundError: No such config file.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'no such config file: {config}')
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def find_resume_checkpoint(work_dir: str, resume: str = 'auto') -> Optional[str]:
    """The checkpoint a ``--resume`` continues from.

    Args:
        work_dir (str): The run's work dir.
        resume (str): A checkpoint path, or ``'auto'`` for the latest checkpoint
            of ``work_dir`` (the one its ``last_checkpoint`` file names, as
            MMEngine's CheckpointHook writes it). Defaults to ``'auto'``.

    Returns:
        str | None: An existing checkpoint file; None if ``resume`` is
        ``'auto'`` and ``work_dir`` has no checkpoint yet.

    Raises:
        FileNotFoundError: The checkpoint given, or the one ``last_checkpoint``
            names, does not exist.
    """
    if resume != 'auto':
        if not osp.isfile(resume):
            raise FileNotFoundError(f'no such checkpoint to resume from: {resume}')
        return resume
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        latest = f.read().strip()
    if not osp.isfile(latest):
        raise FileNotFoundError(
            f'{pointer} names {latest!r}, which does not exist: give the '
            'checkpoint to resume from with --resume CKPT')
    return latest

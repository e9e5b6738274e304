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
    """
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg

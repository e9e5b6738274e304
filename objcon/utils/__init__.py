from .compat import register_checkpoint_safe_globals
from .config import load_config
from .dist import (finish_distributed, init_cpu_distributed,
                   setup_cpu_distributed)
from .file_lock import file_lock
from .schedule import drop_empty_schedulers, set_train_length
from .setup_env import register_all_modules
from .tool_config import find_resume_checkpoint, load_tool_config

__all__ = [
    'register_all_modules', 'load_config', 'load_tool_config', 'set_train_length',
    'register_checkpoint_safe_globals', 'init_cpu_distributed', 'finish_distributed',
    'setup_cpu_distributed', 'drop_empty_schedulers', 'find_resume_checkpoint',
    'file_lock'
]

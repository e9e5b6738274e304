"""objcon: object-level self-supervised pretraining of detectors for OpenMMLab."""
from .utils.compat import register_checkpoint_safe_globals
from .version import __version__

register_checkpoint_safe_globals()

# Importing the registry module makes the ``objcon`` scope reachable from configs
# (``custom_imports=dict(imports=['objcon'])`` or ``default_scope='objcon'``).
from . import registry  # noqa: E402,F401

__all__ = ['__version__']

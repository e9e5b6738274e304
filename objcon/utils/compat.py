"""Compatibility patches for the torch/mmengine pair objcon runs on.

torch >= 2.6 loads checkpoints with ``weights_only=True`` by default, while mmengine
0.10.7 calls ``torch.load`` without the argument. Its Runner checkpoints keep the
message hub (``HistoryBuffer``) and numpy values in ``meta``, so resuming,
``load_from`` and testing a trained checkpoint fail with "Unsupported global". objcon
registers exactly those classes as safe globals rather than turning the safety check
off. ``HistoryBuffer`` also pickles its built-in statistics as bound methods (through
``getattr``, which must never be a safe global); objcon pickles only custom ones and
restores the built-ins on load, so checkpoints written with objcon imported load
under ``weights_only=True``.
"""
import numpy as np
import torch


def _numpy_globals() -> list:
    """numpy objects that pickled arrays and scalars refer to."""
    items = [np.ndarray, np.dtype]
    # Array reconstruction lives in numpy._core (numpy 2) or numpy.core (numpy 1).
    for mod_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        items += [mod._reconstruct, mod.scalar]
    # Pickles name dtype classes such as numpy.dtypes.Float64DType.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType') and isinstance(getattr(dtypes, name), type)
        ]
    return items


_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')


def _patch_history_buffer_pickling() -> None:
    from mmengine.logging import HistoryBuffer
    if getattr(HistoryBuffer, '_objcon_patched', False):
        return
    original_setstate = HistoryBuffer.__setstate__

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state['statistics_methods'] = {
            name: method
            for name, method in type(self)._statistics_methods.items()
            if not (name in _BUILTIN_STATISTICS
                    and method is getattr(HistoryBuffer, name))
        }
        return state

    def __setstate__(self, state: dict) -> None:
        for name in _BUILTIN_STATISTICS:
            HistoryBuffer._statistics_methods.setdefault(
                name, getattr(HistoryBuffer, name))
        original_setstate(self, state)

    HistoryBuffer.__getstate__ = __getstate__
    HistoryBuffer.__setstate__ = __setstate__
    HistoryBuffer._objcon_patched = True


def register_checkpoint_safe_globals() -> None:
    """Allow mmengine Runner checkpoints to load under ``weights_only=True``."""
    _patch_history_buffer_pickling()
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 has no weights_only default to satisfy
        return
    from mmengine.logging import HistoryBuffer, MessageHub
    from mmengine.config import ConfigDict
    add([HistoryBuffer, MessageHub, ConfigDict] + _numpy_globals())

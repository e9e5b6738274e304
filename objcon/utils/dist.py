"""Distributed set-up that also works on machines without a GPU."""
import os

import torch
import torch.distributed as dist
from mmengine.logging import print_log


def init_cpu_distributed(launcher: str, backend: str = 'gloo') -> bool:
    """Initialise a CPU process group for a launcher when no GPU is present.

    mmengine's pytorch launcher always calls ``torch.cuda.set_device``, which fails
    on a CPU-only machine. When the process group already exists, the Runner skips its
    own initialisation, so creating it here (from the variables torchrun sets) makes
    ``tools/dist_train.sh CONFIG N`` work with the gloo backend.

    Args:
        launcher (str): The ``--launcher`` of the tool (``none``, ``pytorch``, ...).
        backend (str): Backend for the CPU group. Defaults to ``'gloo'``.

    Returns:
        bool: True if this call created the process group.
    """
    if launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'launcher {launcher!r} needs GPUs; on a CPU machine use '
            'tools/dist_train.sh (torchrun, --launcher pytorch).')
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
               if k not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs {missing} in the environment: start the '
            'tool through tools/dist_train.sh or torchrun.')
    dist.init_process_group(backend=backend)
    print_log(
        f'no GPU: initialised a {backend} process group '
        f'(rank {dist.get_rank()} of {dist.get_world_size()})', logger='current')
    return True


def setup_cpu_distributed(cfg, launcher: str, backend: str = 'gloo') -> bool:
    """Prepare a config and the process group for a CPU launch.

    Besides :func:`init_cpu_distributed`, the model wrapper must not be given
    ``device_ids`` (mmengine passes ``[LOCAL_RANK]``, which DDP rejects for a CPU
    module), so ``cfg.model_wrapper_cfg`` gets ``device_ids=None``.

    Args:
        cfg (mmengine.Config): The config the Runner will be built from; updated in
            place.
        launcher (str): The ``--launcher`` of the tool.
        backend (str): Backend for the CPU group. Defaults to ``'gloo'``.

    Returns:
        bool: True if a CPU process group is in use.
    """
    init_cpu_distributed(launcher, backend)
    if torch.cuda.is_available() or not dist.is_initialized():
        return False
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = backend
    # SyncBN has no CPU kernels; the Runner would convert BN to it.
    if cfg.get('sync_bn') is not None:
        print_log('no GPU: ignoring sync_bn for the CPU process group',
                  logger='current')
        cfg.sync_bn = None
    return True


def finish_distributed() -> None:
    """Wait for every rank, then close the process group.

    A rank that leaves the interpreter while another still works (rank 0 saving
    the last checkpoint) and with the group still open can abort in the gloo
    teardown ("terminate called without an active exception", SIGABRT), which
    torchrun reports as a failed run although training finished. Call it only
    where every rank arrives (after training, or after an interrupt every rank
    agreed on); a rank that failed must not be waited for.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()

"""A hook that records, as each process exits, whether its process group is
still open, and holds rank 0 back at the end of the run so that the other ranks
would leave first. Importing this module registers it in MMEngine's root
registry, so a config (``custom_imports``) can name it."""
import atexit
import json
import os.path as osp
import time

import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class RecordExitState(Hook):
    """Write ``out_dir/rank_R.json`` with ``{'group_open': bool, 'time': t}``
    when process R exits.

    Args:
        out_dir (str): Folder for the files.
        rank0_delay (float): Seconds rank 0 sleeps after the run, as a slow
            last checkpoint would hold it.
    """

    def __init__(self, out_dir: str, rank0_delay: float = 2.0):
        self.out_dir = out_dir
        self.rank0_delay = rank0_delay

    def before_run(self, runner):
        atexit.register(self._write, runner.rank)

    def after_run(self, runner):
        if runner.rank == 0:
            time.sleep(self.rank0_delay)

    def _write(self, rank):
        state = dict(group_open=dist.is_initialized(), time=time.time())
        with open(osp.join(self.out_dir, f'rank_{rank}.json'), 'w') as f:
            json.dump(state, f)

"""Functions run in a real process group of several CPU processes (gloo)."""
import datetime
import multiprocessing
import os
import traceback
from typing import Any, Callable, List


def _entry(body: Callable, rank: int, world_size: int, rendezvous: str,
           results, args: tuple) -> None:
    import torch.distributed as dist
    # what a launcher sets: mmengine reads the rank and world size from them
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world_size))
    # a file rendezvous: no TCP port to race other jobs for
    dist.init_process_group('gloo', init_method=f'file://{rendezvous}', rank=rank,
                            world_size=world_size,
                            timeout=datetime.timedelta(seconds=60))
    try:
        results.put((rank, True, body(rank, *args)))
    except BaseException:
        results.put((rank, False, traceback.format_exc()))
    finally:
        dist.destroy_process_group()


def run_in_gloo_group(body: Callable, tmp_path, *args: Any, world_size: int = 2,
                      timeout: int = 120) -> List[Any]:
    """Run ``body(rank, *args)`` in ``world_size`` new processes joined in one
    gloo process group; return what each returned, in rank order.

    Args:
        body (Callable): A module-level function (the processes are spawned,
            so it is imported by name); its return value must pickle.
        tmp_path: A fresh folder for the group's rendezvous file.
        *args: Further arguments of ``body`` (must pickle).
        world_size (int): Processes. Defaults to 2.
        timeout (int): Seconds to wait for each result. Defaults to 120.

    Returns:
        list: ``body``'s return value of rank 0, 1, ...

    Raises:
        AssertionError: A rank raised; the message is its traceback.
    """
    ctx = multiprocessing.get_context('spawn')
    results = ctx.Queue()
    rendezvous = str(tmp_path / 'rendezvous')
    procs = [ctx.Process(target=_entry, args=(body, rank, world_size, rendezvous,
                                              results, args))
             for rank in range(world_size)]
    for p in procs:
        p.start()
    try:
        out = sorted((results.get(timeout=timeout) for _ in procs),
                     key=lambda r: r[0])
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():  # a rank left waiting for the other
                p.kill()
    for rank, ok, value in out:
        assert ok, f'rank {rank} raised:\n{value}'
    return [value for _, _, value in out]


"""An exclusive lock on a file, held for a ``with`` block."""
import fcntl
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def file_lock(path: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) for the block:
    against other threads (each opens its own file description) and other
    processes; waits while another holds it.

    Args:
        path (str): The lock file.
    """
    with open(path, 'a') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

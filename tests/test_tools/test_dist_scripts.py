"""tools/dist_train.sh and tools/dist_test.sh start their tool through
tools/dist_launch.sh with MMDetection's arguments (the command is printed, not
run: ``PYTHON=echo``). A real 2-process run is tests/test_tools/test_dist_train.py.
"""
import os
import subprocess

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # starts bash (a fraction of a second)


def _command(*args, **env):
    proc = subprocess.run(
        ['bash', *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHON='echo', **env))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize('script, args, tool_args', [
    ('tools/dist_train.sh', ['a.py', '2', '--resume'],
     ['tools/train.py', 'a.py', '--launcher', 'pytorch', '--resume']),
    ('tools/dist_test.sh', ['a.py', 'b.pth', '2', '--out', 'c.pkl'],
     ['tools/test.py', 'a.py', 'b.pth', '--launcher', 'pytorch', '--out', 'c.pkl']),
])
def test_scripts_launch_their_tool_with_torchrun(script, args, tool_args):
    command = _command(script, *args, NNODES='2', NODE_RANK='1', PORT='1234',
                       MASTER_ADDR='10.0.0.1')
    assert command == [
        '-m', 'torch.distributed.run', '--nnodes=2', '--node_rank=1',
        '--master_addr=10.0.0.1', '--nproc_per_node=2', '--master_port=1234',
        *tool_args]

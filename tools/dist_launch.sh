#!/usr/bin/env bash
# Runs a tool of this folder in PROCS processes per node with torchrun (what
# dist_train.sh and dist_test.sh start):
#   tools/dist_launch.sh TOOL PROCS [TOOL args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT from the environment; PYTHON
# names the interpreter. Without a GPU the processes form a gloo group on the CPU.
set -euo pipefail
TOOL=$1
PROCS=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$PROCS" \
    --master_port="$PORT" \
    "$(dirname "$0")/$TOOL" "$@"

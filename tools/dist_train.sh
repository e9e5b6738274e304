#!/usr/bin/env bash
# Distributed training with torchrun, MMDetection style:
#   tools/dist_train.sh CONFIG GPUS [train.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT from the environment.
# Without a GPU the processes form a gloo group on the CPU (tools/dist_launch.sh).
set -euo pipefail
CONFIG=$1
GPUS=$2
shift 2
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$GPUS" "$CONFIG" \
    --launcher pytorch "$@"

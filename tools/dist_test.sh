#!/usr/bin/env bash
# Distributed testing with torchrun, MMDetection style:
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT from the environment.
# Without a GPU the processes form a gloo group on the CPU (tools/dist_launch.sh).
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
exec bash "$(dirname "$0")/dist_launch.sh" test.py "$GPUS" "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "$@"

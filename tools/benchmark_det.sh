#!/usr/bin/env bash
# Convert, fine-tune and evaluate one pretrained checkpoint; append a results row.
#   tools/benchmark_det.sh CKPT CONFIG GPUS [tools/benchmark_det.py options]
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CKPT CONFIG GPUS [options of tools/benchmark_det.py]" >&2
    exit 2
fi
CKPT=$1; CONFIG=$2; GPUS=$3; shift 3
exec "${PYTHON:-python}" "$(dirname "$0")/benchmark_det.py" "$CKPT" "$CONFIG" --gpus "$GPUS" "$@"

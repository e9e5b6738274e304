#!/usr/bin/env bash
# Installs objcon and its OpenMMLab stack into a virtual environment (default: ./.venv).
#
#   bash tools/install.sh            # creates .venv, installs everything, verifies
#
# Environment:
#   OBJCON_VENV         where the virtual environment lives (default: .venv in the repo)
#   OBJCON_PYTHON       interpreter used to create it (default: python3)
#   OBJCON_WHEEL_DIRS   extra wheel folders (colon separated) searched first, e.g. a
#                       prebuilt mmcv 2.1.0 wheel; without one mmcv compiles (~30 min).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${OBJCON_VENV:-.venv}
PY_HOST=${OBJCON_PYTHON:-python3}
TORCH=2.13.0
TORCHVISION=0.28.0
MMCV=2.1.0
OPENCV_CONTRIB=${OBJCON_OPENCV_VERSION:-}

log() { printf '\033[1m[objcon install]\033[0m %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PY_HOST" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip)

find_links=()
IFS=':' read -r -a wheel_dirs <<< "${OBJCON_WHEEL_DIRS:-}"
for d in "${wheel_dirs[@]}"; do
    [ -n "$d" ] && [ -d "$d" ] && find_links+=(--find-links "$d") && log "extra wheels from $d"
done

# pkg_resources is imported by mmcv's setup.py and by mmengine's `mmdet::` config
# loading; it is gone in setuptools 82, and torch wants >= 77.0.3.
"${PIP[@]}" install -q --upgrade pip 'setuptools>=77.0.3,<81' wheel

# torch + torchvision: the registry's matching pair (CUDA build, runs on CPU). A local
# CPU-only torch wheel some machines prefer breaks torchvision (no torchvision::nms),
# so this pair is installed ignoring local pip configuration.
if ! "$PY" - <<PYEOF 2>/dev/null
import torch, torchvision
from torchvision.ops import nms
assert torch.__version__.split('+')[0] == '$TORCH', torch.__version__
assert torchvision.__version__.split('+')[0] == '$TORCHVISION'
nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
PYEOF
then
    log "installing torch==$TORCH torchvision==$TORCHVISION (large download)"
    "${PIP[@]}" --isolated install "torch==$TORCH" "torchvision==$TORCHVISION"
fi

# mmcv with compiled ops. Built against the installed torch, hence no build isolation;
# without torch importable its setup.py silently skips the ops.
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV'" 2>/dev/null; then
    log "installing mmcv==$MMCV with ops (compiles from source unless a wheel is found)"
    MMCV_WITH_OPS=1 "${PIP[@]}" install --no-build-isolation "${find_links[@]}" "mmcv==$MMCV"
fi

log "installing mmengine, mmdet, mmpretrain and the rest"
"${PIP[@]}" install "${find_links[@]}" -r requirements.txt

# mmcv/mmengine pull opencv-python; contrib (with cv2.ximgproc) ships the same cv2
# module. Side by side they overwrite each other's files, so keep exactly one.
log "making opencv-contrib-python-headless the only cv2"
"${PIP[@]}" uninstall -q -y opencv-python opencv-python-headless opencv-contrib-python \
    opencv-contrib-python-headless >/dev/null 2>&1 || true
spec=opencv-contrib-python-headless
[ -n "$OPENCV_CONTRIB" ] && spec="$spec==$OPENCV_CONTRIB"
"${PIP[@]}" install -q --no-deps --force-reinstall "$spec"

log "installing objcon (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e .

log "verifying"
"$PY" tools/check_install.py
log "done: activate with 'source $VENV/bin/activate'"

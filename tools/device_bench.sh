#!/usr/bin/env bash
# Runs objcon-bench's gpu preset on a bare, offline GPU machine from the prebuilt
# wheels of ../shared/wheels/device (see its README.md), the report in one folder.
#
#   bash tools/device_bench.sh --stage [--from DIR]       # CPU machine: fill .whl/
#   bash tools/device_bench.sh [--out DIR] [--wheels DIR] [--work-dir DIR] [-- ARGS]
#   bash tools/device_bench.sh --dry-run [...]            # any machine: check, plan
#
# On the GPU machine it installs the wheels into $OBJCON_SITE (default /tmp/site),
# runs the wheels' gpu_check.py, then `tools/bench.py --preset gpu --jobs <rows>
# ARGS`. --out (default work_dirs/device_bench) receives bench.md/csv/png,
# device_bench.log and environment.txt; the bench's work dir defaults to OUT/work.
# --dry-run installs and runs nothing and writes nothing in the repository: it checks
# the wheels (against SHA256SUMS when present), prints the commands, and shows the
# bench's plan with ${PYTHON:-python3}.
#
# Exit status: the bench's (0 ok, 1 a row failed, 2 bad bench arguments); 2 for bad
# arguments or wheels; 3 when the install or the GPU check fails.
set -uo pipefail
CALLER=$PWD
cd "$(dirname "$0")/.."
REPO=$PWD

PY=${PYTHON:-python3}
SITE=${OBJCON_SITE:-/tmp/site}
SHARED_WHEELS=$REPO/../shared/wheels/device
# the packages the bench cannot run without; the rest are checked by SHA256SUMS
REQUIRED=(mmcv mmengine mmdet mmpretrain opencv_contrib_python_headless)

log() { printf '[device_bench] %s\n' "$*"; }
die() { printf 'error: %s\n' "$1" >&2; exit "${2:-2}"; }

usage() { sed -n '2,18s/^# \{0,1\}//p' "$0"; }

mode=run out='' wheels='' work='' from=$SHARED_WHEELS
extra=()
while [ $# -gt 0 ]; do
    case $1 in
        --stage) mode=stage ;;
        --dry-run) mode=dry ;;
        --out|--wheels|--work-dir|--from)
            [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
            case $1 in
                --out) out=$2 ;; --wheels) wheels=$2 ;;
                --work-dir) work=$2 ;; --from) from=$2 ;;
            esac
            shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (bench arguments go after --; see --help)" ;;
    esac
    shift
done
# paths given relative to where the script was called from
abs() { case $1 in /*|'') echo "$1" ;; *) echo "$CALLER/$1" ;; esac; }
out=$(abs "$out") wheels=$(abs "$wheels") work=$(abs "$work") from=$(abs "$from")
out=${out:-work_dirs/device_bench} work=${work:-$out/work}

# Checks a wheel folder: the required packages are there, and with SHA256SUMS every
# listed wheel exists and matches and no wheel is unlisted (all of them get installed).
check_wheels() {
    local dir=$1 pkg
    local -a found=("$dir"/*.whl)
    [ -e "${found[0]}" ] || die "no *.whl in $dir"
    if [ -f "$dir/SHA256SUMS" ]; then
        check_sums "$dir"
    else
        log "no SHA256SUMS in $dir: ${#found[@]} wheels not verified"
    fi
    for pkg in "${REQUIRED[@]}"; do
        compgen -G "$dir/$pkg-*.whl" >/dev/null || die "no $pkg wheel in $dir"
    done
}


check_sums() {
    local dir=$1 name sum want got n=0
    local -a found=("$dir"/*.whl)
    declare -A listed=()
    while read -r want name; do
        [ -n "$want" ] || continue
        name=${name#\*}
        listed[$name]=1
        [ -f "$dir/$name" ] || die "$name (in $dir/SHA256SUMS) is missing"
        got=$(sha256sum "$dir/$name") || die "cannot read $dir/$name"
        [ "${got%% *}" = "$want" ] || die "$dir/$name does not match SHA256SUMS"
        n=$((n + 1))
    done < "$dir/SHA256SUMS"
    for sum in "${found[@]}"; do
        [ -n "${listed[${sum##*/}]:-}" ] || die "${sum##*/} is not in $dir/SHA256SUMS"
    done
    log "$n wheels in $dir match SHA256SUMS"
}

if [ $mode = stage ]; then
    [ -d "$from" ] || die "no wheel folder $from (give one with --from DIR)"
    dest=${wheels:-.whl}
    # wheels inside the checkout must stay out of commits
    case $(realpath -m "$dest")/ in
        "$(realpath "$REPO")"/*)
            if git rev-parse --git-dir >/dev/null 2>&1 &&
                    ! git check-ignore -q "$dest/SHA256SUMS"; then
                die "$dest is not git-ignored: add it to .gitignore first"
            fi ;;
    esac
    mkdir -p "$dest" || die "cannot create $dest"
    # stale wheels would be installed too
    rm -f "$dest"/*.whl "$dest"/SHA256SUMS "$dest"/gpu_check.py
    for f in "$from"/*.whl "$from"/gpu_check.py "$from"/SHA256SUMS; do
        [ -e "$f" ] && { cp "$f" "$dest"/ || die "cannot copy $f to $dest"; }
    done
    chmod u+w "$dest"/*
    # the GPU machine's checkout may have no .git: environment.txt reads this instead
    if commit=$(git rev-parse HEAD 2>/dev/null); then
        [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] ||
            commit="$commit (with uncommitted changes)"
        echo "$commit" > "$dest/commit.txt"
    fi
    check_wheels "$dest"
    log "staged $(du -sh "$dest" | cut -f1) in $dest; carry it to the GPU machine"
    exit 0
fi

if [ -z "$wheels" ]; then
    if [ -d .whl ]; then wheels=.whl
    elif [ -d "$SHARED_WHEELS" ] && [ $mode = dry ]; then wheels=$SHARED_WHEELS
    else die "no wheel folder: .whl is absent (stage it with 'bash \
tools/device_bench.sh --stage' where ../shared is, or give --wheels DIR)"
    fi
fi
[ -d "$wheels" ] || die "wheel folder $wheels does not exist"
check_wheels "$wheels"

install_cmd=("$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir
             --upgrade --target "$SITE" "$wheels"/*.whl)

# Rows at once: at least one per GPU, and up to 8 sharing them when the cores
# allow (a row is mostly tool start-up and CPU data loading; 2 cores per row).
rows_at_once() {
    local gpus=${1:-0} cores
    cores=$(nproc 2>/dev/null || echo 2)
    local n=$((cores / 2 < 8 ? cores / 2 : 8))
    [ "$n" -ge "$gpus" ] || n=$gpus
    [ "$n" -ge 1 ] || n=1
    echo "$n"
}

if [ $mode = dry ]; then
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
    jobs=$(rows_at_once "$gpus")
    bench_cmd=("$PY" tools/bench.py --preset gpu --work-dir "$work" --out "$out"
               --jobs "$jobs" "${extra[@]}")
    log "dry run: would install with"
    printf '  %s\n' "$(printf '%q ' "${install_cmd[@]}")"
    check="$PY $wheels/gpu_check.py"
    [ -f "$wheels/gpu_check.py" ] || check="no gpu_check.py (absent from $wheels)"
    log "then, with PYTHONPATH=$SITE:$REPO: $check, and"
    printf '  %s\n' "$(printf '%q ' "${bench_cmd[@]}")"
    log "(--jobs: one row per GPU, up to 8 sharing them, 2 cores each: $jobs \
here, $gpus GPU(s)); the bench's plan:"
    tmp=$(mktemp -d) || die "cannot create a temporary folder"
    trap 'rm -rf "$tmp"' EXIT
    "$PY" tools/bench.py --preset gpu --dry-run --work-dir "$tmp/work" \
        --out "$tmp" --jobs "$jobs" "${extra[@]}"
    exit $?
fi

# ---- on the GPU machine
command -v "$PY" >/dev/null || die "$PY not found (set PYTHON)"
pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])') ||
    die "$PY does not run"
for f in "$wheels"/*-cp3*.whl; do
    [ -e "$f" ] || continue
    case ${f##*/} in
        *-cp${pyver/./}-*|*-abi3-*) ;;
        *) die "${f##*/} is not for this Python $pyver" ;;
    esac
done
mkdir -p "$out" || die "cannot create $out"
LOG=$out/device_bench.log
: > "$LOG"
logged() { "$@" 2>&1 | tee -a "$LOG"; return "${PIPESTATUS[0]}"; }

# This is a throw-away machine: the image's opencv-python-headless would sit beside
# the contrib build (with cv2.ximgproc) and make two opencv distributions.
if "$PY" -m pip show -q opencv-python-headless >/dev/null 2>&1; then
    log "uninstalling the image's opencv-python-headless" | tee -a "$LOG"
    logged "$PY" -m pip uninstall -q -y opencv-python-headless ||
        log "warning: could not uninstall opencv-python-headless" | tee -a "$LOG"
fi
log "installing $(ls "$wheels"/*.whl | wc -l) wheels into $SITE" | tee -a "$LOG"
logged "${install_cmd[@]}" || die "pip install into $SITE failed (see $LOG)" 3
export PYTHONPATH=$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}

if [ -f "$wheels/gpu_check.py" ]; then
    log "checking the wheels on the GPU: $wheels/gpu_check.py" | tee -a "$LOG"
    logged "$PY" "$wheels/gpu_check.py" || die "$wheels/gpu_check.py failed: the \
wheels do not work on this GPU (see above and $LOG)" 3
fi

gpus=$("$PY" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null)
[ "${gpus:-0}" -ge 1 ] 2>/dev/null || die "torch sees no GPU on this machine" 3

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(hostname 2>/dev/null)"
    if commit=$(git rev-parse HEAD 2>/dev/null); then
        echo "objcon commit: $commit"
    elif [ -f "$wheels/commit.txt" ]; then
        echo "objcon commit: $(cat "$wheels/commit.txt") (staged)"
    fi
    echo "GPUs:"; nvidia-smi -L 2>&1 | sed 's/^/  /'
    "$PY" -c 'import sys, torch, mmcv, mmengine, mmdet, mmpretrain, cv2
print("python", sys.version.split()[0])
print("torch", torch.__version__, "cuda", torch.version.cuda)
for m in (mmcv, mmengine, mmdet, mmpretrain, cv2):
    print(m.__name__, m.__version__)' 2>&1
} > "$out/environment.txt"
log "environment:" | tee -a "$LOG"
tee -a "$LOG" < "$out/environment.txt"

bench_cmd=("$PY" tools/bench.py --preset gpu --work-dir "$work" --out "$out"
           --jobs "$(rows_at_once "$gpus")" "${extra[@]}")
log "running ${bench_cmd[*]}" | tee -a "$LOG"
logged "${bench_cmd[@]}"
status=$?
log "bench exited with $status; report and log in $out" | tee -a "$LOG"
exit $status

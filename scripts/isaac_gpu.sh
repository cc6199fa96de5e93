#!/usr/bin/env bash
# The Isaac node on real Isaac Lab 3.0 kit-less (Newton physics, Newton's Warp camera) on an
# NVIDIA GPU machine without internet whose python3 is 3.12 with torch 2.11 (the H200 image):
# the simulator conformance suite and `bench.py sim --sim isaac`, results as JSON in $OUT.
#
#   bash scripts/isaac_gpu.sh prepare            here, with internet (wheels, run tree, carry folders)
#   bash scripts/isaac_gpu.sh take N             there, once per carry folder .whl-isaac-N (N = 1..5)
#   bash scripts/isaac_gpu.sh install warmup conformance bench   there, after the last `take`
#
# `prepare` downloads the wheels Isaac Lab 3.0 kit-less imports beyond that image (isaaclab 3.0.0,
# newton 1.6.1, warp-lang 1.17.0, mujoco-warp and mujoco 3.12.0, usd-exchange 3.0.1, gymnasium,
# dora-rs, …: found by running the suite on the CPU and listing what it imported) plus the MuJoCo
# node's (mujoco 4.0.0: it does not run on 3.12) and the EGL/GL loaders (.gl, the device tool's
# README), and spreads them over carry folders .whl-isaac-1 … -5 of at most 45 MiB each: a call
# carries 64 MiB with the working tree (~18 MiB). warp-lang's 157 MiB wheel travels as an xz tar
# (102 MiB, unpacked with Python's lzma) split over three folders. It also builds .isaac-run: the
# committed tree (git HEAD, without the arm's STL meshes, linked back there) with this working
# tree's Isaac slice copied over it (nodes/dora-sim-isaac, the Isaac tests and scripts), so the run
# uses one consistent contract. Carry .whl-isaac-N in call N, back to back (a machine stays warm
# 30 s), `take N` in each, and in call 5 (which also carries .gl and .isaac-run) run the rest.
# Budget the first `warmup` generously: on a fresh H200 the first build took 259 s (Warp compiles
# its kernels for the GPU; docs/gpu_results/isaac_gpu_attempt2.json); later stages reuse Warp's
# kernel cache (conformance ~45 s). Give `bench` ≥ 200 s: `timeout` on this script does not stop
# bench.py. A call that carries .isaac-run again must run `install` again (it links the meshes).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
RUN="$REPO/.isaac-run"
CARRY=/tmp/isaac-carry
SITE_ISAAC=/tmp/site-isaac
SITE_MJ=/tmp/site-mj
PY="${PYTHON:-python3}"                      # runs the MuJoCo node, the expert and the benchmark
ISAAC_BASE="${ISAAC_BASE_PYTHON:-python3}"  # under Isaac Lab 3 (a CPU dry run may point both at venvs)
ISAAC_WHEELS=(isaaclab==3.0.0 newton==1.6.1 newton-usd-schemas==0.6.0 mujoco==3.12.0
  mujoco-warp==3.12.0 gymnasium==1.4.0 farama-notifications==0.0.6 prettytable==3.18.0
  wcwidth==0.9.4 glfw==2.11.0 hydra-core==1.3.8 omegaconf==2.3.1 dora-rs==1.1.0)
MUJOCO_WHEELS=(mujoco==4.0.0 mujoco-core==4.0.0 pyopengl==3.1.10 fast-simplification==0.2.0)
SLICE=(nodes/dora-sim-isaac tests/conformance/test_conformance_isaaclab3.py
  scripts/bench.py scripts/bench_sim_isaac.py scripts/isaac_conformance.py
  dataflows/dataflow-record-isaac.yaml dataflows/dataflow-record-expert-isaac.yaml
  dataflows/dataflow-eval-isaac.yaml)

download() {
  local dir="$1"
  shift
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any -d "$dir" "$@"
}

prepare() {
  cd "$REPO"
  for path in /.whl-isaac-1/ /.whl-isaac-2/ /.whl-isaac-3/ /.whl-isaac-4/ /.whl-isaac-5/ \
    /.isaac-run/ /.isaac-build/ /.gl/; do
    grep -qxF "$path" .git/info/exclude 2>/dev/null || echo "$path" >>.git/info/exclude
  done
  local build="$REPO/.isaac-build/gpu-wheels"
  mkdir -p "$build/isaac" "$build/mujoco"
  download "$build/isaac" "${ISAAC_WHEELS[@]}" warp-lang==1.17.0 usd-exchange==3.0.1
  download "$build/mujoco" "${MUJOCO_WHEELS[@]}"
  # hydra-core's parser runtime exists on PyPI as an sdist only: build its (pure-Python) wheel
  python3 -m pip wheel -q --no-deps -w "$build/isaac" antlr4-python3-runtime==4.9.3
  if [ ! -f "$build/warp.tar.xz" ]; then # ~4 CPU-minutes: xz -6 of 340 MB
    rm -rf "$build/warp" && mkdir "$build/warp"
    (cd "$build/warp" && python3 -m zipfile -e "$build"/isaac/warp_lang-1.17.0-*.whl .)
    tar -C "$build/warp" -cf - . | xz -6 -T0 >"$build/warp.tar.xz.tmp"
    mv "$build/warp.tar.xz.tmp" "$build/warp.tar.xz"
  fi
  rm -rf .whl-isaac-[1-5] && mkdir .whl-isaac-{1,2,3,4,5}
  split -b 43M -d -a 1 "$build/warp.tar.xz" "$build/warp.tar.xz.part"
  mv "$build/warp.tar.xz.part0" .whl-isaac-1/
  mv "$build/warp.tar.xz.part1" .whl-isaac-2/
  mv "$build/warp.tar.xz.part2" .whl-isaac-3/
  cp "$build"/isaac/{isaaclab,newton,mujoco_warp,gymnasium,farama,prettytable,wcwidth,glfw}*.whl \
    .whl-isaac-3/
  cp "$build"/isaac/{usd_exchange,mujoco-3.12}*.whl .whl-isaac-4/
  cp "$build"/isaac/{dora_rs,hydra_core,omegaconf,antlr4}*.whl "$build"/mujoco/*.whl .whl-isaac-5/
  # The run tree: git HEAD without the STL meshes (the working tree's are linked at install) …
  rm -rf "$RUN" && mkdir -p "$RUN"
  git archive HEAD | tar -x -C "$RUN" --exclude='*/so101_model/assets/*.stl'
  rm -rf "$RUN/nodes/dora-sim-isaac" # … and this working tree's Isaac slice over it
  for path in "${SLICE[@]}"; do
    mkdir -p "$RUN/$(dirname "$path")"
    cp -r "$path" "$RUN/$path"
  done
  find "$RUN" -name __pycache__ -prune -exec rm -rf {} +
  # The EGL/GL loaders the GPU image lacks (the device tool's README), unpacked by `install`
  if ! ls .gl/*.deb >/dev/null 2>&1; then
    local apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    mkdir -p .gl /tmp/amd64/partial
    apt-get "${apt[@]}" update -qq
    (cd .gl && apt-get "${apt[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 \
      libglx0 libgles2)
  fi
  du -sh .whl-isaac-* .isaac-run .gl 2>/dev/null
}

take() {
  mkdir -p "$CARRY"
  cp "$REPO/.whl-isaac-$1"/* "$CARRY/"
  ls -la "$CARRY"
}

install() {
  mkdir -p "$SITE_ISAAC" "$SITE_MJ"
  if [ ! -d "$SITE_ISAAC/warp" ]; then
    cat "$CARRY"/warp.tar.xz.part* | python3 -c \
      "import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode='r|xz').extractall('$SITE_ISAAC')"
  fi
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE_ISAAC" "$CARRY"/{isaaclab,newton,mujoco_warp,gymnasium,farama,prettytable,wcwidth,glfw,hydra_core,omegaconf,antlr4,usd_exchange,mujoco-3.12,dora_rs}*.whl
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE_MJ" "$CARRY"/{mujoco-4,mujoco_core,pyopengl,fast_simplification,dora_rs}*.whl
  if [ -d "$REPO/.gl" ] && ! ldconfig -p | grep -q libEGL.so.1; then
    for f in "$REPO"/.gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  local assets=nodes/dora-sim-mujoco/dora_sim_mujoco/so101_model/assets
  mkdir -p "$RUN/$assets"
  ln -sfn "$REPO/$assets"/*.stl "$RUN/$assets/"
  # ISAAC_PYTHON: python3 seeing Isaac Lab 3 and the run tree's Isaac node (not the MuJoCo site)
  cat >/tmp/isaac-python <<EOF
#!/bin/sh
PYTHONPATH="$SITE_ISAAC:$RUN/nodes/dora-sim-core:$RUN/nodes/dora-sim-isaac" exec $ISAAC_BASE "\$@"
EOF
  chmod +x /tmp/isaac-python
}

stage_env() {
  export ISAAC_PYTHON=/tmp/isaac-python ISAAC_DEVICE="${ISAAC_DEVICE:-cuda:0}"
  export PYTHONUNBUFFERED=1 MUJOCO_GL=egl HF_HUB_OFFLINE=1
  export PYTHONPATH="$SITE_MJ:$RUN/nodes/dora-sim-core:$RUN/nodes/dora-sim-mujoco:$RUN/nodes/dora-sim-expert"
  export PATH="$SITE_MJ/bin:$PATH"
  local egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  [ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="${__EGL_VENDOR_LIBRARY_FILENAMES:-$egl}"
  return 0
}

out() { echo "${OUT:-$REPO/docs/gpu_results}/$1"; }

while [ $# -gt 0 ]; do
  case "$1" in
    prepare) prepare ;;
    take) take "$2" && shift ;;
    install) install ;;
    warmup)
      # The first env on a machine compiles Warp kernels for its GPU (Isaac Lab's, Newton's,
      # MuJoCo-Warp's) into Warp's cache: minutes on the H200, in silence. This does it once,
      # printing each module as it compiles, so the stages after it start in seconds.
      stage_env
      "$ISAAC_PYTHON" - <<'PY'
import time

import warp as wp

wp.config.verbose = True
from dora_sim_isaac.config import IsaacConfig
from dora_sim_isaac.isaac_env import build
from dora_sim_isaac.simulator import IsaacSimulator

start = time.time()
config = IsaacConfig.from_env()
sim = IsaacSimulator(config, build(config, num_envs=1))
sim.reset(0)
for camera in config.cameras:
    sim.render(camera)
sim.step()
print(f"[isaac_gpu] warm-up: first env, render and step in {time.time() - start:.0f} s", flush=True)
sim.close()
PY
      ;;
    conformance)
      stage_env
      "$ISAAC_PYTHON" "$RUN/scripts/isaac_conformance.py" --out "$(out isaac_conformance_gpu.json)" \
        -- -x --timeout 600 || echo "[isaac_gpu] conformance failed"
      ;;
    bench)
      stage_env
      (cd "$RUN" && timeout 480 "$PY" scripts/bench.py sim --sim isaac --json ${BENCH_ARGS:-} \
        >"$(out isaac_bench_gpu.json)") || echo "[isaac_gpu] bench failed"
      cat "$(out isaac_bench_gpu.json)"
      ;;
    *)
      echo "unknown stage $1 (prepare | take N | install | warmup | conformance | bench)" >&2
      exit 2
      ;;
  esac
  shift
done

"""Installation: the contract package on both Isaac Pythons, and the nodes pip-installed into an
existing LeRobot 0.6 environment that then runs the demo graph.

Each test builds throw-away virtual environments with uv (big wheels such as torch come from uv's
cache as hard links; the LeRobot environment is pinned to the versions in ``uv.lock`` so they are
cache hits), and removes them afterwards. The interpreters are the machine's own CPython 3.11 /
3.12 (pyenv's, else whatever ``uv python find`` or PATH offers): a missing one fails under CI and
skips elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import psutil
import pytest
from conftest import DATAFLOWS, REPO

from dora_sim.headless import headless_env

pytestmark = pytest.mark.slow

NODES = REPO / "nodes"
CORE = NODES / "dora-sim-core"
# Installed into Isaac Lab's own Python, never beside LeRobot (numpy<2, packaging<24).
NOT_FOR_LEROBOT_ENV = {"dora-sim-isaac"}
LEROBOT = "lerobot==0.6.1"
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _pin(name: str, requirements: list[str]) -> str:
    """The requirement string for ``name`` in a pyproject list (so installs hit uv's cache)."""
    return next(r for r in requirements if re.split(r"[\[=<>~! ]", r, maxsplit=1)[0] == name)


def _unavailable(what: str) -> None:
    message = f"{what} (needed by the installation tests; CI must provide it)"
    if ON_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _reports_version(python: str, minor: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == minor


def _pyenv_root() -> Path:
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    if pyenv := shutil.which("pyenv"):
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return Path.home() / ".pyenv"


def find_python(minor: str) -> str:
    """A real CPython ``minor`` interpreter (e.g. "3.11"); fails on CI, skips locally if none."""

    def version_key(path: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", path.name))

    pyenv_versions = sorted(
        (_pyenv_root() / "versions").glob(f"{minor}.*"), key=version_key, reverse=True
    )
    candidates = [str(v / "bin" / f"python{minor}") for v in pyenv_versions]
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv:
        out = subprocess.run(
            [uv, "python", "find", "--no-project", minor],
            capture_output=True,
            text=True,
            timeout=60,
            env=_clean_env(),
        )
        candidates.append(out.stdout.strip())
    candidates.append(shutil.which(f"python{minor}") or "")
    for candidate in candidates:
        if candidate and _reports_version(candidate, minor):
            return candidate
    _unavailable(f"no Python {minor} interpreter found (pyenv, `uv python find`, PATH)")
    raise AssertionError("unreachable")


def find_uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        _unavailable("`uv` is not on PATH")
    return uv


def _clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment minus the workspace venv, so tools act on the venv given."""
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX", "UV_PYTHON"}
    drop |= {"UV_PROJECT_ENVIRONMENT", "UV_RUN_RECURSION_DEPTH"}  # keep UV_CACHE_DIR & co.
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        UV_PYTHON_DOWNLOADS="never",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ left in the repo's test folders
    )
    env.update(overrides)
    return env


def run(
    cmd: list[str], timeout: float, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in its own process group; on timeout the whole group is killed."""
    proc = subprocess.Popen(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env if env is not None else _clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"timed out after {timeout} s: {' '.join(map(str, cmd))}\n{out[-4000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, None)


def check(result: subprocess.CompletedProcess[str], what: str) -> str:
    assert result.returncode == 0, (
        f"{what} failed (exit {result.returncode}):\n{result.stdout[-6000:]}"
    )
    return result.stdout


def processes_under(directory: Path) -> list[psutil.Process]:
    """Processes started from ``directory`` (our throw-away venvs), by their command line."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(directory) in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture
def scratch(tmp_path):
    """A scratch directory for venvs and datasets: removed afterwards, with anything it ran."""
    yield tmp_path
    for proc in processes_under(tmp_path):
        proc.kill()
    shutil.rmtree(tmp_path, ignore_errors=True)


def make_venv(uv: str, python: str, path: Path, seed: bool = False) -> Path:
    cmd = [uv, "venv", "--quiet", "--python", python, *(["--seed"] if seed else []), path]
    check(run(cmd, timeout=120, cwd=path.parent), f"uv venv {path.name}")
    return path / "bin" / "python"


def installed(python: Path) -> dict[str, str]:
    """{normalized distribution name: version} of an environment, as pip lists it."""
    cmd = [python, "-m", "pip", "list", "--format=json"]
    out = check(run(cmd, timeout=120, cwd=python.parent), "pip list")
    return {re.sub(r"[-_.]+", "-", d["name"]).lower(): d["version"] for d in json.loads(out)}


# Imports every dora_sim module (LeRobot-facing ones may need lerobot), round-trips every codec
# through real Arrow arrays (and Arrow IPC, as bytes cross processes), reports where things came
# from.
CORE_PROBE = """
import importlib, json, pkgutil, sys
import numpy as np, pyarrow as pa
import dora_sim
from dora_sim import codec, contract as c

modules, lerobot_only = [], []
for name in sorted(m.name for m in pkgutil.iter_modules(dora_sim.__path__)):
    try:
        importlib.import_module(f"dora_sim.{name}")
        modules.append(name)
    except ModuleNotFoundError as err:  # LeRobot-facing helpers may need lerobot; nothing else
        if (err.name or "").split(".")[0] not in ("lerobot", "torch"):
            raise
        lerobot_only.append(name)

def over_ipc(array):
    batch = pa.record_batch([array], names=["data"])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return pa.ipc.open_stream(sink.getvalue()).read_next_batch().column(0)

rng = np.random.default_rng(0)
joints = np.array([10.5, -20.25, 30.0, -45.5, 90.0, 42.0], np.float32)
assert np.array_equal(codec.decode_joints(over_ipc(codec.encode_joints(joints))), joints)
delta = np.array([0.01, -0.02, 0.03, 5.0, -5.0, 50.0], np.float32)
assert np.array_equal(codec.decode_ee_delta(over_ipc(codec.encode_ee_delta(delta))), delta)
image = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
array, meta = codec.encode_image(image)
assert np.array_equal(codec.decode_image(over_ipc(array), meta), image)
for command in c.CONTROL_COMMANDS:
    assert codec.decode_control(over_ipc(codec.encode_control(command))) == command
assert codec.decode_text(over_ipc(codec.encode_text("start")), c.EPISODE) == "start"
cube = rng.random(7).astype(np.float32)
array, meta = codec.encode_scene({"cube": cube})
assert np.array_equal(codec.decode_scene(over_ipc(array), meta)["cube"], cube)
stamp = codec.FrameStamp(frame=7, episode_index=1, episode_frame=3, sim_time=0.1, phase="record")
assert codec.FrameStamp.from_metadata(stamp.to_metadata()) == stamp
status = codec.SimStatus(1, 0, "record", 30.0, 29.9, 12.5, 0, 0.0, 0, 0, 0)
assert codec.SimStatus.from_json(status.to_json()) == status
ramp = np.broadcast_to(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None], (24, 32, 3))
array, meta = codec.encode_image(np.ascontiguousarray(ramp), c.IMAGE_ENCODING_JPEG, 95)
assert np.abs(codec.decode_image(over_ipc(array), meta).astype(int) - ramp).max() <= 4
assert codec.decode_ack(over_ipc(codec.encode_ack(12))) == 12
target = np.array([0.2, 0.0, 0.1, 90.0, 0.0, 50.0], np.float32)
assert np.array_equal(codec.decode_ee_target(over_ipc(codec.encode_ee_target(target))), target)
ee = np.r_[0.2, 0.0, 0.1, 1, 0, 0, 0, 0.01, 0.0, 0.0, 1, 0, 0, 0].astype(np.float32)
assert np.array_equal(codec.decode_ee_state(over_ipc(codec.encode_ee_state(ee))).pose(), ee[:7])
start = codec.EpisodeStart(frame=5, episode_index=0, task="pick", seed=3, fps=30)
assert codec.decode_episode(*codec.encode_episode(start)) == start
encoders = sorted(n[len("encode_"):] for n in dir(codec) if n.startswith("encode_"))
heavy = sorted(m for m in ("torch", "lerobot", "pandas") if m in sys.modules)
print(json.dumps({
    "file": dora_sim.__file__, "numpy": np.__version__, "pyarrow": pa.__version__,
    "python": "%d.%d" % sys.version_info[:2], "modules": modules, "heavy": heavy,
    "lerobot_only": lerobot_only,
    "encoders": encoders,
}))
"""


@pytest.mark.parametrize(
    ("minor", "pins", "expect"),
    [
        pytest.param(
            "3.11",
            ["numpy==1.26.*", "pyarrow>=14,<26"],  # nodes/dora-sim-isaac's pyarrow range
            {"numpy": "1.26."},
            id="isaac-sim-5.1-py311-numpy1",
        ),
        pytest.param(
            "3.11",
            ["numpy==1.26.0", "pyarrow==14.0.1"],  # the floor dora-sim-core (and dora-rs) declare
            {"numpy": "1.26.0", "pyarrow": "14.0.1"},
            id="py311-declared-floor",
        ),
        pytest.param("3.12", ["numpy>=2"], {"numpy": "2."}, id="isaac-lab-3.0-py312-numpy2"),
    ],
)
def test_contract_package_works_on_both_isaac_pythons(minor, pins, expect, scratch):
    uv, python = find_uv(), find_python(minor)
    venv_python = make_venv(uv, python, scratch / "venv")
    dev = PYPROJECT["dependency-groups"]["dev"]
    test_tools = [_pin(n, dev) for n in ("pytest", "pytest-timeout", "hypothesis")]
    # The Isaac node runs dora in that Python too; the core's tests drive MockNode.
    test_tools.append(_pin("dora-rs", PYPROJECT["project"]["dependencies"]))
    install = [uv, "pip", "install", "--quiet", "--python", venv_python, CORE, *pins, *test_tools]
    check(run(install, timeout=300, cwd=scratch), "installing dora-sim-core")

    probe = check(run([venv_python, "-c", CORE_PROBE], timeout=120, cwd=scratch), "probe")
    info = json.loads(probe.strip().splitlines()[-1])
    assert info["python"] == minor
    assert Path(info["file"]).is_relative_to(scratch), f"dora_sim not from the venv: {info}"
    assert all(info[name].startswith(version) for name, version in expect.items()), info
    assert info["heavy"] == [], f"dora_sim pulled in {info['heavy']}"
    assert {"codec", "contract", "units", "config", "episode", "sim_node"} <= set(info["modules"])
    # The probe round-trips these; a new codec must be added to it.
    assert info["encoders"] == [
        "ack", "control", "ee_delta", "ee_state", "ee_target", "episode", "image", "joints",
        "scene", "text",
    ], info  # fmt: skip

    # The core's own unit tests, but the one comparing against LeRobot's processor steps (no
    # lerobot here, as in Isaac's Python). Run from the scratch dir, so the installed copy is used.
    tests = [
        venv_python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-c", REPO / "pyproject.toml", "--rootdir", REPO, CORE / "tests", "-k", "not lerobot",
    ]  # fmt: skip
    out = check(run(tests, timeout=600, cwd=scratch), f"dora-sim-core tests on {minor} {pins}")
    assert re.search(r"\b\d+ passed\b", out) and " failed" not in out, out[-2000:]


def _node_packages() -> list[Path]:
    return sorted(
        p.parent for p in NODES.glob("*/pyproject.toml") if p.parent.name not in NOT_FOR_LEROBOT_ENV
    )


def test_pip_install_into_an_existing_lerobot_env_runs_the_demo(scratch):
    uv, python = find_uv(), find_python("3.12")

    # The user's LeRobot 0.6 environment, pinned to uv.lock's versions so torch & co. are
    # hard-linked from uv's cache instead of downloaded.
    constraints = scratch / "constraints.txt"
    export = [uv, "export", "--frozen", "--no-hashes", "--no-emit-workspace", "-o", constraints]
    check(run([*export, "--format", "requirements.txt"], timeout=120, cwd=REPO), "uv export")
    env_python = make_venv(uv, python, scratch / "lerobot-env", seed=True)
    lerobot = [uv, "pip", "install", "--quiet", "--python", env_python, LEROBOT, "-c", constraints]
    check(run(lerobot, timeout=600, cwd=scratch), f"uv pip install {LEROBOT}")
    before = installed(env_python)
    assert before["lerobot"] == "0.6.1"

    # What such a user runs: pip install the nodes (all but Isaac's) and dora's CLI.
    nodes = _node_packages()
    assert {"dora-sim-core", "dora-sim-mujoco", "dora-sim-expert", "dora-sim-recorder"} <= {
        p.name for p in nodes
    }
    dora_cli = _pin("dora-rs-cli", PYPROJECT["project"]["dependencies"])
    pip = [env_python, "-m", "pip", "install", *nodes, dora_cli]
    check(run(pip, timeout=900, cwd=scratch), "pip install of the nodes into the LeRobot env")
    after = installed(env_python)
    changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
    assert not changed, f"pip changed the user's environment (before, after): {changed}"
    assert {p.name for p in nodes} <= after.keys()

    # The demo graph, with this environment's bin first on PATH and the workspace venv off it.
    bin_dir = env_python.parent
    workspace_bin = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != workspace_bin]
    root = scratch / "dataset"
    env = headless_env(
        PATH=os.pathsep.join([str(bin_dir), *path]),
        VIRTUAL_ENV=str(scratch / "lerobot-env"),
        NUM_EPISODES="1",
        DATASET_ROOT=str(root),
    )
    env = {k: v for k, v in env.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    demo = run(
        [bin_dir / "dora", "run", DATAFLOWS / "dataflow-demo.yaml"],
        timeout=300,
        cwd=scratch,
        env=env,
    )
    out = check(demo, "dora run dataflows/dataflow-demo.yaml from the LeRobot env")
    spawned = re.findall(r"spawning `([^`]+)`", out)
    assert len(spawned) == 3 and all(Path(s).parent == bin_dir for s in spawned), spawned
    assert not processes_under(scratch), "the demo left processes running"

    # LeRobot itself (the user's) loads what the recorder wrote.
    load = (
        "import json, sys\n"
        "from lerobot.datasets.lerobot_dataset import LeRobotDataset\n"
        "ds = LeRobotDataset('local/dora-sim-so101', root=sys.argv[1], video_backend='pyav')\n"
        "item = ds[ds.num_frames - 1]\n"
        "print(json.dumps({'episodes': ds.num_episodes, 'frames': ds.num_frames,\n"
        "    'robot': ds.meta.robot_type, 'keys': sorted(item),\n"
        "    'front': list(item['observation.images.front'].shape)}))\n"
    )
    loaded = check(run([env_python, "-c", load, root], timeout=300, cwd=scratch, env=env), "load")
    info = json.loads(loaded.strip().splitlines()[-1])
    assert info["episodes"] == 1 and info["frames"] > 0, info
    assert info["robot"] == "so101_follower"
    assert {"action", "observation.state", "observation.images.front"} <= set(info["keys"]), info
    assert info["front"][0] == 3, info

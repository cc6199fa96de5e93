"""Regenerate the checkpoint fixtures: what an older LeRobot writes when it saves tiny policies.

The policy node must load checkpoints saved by LeRobot 0.4.x, 0.5.x and 0.6.x. The only faithful
evidence of what a version writes is a checkpoint saved by that version, so this script runs
under the LeRobot version to capture, in a scratch venv outside the repo, and writes
``tests/checkpoints/lerobot-<version>/<policy>/``:

- ``config.json``, ``policy_preprocessor.json``, ``policy_postprocessor.json``: as LeRobot wrote
  them (a SmolVLA's local VLM directory is replaced by ``@VLM_DIR@``);
- ``weights.json``: the keys of ``model.safetensors`` with their shapes and dtypes (never the
  weights: the tests build weights with the installed LeRobot and check they have this layout);
- ``processor_state.json``: the processors' normalisation statistics, as lists.

Policies: ``act``, ``diffusion``, ``smolvla`` (tiny, built offline by ``dora_sim_policy.offline``,
which uses only API that these LeRobot versions share) and, where the version has it, a
``relative_actions`` processor pair: the steps that the pi0 family adds for relative actions
(pi0 itself needs PaliGemma from the Hub, so its tokenizer step is left out).

Run (from the repository root; the script puts dora_sim and dora_sim_policy on sys.path)::

    uv venv -p 3.12 /tmp/lr051
    uv pip install --python /tmp/lr051/bin/python 'lerobot[smolvla]==0.5.1'
    HF_HUB_OFFLINE=1 /tmp/lr051/bin/python nodes/dora-sim-policy/tests/checkpoints/make_fixtures.py

LeRobot 0.4.4 installs on Python 3.12 as well. These versions cap torch below 2.11; the fixtures
here were written with ``--override`` pinning torch 2.11.0, torchvision 0.26.0 and torchcodec
0.11.1 (the workspace's, already in uv's cache): the JSON files do not depend on torch.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODES = HERE.parents[2]
sys.path[:0] = [str(NODES / "dora-sim-core"), str(NODES / "dora-sim-policy")]

import lerobot  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

from dora_sim import contract as c  # noqa: E402
from dora_sim_policy import offline  # noqa: E402

VLM_PLACEHOLDER = "@VLM_DIR@"
JSON_FILES = ("config.json", "policy_preprocessor.json", "policy_postprocessor.json")
IMAGE = (3, 48, 64)
TINY_ACT = {
    "dim_model": 32,
    "n_heads": 2,
    "dim_feedforward": 64,
    "n_encoder_layers": 1,
    "n_decoder_layers": 1,
    "n_vae_encoder_layers": 1,
    "latent_dim": 4,
    "chunk_size": 10,
    "n_action_steps": 10,
}
TINY_DIFFUSION = {
    "down_dims": (16, 32),
    "crop_shape": (40, 56),
    "num_inference_steps": 2,
    "horizon": 16,
    "n_obs_steps": 2,
    "n_action_steps": 8,
    "spatial_softmax_num_keypoints": 4,
    "diffusion_step_embed_dim": 16,
}


def build_relative_actions(out_dir: Path) -> Path:
    """The pi0 family's relative-action steps around the contract's normaliser (0.5.1 and later)."""
    from lerobot.configs.types import NormalizationMode
    from lerobot.processor import (
        AbsoluteActionsProcessorStep,
        AddBatchDimensionProcessorStep,
        DeviceProcessorStep,
        NormalizerProcessorStep,
        PolicyProcessorPipeline,
        RelativeActionsProcessorStep,
        RenameObservationsProcessorStep,
        UnnormalizerProcessorStep,
    )
    from lerobot.processor.converters import (
        policy_action_to_transition,
        transition_to_policy_action,
    )

    features = {**offline.contract_inputs((), IMAGE), **offline.ACTION_OUTPUT}
    norm_map = {"STATE": NormalizationMode.MEAN_STD, "ACTION": NormalizationMode.MEAN_STD}
    stats = offline.contract_stats([])
    relative = RelativeActionsProcessorStep(
        enabled=True, exclude_joints=["gripper"], action_names=list(c.MOTOR_FEATURE_NAMES)
    )
    pre = PolicyProcessorPipeline(
        steps=[
            RenameObservationsProcessorStep(rename_map={}),
            AddBatchDimensionProcessorStep(),
            DeviceProcessorStep(device="cpu"),
            relative,
            NormalizerProcessorStep(features=features, norm_map=norm_map, stats=stats),
        ],
        name="policy_preprocessor",
    )
    post = PolicyProcessorPipeline(
        steps=[
            UnnormalizerProcessorStep(
                features=offline.ACTION_OUTPUT, norm_map=norm_map, stats=stats
            ),
            AbsoluteActionsProcessorStep(enabled=True, relative_step=relative),
            DeviceProcessorStep(device="cpu"),
        ],
        name="policy_postprocessor",
        to_transition=policy_action_to_transition,
        to_output=transition_to_policy_action,
    )
    checkpoint = out_dir / "pretrained_model"
    pre.save_pretrained(checkpoint)
    post.save_pretrained(checkpoint)
    return checkpoint


def has_relative_actions() -> bool:
    import lerobot.processor

    return hasattr(lerobot.processor, "RelativeActionsProcessorStep")


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "act": lambda out: offline.build_act(out, image_shape=IMAGE, **TINY_ACT),
    "diffusion": lambda out: offline.build_diffusion(out, image_shape=IMAGE, **TINY_DIFFUSION),
    "smolvla": lambda out: offline.build_smolvla(out, "tiny", image_shape=IMAGE, chunk_size=10),
}


def capture(name: str, build: Callable[[Path], Path], dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = build(Path(tmp))
        vlm_dir = str((Path(tmp) / "vlm").resolve())
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for filename in JSON_FILES:
            if (checkpoint / filename).is_file():
                text = (checkpoint / filename).read_text().replace(vlm_dir, VLM_PLACEHOLDER)
                (dest / filename).write_text(text)
        model = checkpoint / "model.safetensors"
        if model.is_file():
            with safe_open(str(model), "pt") as f:
                slices = {key: f.get_slice(key) for key in sorted(f.keys())}
                layout = {
                    key: {"shape": list(s.get_shape()), "dtype": s.get_dtype()}
                    for key, s in slices.items()
                }
            (dest / "weights.json").write_text(json.dumps(layout, indent=1) + "\n")
        state = {
            path.name: {key: value.tolist() for key, value in sorted(load_file(path).items())}
            for path in sorted(checkpoint.glob("*.safetensors"))
            if path.name != "model.safetensors"
        }
        (dest / "processor_state.json").write_text(json.dumps(state, indent=1) + "\n")
    print(f"wrote {dest}")


def main() -> None:
    out = HERE / f"lerobot-{lerobot.__version__}"
    builders = dict(BUILDERS)
    if has_relative_actions():
        builders["relative_actions"] = build_relative_actions
    for name, build in builders.items():
        capture(name, build, out / name)


if __name__ == "__main__":
    main()

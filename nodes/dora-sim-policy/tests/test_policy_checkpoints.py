"""Checkpoints saved by other LeRobot versions load through the policy node's loading path.

``checkpoints/lerobot-<version>/<policy>/`` holds what LeRobot <version> wrote when it saved a tiny
policy (``checkpoints/make_fixtures.py``): config and processor JSONs, the layout of
``model.safetensors`` and the normalisation stats. Each test builds weights of that layout with
the installed LeRobot, assembles the checkpoint directory and loads it as the node does
(``engine.load_policy``), then predicts a chunk from contract observations.
A checkpoint from a *newer* LeRobot is a real checkpoint saved by the installed LeRobot with
fields added that the installed classes do not know: the node drops them and says so.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from lerobot import __version__ as LEROBOT_VERSION
from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.act.configuration_act import ACTConfig
from lerobot.policies.factory import get_policy_class, make_pre_post_processors
from lerobot.processor import NormalizerProcessorStep
from safetensors import safe_open
from safetensors.torch import save_file, save_model

from dora_sim import contract as c
from dora_sim.codec import FrameStamp
from dora_sim_policy import offline
from dora_sim_policy.assembler import Observation
from dora_sim_policy.config import PolicyConfig
from dora_sim_policy.engine import ChunkPredictor, load_policy, policy_features
from dora_sim_policy.migrate import (
    Change,
    MigrationError,
    migrate_checkpoint,
    migrate_processor_config,
)

FIXTURES = Path(__file__).parent / "checkpoints"
FRONT, WRIST = c.image_topic("front"), c.image_topic("wrist")
SAVED = sorted(
    (path.parent.name.removeprefix("lerobot-"), path.name)
    for path in FIXTURES.glob("lerobot-*/*")
    if (path / "config.json").is_file()
)
PROCESSOR_FILES = ("policy_preprocessor.json", "policy_postprocessor.json")


@pytest.fixture(scope="module")
def vlm_dir(tmp_path_factory) -> Path:
    """The tiny SmolVLM stand-in that the fixtures' SmolVLA refers to as @VLM_DIR@."""
    return offline.build_vlm_dir(tmp_path_factory.mktemp("vlm"), offline.SIZES["tiny"])


def weights_layout(path: Path) -> dict[str, dict]:
    with safe_open(str(path), "pt") as f:
        slices = {key: f.get_slice(key) for key in sorted(f.keys())}
        return {
            k: {"shape": list(s.get_shape()), "dtype": s.get_dtype()} for k, s in slices.items()
        }


def assemble(fixture: Path, out: Path, vlm_dir: Path) -> Path:
    """The fixture's JSON files and processor state as a checkpoint directory, without weights."""
    out.mkdir(parents=True)
    for name in ("config.json", *PROCESSOR_FILES):
        if (fixture / name).is_file():
            text = (fixture / name).read_text().replace("@VLM_DIR@", str(vlm_dir))
            (out / name).write_text(text)
    states = json.loads((fixture / "processor_state.json").read_text())
    for filename, tensors in states.items():
        save_file(
            {k: torch.tensor(v, dtype=torch.float32) for k, v in tensors.items()}, out / filename
        )
    return out


def add_weights(checkpoint: Path, scratch: Path) -> dict[str, dict]:
    """Random weights from the installed LeRobot's model for the checkpoint's config."""
    source, _ = migrate_checkpoint(checkpoint, scratch)
    config = PreTrainedConfig.from_pretrained(source)
    config.device = "cpu"
    save_model(get_policy_class(config.type)(config), str(checkpoint / "model.safetensors"))
    return weights_layout(checkpoint / "model.safetensors")


def observation(frame: int, cameras=(FRONT, WRIST), height: int = 48, width: int = 64):
    rng = np.random.default_rng(frame)
    images = {k: rng.integers(0, 255, (height, width, 3), np.uint8) for k in cameras}
    stamp = FrameStamp(frame, 0, frame, frame / 30, c.PHASE_EPISODE)
    return Observation(stamp, np.full(c.NUM_JOINTS, frame, np.float32), images)


@pytest.mark.parametrize(("version", "policy"), SAVED)
def test_a_checkpoint_saved_by_lerobot_version_loads_and_predicts(
    version, policy, tmp_path, vlm_dir
):
    fixture = FIXTURES / f"lerobot-{version}" / policy
    checkpoint = assemble(fixture, tmp_path / "pretrained_model", vlm_dir)
    (tmp_path / "scratch").mkdir()
    layout = add_weights(checkpoint, tmp_path / "scratch")
    # The installed LeRobot builds this config into a model with the same weights, name by name.
    assert layout == json.loads((fixture / "weights.json").read_text())

    loaded = load_policy(str(checkpoint), "cpu")
    assert loaded.config.type == policy
    assert loaded.migration == []  # every release from 0.4 on parses as saved (migrate.py)
    stats = json.loads((fixture / "processor_state.json").read_text())
    normalizer = next(
        s for s in loaded.preprocessor.steps if isinstance(s, NormalizerProcessorStep)
    )
    saved_mean = next(v for k, v in next(iter(stats.values())).items() if k.endswith("state.mean"))
    assert normalizer.stats[c.STATE]["mean"].tolist() == pytest.approx(saved_mean)

    predictor = ChunkPredictor(loaded, policy_features(loaded, [FRONT, WRIST], {}))
    history = [observation(i) for i in range(predictor.history)]
    chunk = predictor.predict(history, "Pick up the cube and lift it")
    assert chunk.shape == (loaded.n_action_steps, c.NUM_JOINTS)
    assert np.all(np.isfinite(chunk))


def test_a_050_relative_actions_step_is_renamed_and_still_makes_actions_absolute(tmp_path):
    """0.5.x saved the pi0 family's relative-action step as delta_actions_processor."""
    fixture = FIXTURES / "lerobot-0.5.1" / "relative_actions"
    checkpoint = assemble(fixture, tmp_path / "saved", tmp_path)
    migrated = tmp_path / "migrated"
    shutil.copytree(checkpoint, migrated)
    changes = []
    for name in PROCESSOR_FILES:
        document, found = migrate_processor_config(
            json.loads((checkpoint / name).read_text()), name
        )
        (migrated / name).write_text(json.dumps(document))
        changes += found
    assert changes == [
        Change(
            "policy_preprocessor.json",
            "renamed step delta_actions_processor -> relative_actions_processor",
        )
    ]
    config = ACTConfig(
        input_features=offline.contract_inputs((), (3, 48, 64)),
        output_features=offline.ACTION_OUTPUT,
        device="cpu",
    )
    pre, post = make_pre_post_processors(config, pretrained_path=str(migrated))
    state = torch.tensor([10.0, -20.0, 30.0, 5.0, -5.0, 40.0])
    pre({c.STATE: state, "task": ""})
    zero_offsets = post(torch.zeros(1, 4, c.NUM_JOINTS))  # normalised 0 = the stats' mean
    mean = offline.contract_stats([])[c.STATE]["mean"]
    expected = mean + torch.cat([state[:5], torch.zeros(1)])  # the gripper stays absolute
    torch.testing.assert_close(zero_offsets[0], expected.expand(4, -1))


def newer_checkpoint(out: Path) -> Path:
    """A tiny ACT saved by the installed LeRobot, plus what a newer release might have written."""
    checkpoint = offline.build_act(
        out, image_shape=(3, 48, 64), dim_model=32, n_heads=2, dim_feedforward=64,
        n_encoder_layers=1, n_decoder_layers=1, latent_dim=4, chunk_size=10, n_action_steps=10,
    )  # fmt: skip
    config = json.loads((checkpoint / "config.json").read_text())
    config["action_smoothing"] = 0.5
    config["input_features"][c.STATE]["names"] = list(c.MOTOR_FEATURE_NAMES)
    (checkpoint / "config.json").write_text(json.dumps(config))
    post = json.loads((checkpoint / "policy_postprocessor.json").read_text())
    post["steps"][0]["config"]["clip_to_stats"] = True
    (checkpoint / "policy_postprocessor.json").write_text(json.dumps(post))
    return checkpoint


def test_a_checkpoint_from_a_newer_lerobot_loads_and_the_node_names_what_it_dropped(
    tmp_path, monkeypatch, caplog
):
    from dora_sim_policy.node import prepare

    checkpoint = newer_checkpoint(tmp_path)
    inputs = {key: f"sim/{key}" for key in (c.STATE, FRONT, WRIST)}
    monkeypatch.setenv("DORA_NODE_CONFIG", json.dumps({"run_config": {"inputs": inputs}}))
    config = PolicyConfig(
        policy=str(checkpoint),
        device="cpu",
        rename_map={},
        task="",
        actions_per_chunk=0,
        chunk_threshold=0.5,
        aggregate="weighted_average",
        delay_s=0.0,
        missing_input_frames=60,
    )
    with caplog.at_level(logging.INFO, logger="dora-sim-policy"):
        runner, _, _, _ = prepare(config)  # load, check, warm up: what the node does at start
    assert runner.chunk_len == 10
    startup = next(r.getMessage() for r in caplog.records if "warm-up inference" in r.getMessage())
    assert f"; migrated for LeRobot {LEROBOT_VERSION}: " in startup
    for change in (
        "config.json: dropped action_smoothing",
        "config.json: dropped input_features.observation.state.names",
        "policy_postprocessor.json: dropped unnormalizer_processor.clip_to_stats",
    ):
        assert change in startup
    # The user's checkpoint is left as it was; the migrated copy lived in a scratch directory.
    assert "action_smoothing" in (checkpoint / "config.json").read_text()


def test_what_the_installed_lerobot_or_the_node_cannot_load_is_a_clear_error(tmp_path):
    checkpoint = newer_checkpoint(tmp_path)
    config = json.loads((checkpoint / "config.json").read_text())
    (checkpoint / "config.json").write_text(json.dumps({**config, "type": "act_v2"}))
    with pytest.raises(MigrationError, match="policy type 'act_v2' is not known to LeRobot"):
        load_policy(str(checkpoint), "cpu")
    (checkpoint / "config.json").write_text(json.dumps({**config, "use_peft": True}))
    with pytest.raises(RuntimeError, match=r"PEFT adapter .* merge the adapter"):
        load_policy(str(checkpoint), "cpu")
    (checkpoint / "config.json").write_text(json.dumps(config))
    pre = json.loads((checkpoint / "policy_preprocessor.json").read_text())
    pre["steps"].insert(1, {"registry_name": "gaze_crop_processor", "config": {}})
    (checkpoint / "policy_preprocessor.json").write_text(json.dumps(pre))
    with pytest.raises(MigrationError, match="step 1 'gaze_crop_processor' is not a processor"):
        load_policy(str(checkpoint), "cpu")


def test_weights_that_do_not_fit_the_config_stop_the_node_instead_of_running_random(
    tmp_path, vlm_dir
):
    fixture = FIXTURES / f"lerobot-{LEROBOT_VERSION}" / "act"
    checkpoint = assemble(fixture, tmp_path / "pretrained_model", vlm_dir)
    other = assemble(fixture, tmp_path / "other", vlm_dir)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "n_decoder_layers": 2}))
    (tmp_path / "scratch").mkdir()
    add_weights(other, tmp_path / "scratch")
    shutil.copy(other / "model.safetensors", checkpoint / "model.safetensors")
    with pytest.raises(RuntimeError, match=r"(?s)do not fit the act model .* Unexpected key"):
        load_policy(str(checkpoint), "cpu")

"""Load a LeRobot policy with its saved processors and turn observations into action chunks.

Everything torch-side lives here, and only the inference worker thread calls into it after start.
The calls are LeRobot 0.6's own, as ``lerobot-eval`` and ``lerobot-rollout`` make them:
``PreTrainedConfig.from_pretrained`` → ``get_policy_class(type).from_pretrained`` →
``make_pre_post_processors(pretrained_path=…, preprocessor_overrides={"device_processor": …})`` →
``predict_action_chunk`` on the preprocessed batch → the postprocessor (unnormalise, to CPU).
Before that, :mod:`dora_sim_policy.migrate` fixes what a checkpoint of another LeRobot version
carries that the installed one cannot parse, and says what it changed.
"""

from __future__ import annotations

import inspect
import logging
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import draccus
import numpy as np
import torch
import torch.nn.functional as F
from huggingface_hub import snapshot_download
from lerobot import __version__ as LEROBOT_VERSION
from lerobot.configs.policies import PreTrainedConfig
from lerobot.configs.types import FeatureType
from lerobot.policies.factory import get_policy_class, make_pre_post_processors
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.policies.utils import populate_queues
from lerobot.processor import PolicyAction, PolicyProcessorPipeline, RenameObservationsProcessorStep
from lerobot.utils.constants import ACTION, OBS_IMAGES
from lerobot.utils.import_utils import register_third_party_plugins
from lerobot.utils.random_utils import set_seed

from dora_sim import contract as c
from dora_sim.codec import FrameStamp
from dora_sim_policy.assembler import Observation
from dora_sim_policy.features import FeatureMap, map_features
from dora_sim_policy.migrate import Change, migrate_checkpoint

log = logging.getLogger("dora-sim-policy")

# Policies whose ``predict_action_chunk`` reads an observation history that ``select_action``
# fills (``self._queues``, not public API: checked at load); for them the chunk call is preceded
# by the same queue filling.
QUEUED_POLICIES = frozenset({"diffusion", "vqbet"})


def pick_device(requested: str) -> str:
    """``auto`` → cuda, then mps, then cpu; an explicit device that is absent is an error."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if requested == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if requested.startswith("cuda") and not cuda:
        raise RuntimeError(f"POLICY_DEVICE={requested}: torch sees no CUDA device")
    if requested == "mps" and not mps:
        raise RuntimeError("POLICY_DEVICE=mps: torch sees no MPS device")
    return requested


@dataclass
class LoadedPolicy:
    policy: PreTrainedPolicy
    config: PreTrainedConfig
    preprocessor: PolicyProcessorPipeline[dict[str, Any], dict[str, Any]]
    postprocessor: PolicyProcessorPipeline[PolicyAction, PolicyAction]
    device: str
    migration: list[Change] = field(default_factory=list)  # what migrate_checkpoint changed
    lerobot_version: str = LEROBOT_VERSION

    @property
    def saved_rename_map(self) -> dict[str, str]:
        """The rename map the checkpoint's preprocessor was saved with (training's rename_map)."""
        for step in self.preprocessor.steps:
            if isinstance(step, RenameObservationsProcessorStep):
                return dict(step.rename_map)
        return {}

    @property
    def n_action_steps(self) -> int:
        config = self.config
        return int(getattr(config, "n_action_steps", None) or getattr(config, "chunk_size", 1))


def local_checkpoint(path: str) -> Path:
    """A checkpoint directory, or a Hub repo's JSON and safetensors files (from the cache when
    offline)."""
    if Path(path).is_dir():
        return Path(path)
    return Path(snapshot_download(path, allow_patterns=["*.json", "*.safetensors"]))


def load_policy(path: str, device: str) -> LoadedPolicy:
    """A checkpoint directory or Hub id → policy in eval mode + its pre/post processors."""
    register_third_party_plugins()  # lerobot_policy_* plugins, as lerobot-eval does
    checkpoint = local_checkpoint(path)
    with tempfile.TemporaryDirectory(prefix="dora-sim-policy-") as scratch:
        source, changes = migrate_checkpoint(checkpoint, Path(scratch))
        try:
            config = PreTrainedConfig.from_pretrained(source)
        except draccus.utils.DecodingError as err:
            raise RuntimeError(
                f"{checkpoint}/config.json does not parse with LeRobot {LEROBOT_VERSION}: {err}"
            ) from err
        config.device = pick_device(device)
        check_config(config)
        config.pretrained_path = checkpoint
        policy = _load_weights(get_policy_class(config.type), source, config)
        policy.eval()
        preprocessor, postprocessor = make_pre_post_processors(
            config,
            pretrained_path=str(source),
            preprocessor_overrides={"device_processor": {"device": config.device}},
            postprocessor_overrides={"device_processor": {"device": "cpu"}},
        )
    return LoadedPolicy(policy, config, preprocessor, postprocessor, config.device, changes)


def check_config(config: PreTrainedConfig) -> None:
    """What ``lerobot-rollout`` refuses before loading weights, refused here too."""
    if config.use_peft:
        raise RuntimeError(
            "this checkpoint is a PEFT adapter (use_peft): the policy node loads full"
            " checkpoints; merge the adapter into its base policy (peft's merge_and_unload) and"
            " save that with save_pretrained"
        )
    if config.type == "vqbet" and config.device == "mps":
        raise RuntimeError("LeRobot's VQ-BeT does not run on mps: use POLICY_DEVICE=cpu or cuda")


def _load_weights(
    policy_class: type[PreTrainedPolicy], source: Path, config: PreTrainedConfig
) -> PreTrainedPolicy:
    """``from_pretrained``, strict where the class lets us ask: weights that do not fit the model
    are an error at start, not a warning followed by an eval of random weights."""
    kwargs: dict[str, Any] = {"config": config}
    if "strict" in inspect.signature(policy_class.from_pretrained).parameters:
        kwargs["strict"] = True
    try:
        policy = policy_class.from_pretrained(str(source), **kwargs)
    except RuntimeError as err:
        if "state_dict" not in str(err):
            raise
        raise RuntimeError(
            f"the weights in {config.pretrained_path} do not fit the {config.type} model that"
            f" LeRobot {LEROBOT_VERSION} builds from its config.json (were model.safetensors and"
            f" config.json saved together, by one lerobot-train run?): {err}"
        ) from err
    if config.type in QUEUED_POLICIES and not isinstance(getattr(policy, "_queues", None), dict):
        raise RuntimeError(
            f"LeRobot {LEROBOT_VERSION}'s {config.type} policy keeps no _queues dict: the node's"
            " observation-history path (engine.ChunkPredictor.predict) needs porting"
        )
    return policy


class ChunkPredictor:
    """Observations of one episode → an action chunk (numpy, so101 units), one call at a time."""

    def __init__(self, loaded: LoadedPolicy, features: FeatureMap, actions_per_chunk: int = 0):
        self.loaded = loaded
        self.features = features
        self.chunk_len = actions_per_chunk or loaded.n_action_steps
        self.history = int(getattr(loaded.config, "n_obs_steps", 1) or 1)
        self.queued = loaded.config.type in QUEUED_POLICIES
        self.resized: set[str] = set()
        # Mixed precision on cuda when the policy was trained with it, as lerobot-rollout does.
        amp = loaded.device.startswith("cuda") and loaded.config.use_amp
        self.autocast = torch.autocast(device_type="cuda") if amp else nullcontext()

    def reset(self, seed: int | None = None) -> None:
        """Forget the previous episode (observation queues, internal action queues); with the
        episode's seed, seed the random generators as ``lerobot-eval`` does, so a stochastic
        policy (Diffusion's and SmolVLA's noise) acts the same on the same seed."""
        self.loaded.policy.reset()
        if seed is not None:
            set_seed(seed)

    def batch(self, obs: Observation, task: str) -> dict[str, Any]:
        """Contract observation → LeRobot's un-batched observation dict (images CHW float 0-1)."""
        batch: dict[str, Any] = {self.features.state: torch.from_numpy(obs.state.copy())}
        for source, key in self.features.cameras.items():
            image = torch.from_numpy(obs.images[source]).permute(2, 0, 1).float().div_(255.0)
            _, height, width = self.features.image_shapes[key]
            if image.shape[1:] != (height, width):
                if key not in self.resized:
                    self.resized.add(key)
                    log.warning(
                        "resizing %s from %dx%d to the policy's %dx%d",
                        source,
                        image.shape[2],
                        image.shape[1],
                        width,
                        height,
                    )
                image = F.interpolate(image[None], (height, width), mode="bilinear", antialias=True)
                image = image[0]
            batch[key] = image
        batch["task"] = task
        batch["robot_type"] = c.ROBOT_TYPE  # as lerobot-rollout's prepare_observation_for_inference
        return batch

    @torch.no_grad()
    def predict(self, observations: list[Observation], task: str) -> np.ndarray:
        """Chunk for the last observation: float32[chunk_len, 6]; row i is for frame f + i."""
        loaded = self.loaded
        batches = [loaded.preprocessor(self.batch(obs, task)) for obs in observations]
        if self.queued:  # what select_action does before it calls predict_action_chunk
            loaded.policy.reset()
            batches = [{k: v for k, v in item.items() if k != ACTION} for item in batches]
            for item in batches:
                if loaded.config.image_features:
                    keys = list(loaded.config.image_features)
                    item[OBS_IMAGES] = torch.stack([item[k] for k in keys], dim=-4)
                populate_queues(loaded.policy._queues, item)
        batch = batches[-1]
        with self.autocast:
            chunk = loaded.policy.predict_action_chunk(batch)
        if chunk.ndim == 2:
            chunk = chunk.unsqueeze(0)
        actions = loaded.postprocessor(chunk[:, : self.chunk_len])[0].to("cpu", torch.float32)
        return actions.numpy()[:, self.features.action_columns]

    def warm_up(self, task: str) -> np.ndarray:
        """One inference on a blank observation: first-call costs are paid before the sim starts."""
        shapes = self.features.image_shapes
        images = {}
        for source, key in self.features.cameras.items():
            _, height, width = shapes[key]
            images[source] = np.zeros((height, width, 3), np.uint8)
        stamp = FrameStamp(0, 0, 0, 0.0, c.PHASE_EPISODE)
        blank = Observation(stamp, np.zeros(c.NUM_JOINTS, np.float32), images)
        chunk = self.predict([blank] * self.history, task)
        self.chunk_len = len(chunk)  # ACTIONS_PER_CHUNK may ask for more than the model predicts
        self.reset()
        return chunk


def policy_inputs(config: PreTrainedConfig) -> dict[str, Any]:
    """The policy's observation inputs (language features excluded: the task is a string)."""
    return {
        key: ft for key, ft in config.input_features.items() if ft.type is not FeatureType.LANGUAGE
    }


def policy_features(
    loaded: LoadedPolicy, cameras: list[str], rename_map: dict[str, str]
) -> FeatureMap:
    """The graph's cameras (contract keys, wiring order) and the contract's state and action
    mapped onto the policy's inputs and output; :class:`FeatureError` if they do not fit."""
    config = loaded.config
    return map_features(
        config.type,
        policy_inputs(config),
        cameras,
        rename_map,
        action=config.action_feature,
        action_names=getattr(config, "action_feature_names", None),
    )

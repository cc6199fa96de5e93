"""Load a LeRobot policy with its saved processors and turn observations into action chunks.

Everything torch-side lives here, and only the inference worker thread calls into it after start.
The calls are LeRobot 0.4.4's own, as ``lerobot-eval`` and the async-inference policy server make
them: ``PreTrainedConfig.from_pretrained`` → ``get_policy_class(type).from_pretrained`` →
``make_pre_post_processors(pretrained_path=…, preprocessor_overrides={"device_processor": …})`` →
``predict_action_chunk`` on the preprocessed batch → the postprocessor (unnormalise, to CPU).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from lerobot.configs.policies import PreTrainedConfig
from lerobot.configs.types import FeatureType
from lerobot.policies.factory import get_policy_class, make_pre_post_processors
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.policies.utils import populate_queues
from lerobot.processor import PolicyAction, PolicyProcessorPipeline, RenameObservationsProcessorStep
from lerobot.utils.constants import ACTION, OBS_IMAGES
from lerobot.utils.import_utils import register_third_party_plugins

from dora_sim import contract as c
from dora_sim.codec import FrameStamp
from dora_sim_policy.assembler import Observation
from dora_sim_policy.features import FeatureMap

log = logging.getLogger("dora-sim-policy")

# Policies whose ``predict_action_chunk`` reads an observation history that ``select_action``
# fills (``self._queues``); for them the chunk call is preceded by the same queue filling.
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


def load_policy(path: str, device: str) -> LoadedPolicy:
    """A checkpoint directory or Hub id → policy in eval mode + its pre/post processors."""
    register_third_party_plugins()  # lerobot_policy_* plugins, as lerobot-eval does
    config = PreTrainedConfig.from_pretrained(path)
    config.device = pick_device(device)
    policy = get_policy_class(config.type).from_pretrained(path, config=config)
    policy.eval()
    preprocessor, postprocessor = make_pre_post_processors(
        config,
        pretrained_path=path,
        preprocessor_overrides={"device_processor": {"device": config.device}},
        postprocessor_overrides={"device_processor": {"device": "cpu"}},
    )
    return LoadedPolicy(policy, config, preprocessor, postprocessor, config.device)


class ChunkPredictor:
    """Observations of one episode → an action chunk (numpy, so101 units), one call at a time."""

    def __init__(self, loaded: LoadedPolicy, features: FeatureMap, actions_per_chunk: int = 0):
        self.loaded = loaded
        self.features = features
        self.chunk_len = actions_per_chunk or loaded.n_action_steps
        self.history = int(getattr(loaded.config, "n_obs_steps", 1) or 1)
        self.queued = loaded.config.type in QUEUED_POLICIES
        self.resized: set[str] = set()

    def reset(self) -> None:
        """Forget the previous episode (observation queues, internal action queues)."""
        self.loaded.policy.reset()

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
        chunk = loaded.policy.predict_action_chunk(batch)
        if chunk.ndim == 2:
            chunk = chunk.unsqueeze(0)
        actions = loaded.postprocessor(chunk[:, : self.chunk_len])
        return actions[0].to("cpu", torch.float32).numpy()

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

"""Build LeRobot policies with random weights and no download (tests, benchmarks, offline machines).

Each builder saves a checkpoint directory exactly as ``lerobot-train`` does (``config.json``,
``model.safetensors`` and the pre/post processors with contract-shaped normalisation stats), so the
policy node loads it like a trained one. Weights are random: latency is representative, actions
are not.

SmolVLA: ``lerobot/smolvla_base`` needs the SmolVLM2 backbone from the Hub:
``SmolVLMWithExpertModel`` calls ``AutoConfig``/``AutoProcessor.from_pretrained(vlm_model_name)``
even when it does not load the VLM weights. Both accept a local directory, so
:func:`build_vlm_dir` writes one: a SmolVLM config (``tiny`` for tests, or ``base``, the
SmolVLM2-500M dimensions that SmolVLA uses), a small word-level tokenizer carrying SmolVLM's special
image tokens, and SmolVLM's image/video processors.
ACT and Diffusion: the architectures need nothing from the Hub once ``pretrained_backbone_weights``
is None.

These builders use only API that LeRobot 0.4 to 0.6 share, so
``tests/checkpoints/make_fixtures.py`` runs them under older LeRobot versions too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.policies.act.configuration_act import ACTConfig
from lerobot.policies.act.modeling_act import ACTPolicy
from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy
from lerobot.policies.factory import make_pre_post_processors
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig
from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy
from lerobot.utils.constants import ACTION, OBS_STATE
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    PreTrainedTokenizerFast,
    SmolVLMConfig,
    SmolVLMImageProcessor,
    SmolVLMProcessor,
    SmolVLMVideoProcessor,
)

from dora_sim import contract as c

# SmolVLM's special tokens, exposed as tokenizer attributes (``fake_image_token_id`` …) that
# SmolVLA reads, exactly as the Hub tokenizer of SmolVLM2 declares them.
SPECIAL_TOKENS = {
    "fake_image_token": "<fake_token_around_image>",
    "image_token": "<image>",
    "global_image_token": "<global-img>",
    "end_of_utterance_token": "<end_of_utterance>",
    "video_token": "<video>",
}
WORDS = (
    *("pick", "up", "the", "cube", "and", "lift", "it", "put", "apples", "in", "bin", "grasp"),
    *("place", "move", "red", "green", "blue", "left", "right", "top", "bottom", "table"),
    *("robot", "arm", "gripper", "open", "close", "warm"),
)


@dataclass(frozen=True)
class VlmSize:
    text_hidden: int
    text_intermediate: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    vocab_size: int
    vision_hidden: int
    vision_intermediate: int
    vision_layers: int
    vision_heads: int
    image_size: int
    patch_size: int
    scale_factor: int
    num_vlm_layers: int  # SmolVLA keeps the first N text layers


SIZES = {
    # Seconds to build on a CPU, a few MB: enough to exercise every code path.
    "tiny": VlmSize(64, 128, 2, 4, 2, 128, 32, 64, 1, 2, 64, 16, 2, 2),
    # SmolVLM2-500M-Video-Instruct's dimensions as SmolVLA uses them (16 of 32 text layers):
    # ~450M parameters, random weights: latency is representative, actions are not.
    "base": VlmSize(960, 2560, 32, 15, 5, 49280, 768, 3072, 12, 12, 512, 16, 4, 16),
}


def build_vlm_dir(out_dir: Path, size: VlmSize) -> Path:
    """Write a SmolVLM config + tokenizer + processors that ``from_pretrained`` loads offline."""
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab = {"<unk>": 0, "<pad>": 1, "<|im_start|>": 2, "<|im_end|>": 3}
    for token in [*SPECIAL_TOKENS.values(), *WORDS, "\n"]:
        vocab.setdefault(token, len(vocab))
    if len(vocab) > size.vocab_size:
        raise ValueError(f"vocabulary of {len(vocab)} tokens exceeds vocab_size {size.vocab_size}")
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        additional_special_tokens=list(SPECIAL_TOKENS.values()),
        extra_special_tokens=dict(SPECIAL_TOKENS),
        model_max_length=512,
    )
    image_seq_len = (size.image_size // size.patch_size) ** 2 // size.scale_factor**2
    image_processor = SmolVLMImageProcessor(
        max_image_size={"longest_edge": size.image_size}, size={"longest_edge": size.image_size}
    )
    processor = SmolVLMProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=SmolVLMVideoProcessor(),
        image_seq_len=image_seq_len,
    )
    processor.save_pretrained(out_dir)
    head_dim = size.text_hidden // size.text_heads
    config = SmolVLMConfig(
        text_config={
            "model_type": "llama",
            "hidden_size": size.text_hidden,
            "intermediate_size": size.text_intermediate,
            "num_hidden_layers": size.text_layers,
            "num_attention_heads": size.text_heads,
            "num_key_value_heads": size.text_kv_heads,
            "head_dim": head_dim,
            "vocab_size": size.vocab_size,
            "max_position_embeddings": 8192,
            "rope_theta": 100000.0,
            "rms_norm_eps": 1e-5,
            "pad_token_id": vocab["<pad>"],
        },
        vision_config={
            "hidden_size": size.vision_hidden,
            "intermediate_size": size.vision_intermediate,
            "num_hidden_layers": size.vision_layers,
            "num_attention_heads": size.vision_heads,
            "image_size": size.image_size,
            "patch_size": size.patch_size,
        },
        scale_factor=size.scale_factor,
        image_token_id=vocab[SPECIAL_TOKENS["image_token"]],
        pad_token_id=vocab["<pad>"],
        vocab_size=size.vocab_size,
    )
    config.save_pretrained(out_dir)
    return out_dir


def contract_stats(cameras: list[str]) -> dict[str, dict[str, torch.Tensor]]:
    """Normalisation stats shaped like a dora-sim dataset's (so101 units, images in 0-1).

    Both mean/std and min/max, so any normalisation mode a policy picks has what it needs.
    """
    low = torch.tensor([-c.ARM_DEG_BOUND] * 5 + [c.GRIPPER_RANGE[0]])
    high = torch.tensor([c.ARM_DEG_BOUND] * 5 + [c.GRIPPER_RANGE[1]])
    joints = {"mean": (low + high) / 2, "std": (high - low) / 6, "min": low, "max": high}
    image = {
        "mean": torch.full((3, 1, 1), 0.5),
        "std": torch.full((3, 1, 1), 0.25),
        "min": torch.zeros(3, 1, 1),
        "max": torch.ones(3, 1, 1),
    }
    return {OBS_STATE: joints, ACTION: dict(joints), **{k: dict(image) for k in cameras}}


def save_checkpoint(policy: PreTrainedPolicy, out_dir: Path) -> Path:
    """``out_dir/pretrained_model`` with the policy and its processors, as lerobot-train saves."""
    config = policy.config
    cameras = [k for k, ft in config.input_features.items() if ft.type is FeatureType.VISUAL]
    stats = contract_stats(cameras)
    preprocessor, postprocessor = make_pre_post_processors(config, dataset_stats=stats)
    checkpoint = out_dir / "pretrained_model"
    policy.save_pretrained(checkpoint)
    preprocessor.save_pretrained(checkpoint)
    postprocessor.save_pretrained(checkpoint)
    return checkpoint


def contract_inputs(cameras: tuple[str, ...], image_shape: tuple[int, int, int]) -> dict:
    """Policy input features for the contract's state and the given cameras."""
    inputs = {OBS_STATE: PolicyFeature(type=FeatureType.STATE, shape=(c.NUM_JOINTS,))}
    for camera in cameras:
        inputs[c.image_topic(camera)] = PolicyFeature(type=FeatureType.VISUAL, shape=image_shape)
    return inputs


# The contract's action as a policy output feature (float32[6], so101 units).
ACTION_OUTPUT = {ACTION: PolicyFeature(type=FeatureType.ACTION, shape=(c.NUM_JOINTS,))}


def build_smolvla(
    out_dir: Path,
    size: str = "tiny",
    cameras: tuple[str, ...] = ("camera1", "camera2", "camera3"),
    image_shape: tuple[int, int, int] = (3, 256, 256),
    chunk_size: int = 50,
    seed: int = 0,
) -> Path:
    """A random SmolVLA checkpoint under ``out_dir/pretrained_model``; returns that path.

    The VLM directory lands in ``out_dir/vlm`` and the checkpoint refers to it by absolute path,
    so keep both together. Camera slots default to SmolVLA-base's ``camera1..3``.
    """
    dims = SIZES[size]
    vlm_dir = build_vlm_dir(out_dir / "vlm", dims)
    torch.manual_seed(seed)
    config = SmolVLAConfig(
        input_features=contract_inputs(cameras, image_shape),
        output_features=ACTION_OUTPUT,
        vlm_model_name=str(vlm_dir.resolve()),
        load_vlm_weights=False,
        num_vlm_layers=dims.num_vlm_layers,
        resize_imgs_with_padding=(dims.image_size, dims.image_size),
        chunk_size=chunk_size,
        n_action_steps=chunk_size,
        device="cpu",
        push_to_hub=False,
    )
    return save_checkpoint(SmolVLAPolicy(config), out_dir)


def build_act(
    out_dir: Path,
    cameras: tuple[str, ...] = ("front", "wrist"),
    image_shape: tuple[int, int, int] = (3, 240, 320),
    seed: int = 0,
    **overrides: object,
) -> Path:
    """A random ACT checkpoint (LeRobot's default dimensions unless overridden, e.g. dim_model)."""
    torch.manual_seed(seed)
    config = ACTConfig(
        input_features=contract_inputs(cameras, image_shape),
        output_features=ACTION_OUTPUT,
        pretrained_backbone_weights=None,
        device="cpu",
        push_to_hub=False,
        **overrides,
    )
    return save_checkpoint(ACTPolicy(config), out_dir)


def build_diffusion(
    out_dir: Path,
    cameras: tuple[str, ...] = ("front", "wrist"),
    image_shape: tuple[int, int, int] = (3, 240, 320),
    seed: int = 0,
    **overrides: object,
) -> Path:
    """A random Diffusion checkpoint (ResNet-18 from scratch, LeRobot's dimensions unless
    overridden)."""
    torch.manual_seed(seed)
    config = DiffusionConfig(
        input_features=contract_inputs(cameras, image_shape),
        output_features=ACTION_OUTPUT,
        pretrained_backbone_weights=None,
        use_group_norm=True,
        device="cpu",
        push_to_hub=False,
        **overrides,
    )
    return save_checkpoint(DiffusionPolicy(config), out_dir)

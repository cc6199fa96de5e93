"""Does a policy fit the env's cameras and joints? Checked before ``lerobot-eval`` runs a step.

``lerobot-eval`` builds the env, then loads the policy, and never compares the two: a policy
trained on 64x80 images given 240x320 ones still runs (ACT's backbone takes any size) and just
scores badly, for no visible reason. So the env compares the policy's input and output features
with its own, by the names and shapes LeRobot derives from the env config
(``lerobot.envs.utils.env_to_policy_features``), and says which ``--env.cameras`` would fit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lerobot.configs import FeatureType, PreTrainedConfig, parser
from lerobot.envs.utils import env_to_policy_features
from lerobot.utils.constants import OBS_IMAGES

if TYPE_CHECKING:
    from lerobot.envs.configs import EnvConfig

log = logging.getLogger("lerobot_env_dora_sim")


def fit_problems(env_cfg: EnvConfig, policy_cfg: PreTrainedConfig) -> list[str]:
    """Each policy feature the env does not provide, or provides in another shape."""
    provided = env_to_policy_features(env_cfg)
    problems = []
    for key, feature in {**policy_cfg.input_features, **policy_cfg.output_features}.items():
        have = provided.get(key)
        want = "x".join(map(str, feature.shape))
        if have is None:
            problems.append(
                f"it reads {key} ({want}), which this env does not provide"
                f" (it provides {', '.join(sorted(provided))})"
            )
        elif tuple(have.shape) != tuple(feature.shape):
            got = "x".join(map(str, have.shape))
            problems.append(f"it reads {key} as {want} but this env gives {got}")
    return problems


def cameras_flag(policy_cfg: PreTrainedConfig) -> str | None:
    """The ``--env.cameras`` that renders what the policy reads (images are CxHxW here)."""
    cameras = {
        key.removeprefix(f"{OBS_IMAGES}."): feature.shape
        for key, feature in policy_cfg.input_features.items()
        if feature.type is FeatureType.VISUAL and key.startswith(f"{OBS_IMAGES}.")
    }
    if not cameras:
        return None
    inner = ", ".join(
        f"{name}: {{height: {shape[1]}, width: {shape[2]}}}" for name, shape in cameras.items()
    )
    return f"--env.cameras='{{{inner}}}'"


def check_policy_fits(env_cfg: EnvConfig, policy_cfg: PreTrainedConfig) -> None:
    problems = fit_problems(env_cfg, policy_cfg)
    if problems:
        flag = cameras_flag(policy_cfg)
        hint = f". To render what it was trained on, pass {flag}" if flag else ""
        raise ValueError(
            f"the {policy_cfg.type} policy does not fit --env.type=dora_sim: "
            + "; ".join(problems)
            + hint
        )


def check_cli_policy(env_cfg: EnvConfig) -> None:
    """The check for ``--policy.path=…`` on the command line, read as ``EvalPipelineConfig``
    reads it (``lerobot.configs.parser``). Skipped without a policy path, and with
    ``--rename_map`` (LeRobot renames the keys after this point)."""
    path = parser.get_path_arg("policy")
    if path is None:
        return
    if parser.parse_arg("rename_map") is not None:
        log.info("--rename_map given: not checking the policy's features against the env")
        return
    check_policy_fits(env_cfg, PreTrainedConfig.from_pretrained(path))

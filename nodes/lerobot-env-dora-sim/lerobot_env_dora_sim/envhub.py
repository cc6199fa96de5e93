"""LeRobot EnvHub entry: ``make_env(n_envs, use_async_envs, cfg)`` -> ``{"dora_sim": {0: env}}``.

``lerobot.envs.factory.make_env("<user>/<repo>[@<commit>]", trust_remote_code=True)`` downloads
the repository's ``env.py`` (``nodes/lerobot-env-dora-sim/env.py``: it imports this), imports it
and calls ``make_env(n_envs=…, use_async_envs=…)``, adding ``cfg=`` when it was given an
``EnvConfig``. The envs are exactly ``--env.type=dora_sim``'s, built by the same config.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from lerobot_env_dora_sim.config import DoraSimEnvConfig

# Fields a generic LeRobot EnvConfig (e.g. a HubEnvConfig) may carry that mean the same here.
_SHARED_FIELDS = ("task", "fps")


def make_env(
    n_envs: int = 1, use_async_envs: bool = False, cfg: Any = None
) -> dict[str, dict[int, gym.vector.VectorEnv]]:
    """``cfg``: a :class:`DoraSimEnvConfig` (used as is), another LeRobot ``EnvConfig`` (its
    ``task`` and ``fps``, when set, are used) or None (the defaults: pick-cube, 30 fps, front and
    wrist cameras at 240x320, 20 s episodes)."""
    if n_envs < 1:
        raise ValueError("`n_envs` must be at least 1")
    if not isinstance(cfg, DoraSimEnvConfig):
        shared = {name: getattr(cfg, name) for name in _SHARED_FIELDS if getattr(cfg, name, None)}
        cfg = DoraSimEnvConfig(**shared)
    return cfg.create_envs(n_envs, use_async_envs)

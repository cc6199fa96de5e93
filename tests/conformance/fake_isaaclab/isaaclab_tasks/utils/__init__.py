"""Fake ``isaaclab_tasks.utils``: ``parse_env_cfg`` as in Isaac Lab 2.3."""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym


def load_cfg_from_registry(task_name: str, entry_point_key: str) -> Any:
    entry = gym.spec(task_name).kwargs.get(entry_point_key)
    if entry is None:
        raise ValueError(
            f"Could not find configuration for the environment: '{task_name}'."
            f" Please check that the gym registry has the entry point: '{entry_point_key}'."
        )
    module_name, attr = entry.split(":")
    return getattr(importlib.import_module(module_name), attr)()


def parse_env_cfg(
    task_name: str,
    device: str = "cuda:0",
    num_envs: int | None = None,
    use_fabric: bool | None = None,
) -> Any:
    cfg = load_cfg_from_registry(task_name, "env_cfg_entry_point")
    cfg.sim.device = device
    if use_fabric is not None:
        cfg.sim.use_fabric = use_fabric
    if num_envs is not None:
        cfg.scene.num_envs = num_envs
    return cfg

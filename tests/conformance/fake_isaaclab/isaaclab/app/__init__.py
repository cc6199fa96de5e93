"""Fake ``isaaclab.app``: ``AppLauncher`` starts a (pretend) Isaac Sim ``SimulationApp``."""

from __future__ import annotations

import argparse
from typing import Any


class SimulationApp:
    def __init__(self, headless: bool, enable_cameras: bool, device: str):
        self.headless, self.enable_cameras, self.device = headless, enable_cameras, device
        self.closed = False

    def is_running(self) -> bool:
        return not self.closed

    def close(self) -> None:
        global _APP
        self.closed = True
        _APP = None


_APP: SimulationApp | None = None


def running_app() -> SimulationApp:
    """The app, as Isaac Lab's simulation modules need one (they fail to import without)."""
    if _APP is None:
        raise ImportError("No module named 'omni.physics': Isaac Sim is not running (AppLauncher)")
    return _APP


class AppLauncher:
    def __init__(self, launcher_args: argparse.Namespace | dict | None = None, **kwargs: Any):
        global _APP
        args = vars(launcher_args) if isinstance(launcher_args, argparse.Namespace) else {}
        args.update(launcher_args if isinstance(launcher_args, dict) else {}, **kwargs)
        if _APP is not None:
            raise RuntimeError("a SimulationApp is already running in this process")
        _APP = SimulationApp(
            headless=bool(args.get("headless", False)),
            enable_cameras=bool(args.get("enable_cameras", False)),
            device=str(args.get("device", "cuda:0")),
        )
        self.app = _APP

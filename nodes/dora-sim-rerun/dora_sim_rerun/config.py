"""Configuration of the rerun node, from its dora ``env:`` block or the user's shell.

One key picks the mode (``RERUN_MODE``); the others only refine the mode they belong to.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dora_sim.config import ConfigError, env_int, env_str

MODE_AUTO = "auto"  # spawn when a display exists, else save
MODE_SPAWN = "spawn"  # start a local viewer on RERUN_GRPC_PORT (or reuse one) and stream to it
MODE_CONNECT = "connect"  # stream to a viewer (or server) already listening at RERUN_URL
MODE_SERVE = "serve"  # serve over gRPC on RERUN_GRPC_PORT; viewers connect to us
MODE_SAVE = "save"  # write an .rrd file to RERUN_RRD
MODES = (MODE_AUTO, MODE_SPAWN, MODE_CONNECT, MODE_SERVE, MODE_SAVE)

DEFAULT_URL = "rerun+http://127.0.0.1:9876/proxy"
DEFAULT_GRPC_PORT = 9876
# Relative paths resolve against the node's working directory, which `dora run` sets to the
# directory of the dataflow YAML. "{time}" becomes the session's start time.
DEFAULT_RRD = "outputs/rerun/dora-sim-{time}.rrd"
# Measured on 2 CPU cores, two 240x320 cameras per tick: raw images cost 7.5 ms/tick in the
# logging call and 14 MB per 300 frames; JPEG q80 costs 1.7 ms/tick and 0.6 MB (docs/rerun.md).
DEFAULT_JPEG_QUALITY = 80


@dataclass(frozen=True)
class RerunConfig:
    mode: str  # resolved: never MODE_AUTO
    url: str = DEFAULT_URL
    grpc_port: int = DEFAULT_GRPC_PORT  # serve: ours; spawn: the viewer's
    rrd_path: Path = Path(DEFAULT_RRD)
    memory_limit: str = "25%"
    jpeg_quality: int = DEFAULT_JPEG_QUALITY  # 0 logs raw RGB images
    app_id: str = "dora-sim"


def has_display(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a viewer window could open here (macOS and Windows always have a desktop)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def resolve_mode(requested: str, display: bool) -> str:
    mode = requested.strip().lower()
    if mode not in MODES:
        raise ConfigError(f"RERUN_MODE={requested!r}: expected one of {', '.join(MODES)}")
    if mode == MODE_AUTO:
        return MODE_SPAWN if display else MODE_SAVE
    return mode


def rrd_path(template: str, now: float | None = None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    try:
        return Path(template.format(time=stamp))
    except (KeyError, IndexError, ValueError) as err:
        raise ConfigError(f"RERUN_RRD={template!r}: only the {{time}} field is known") from err


def load_config() -> RerunConfig:
    quality = env_int("RERUN_JPEG_QUALITY", DEFAULT_JPEG_QUALITY, minimum=0, maximum=100)  # 0: raw
    port = env_int("RERUN_GRPC_PORT", DEFAULT_GRPC_PORT, minimum=1, maximum=65535)
    return RerunConfig(
        mode=resolve_mode(env_str("RERUN_MODE", MODE_AUTO), has_display()),
        url=env_str("RERUN_URL", DEFAULT_URL),
        grpc_port=port,
        rrd_path=rrd_path(env_str("RERUN_RRD", DEFAULT_RRD)),
        memory_limit=env_str("RERUN_MEMORY_LIMIT", "25%"),
        jpeg_quality=quality,
    )

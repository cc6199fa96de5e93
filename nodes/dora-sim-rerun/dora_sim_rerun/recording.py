"""Open the Rerun recording stream in the configured mode (spawn, connect, serve or save)."""

from __future__ import annotations

import dataclasses
import logging
import socket
import time

import rerun as rr

from dora_sim_rerun import layout
from dora_sim_rerun.config import MODE_CONNECT, MODE_SAVE, MODE_SERVE, MODE_SPAWN, RerunConfig

log = logging.getLogger("dora-sim-rerun")

# A viewer that cannot render (no capable GPU: Docker, Xvfb, some remote X) starts its gRPC
# server, then exits within a fraction of a second; watch it this long before trusting it.
VIEWER_GRACE_S = 1.5


def open_recording(config: RerunConfig) -> tuple[rr.RecordingStream, RerunConfig, str]:
    """Returns the stream, the config actually used and where the data goes, in words.

    A viewer that cannot be spawned, or exits right away, makes the node save an ``.rrd``
    instead: losing the session's data because the viewer is missing would be worse.
    """
    rec = rr.RecordingStream(config.app_id)
    blueprint = layout.blueprint([])
    if config.mode == MODE_SPAWN:
        if spawn_viewer(config):
            url = f"rerun+http://127.0.0.1:{config.grpc_port}/proxy"
            rec.connect_grpc(url, default_blueprint=blueprint)
            return rec, config, f"a spawned Rerun viewer ({url})"
        config = dataclasses.replace(config, mode=MODE_SAVE)
    if config.mode == MODE_CONNECT:
        rec.connect_grpc(config.url, default_blueprint=blueprint)
        return rec, config, f"the Rerun viewer at {config.url}"
    if config.mode == MODE_SERVE:
        url = rec.serve_grpc(
            grpc_port=config.grpc_port,
            server_memory_limit=config.memory_limit,
            default_blueprint=blueprint,
        )
        return rec, config, f"gRPC server {url} (view with: rerun {url})"
    config.rrd_path.parent.mkdir(parents=True, exist_ok=True)
    rec.save(config.rrd_path, default_blueprint=blueprint)
    return rec, config, f"{config.rrd_path.resolve()} (view with: rerun {config.rrd_path})"


def spawn_viewer(config: RerunConfig) -> bool:
    """Start a viewer (or reuse one already listening on the port); False if there is none."""
    try:
        rr.spawn(port=config.grpc_port, connect=False, memory_limit=config.memory_limit)
    except RuntimeError as err:  # no `rerun` executable on PATH
        log.error(
            "cannot spawn the Rerun viewer (%s); saving to a file instead", str(err).splitlines()[0]
        )
        return False
    deadline = time.monotonic() + VIEWER_GRACE_S
    while time.monotonic() < deadline:
        time.sleep(0.25)
        try:
            socket.create_connection(("127.0.0.1", config.grpc_port), timeout=0.5).close()
        except OSError:
            log.error(
                "the Rerun viewer exited right after starting (no capable GPU? see its"
                " error above); saving to a file instead"
            )
            return False
    return True

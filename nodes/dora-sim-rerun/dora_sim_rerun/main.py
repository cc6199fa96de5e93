"""dora-sim-rerun: shows (or records) a dora-sim graph in Rerun without ever slowing it down.

Inputs (ids as in ``dora_sim.contract``, all from the simulator): ``observation.state``,
``applied_action``, ``ee_state``, ``scene``, ``episode``, ``status`` and any number of
``observation.images.<camera>`` (give those ``queue_size: 1``). Every message goes on the
``frame`` timeline (the sim's tick counter) and the ``wall_time`` timeline. Scalars and events
are logged as they arrive; images go through one newest-only slot per camera to a logging
thread, so a slow viewer or disk costs display frames, never sim ticks. Frames this node never
logged are counted per stream, logged under ``rerun/dropped/<stream>`` and printed every few
seconds. A sender of another contract version ends the node with exit status 2.

Configuration (node ``env:`` or the environment): RERUN_MODE (auto|spawn|connect|serve|save;
auto = spawn with a display, else save), RERUN_URL (connect), RERUN_GRPC_PORT (spawn, serve),
RERUN_RRD (save; ``{time}`` = start time; relative to the dataflow's directory),
RERUN_MEMORY_LIMIT (viewer/server), RERUN_JPEG_QUALITY (0 = raw images). See docs/rerun.md.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.cli import start_node
from dora_sim.config import ConfigError
from dora_sim.link import INPUT, ContractVersionError, NodeLink
from dora_sim_rerun import layout
from dora_sim_rerun.config import load_config
from dora_sim_rerun.flow import LatestSlots
from dora_sim_rerun.logger import ImageFrame, SimLogger, Stamp
from dora_sim_rerun.recording import open_recording

log = logging.getLogger("dora-sim-rerun")

REPORT_PERIOD_S = 5.0
FLUSH_TIMEOUT_S = 5.0  # dora sends SIGTERM 10 s after STOP


class RerunNode:
    """Routes dora inputs to the :class:`SimLogger`; owns the image thread and drop reports."""

    def __init__(self, logger: SimLogger):
        self.logger = logger
        self.slots: LatestSlots[ImageFrame] = LatestSlots()
        self.thread = threading.Thread(target=self.image_loop, name="rerun-images", daemon=True)
        self.rejected = 0
        self.warned_inputs: set[str] = set()
        self.next_report = time.monotonic() + REPORT_PERIOD_S
        self.reported: dict[str, tuple[int, int]] = {}
        self.reported_total = 0
        self.cpu_start, self.wall_start = time.process_time(), time.monotonic()
        self.exit_status = 0  # 2: a sender speaks another contract version

    def start(self) -> None:
        self.thread.start()

    def on_input(self, input_id: str, value: Any, metadata: dict[str, Any]) -> None:
        try:
            if input_id.startswith(c.IMAGE_PREFIX):
                pixels = codec.decode_image(value, metadata, input_id)
                frame = ImageFrame(Stamp.from_metadata(metadata), pixels)
                self.slots.put(input_id.removeprefix(c.IMAGE_PREFIX), frame)
            elif input_id in (c.STATE, c.APPLIED_ACTION):
                self.logger.joints(input_id, value, metadata)
            elif input_id == c.SCENE:
                self.logger.scene(value, metadata)
            elif input_id == c.EE_STATE:
                self.logger.ee_state(value, metadata)
            elif input_id == c.EPISODE:
                self.logger.episode(value, metadata)
            elif input_id == c.STATUS:
                self.logger.status(value, metadata)
            elif input_id not in self.warned_inputs:
                self.warned_inputs.add(input_id)
                log.warning(
                    "ignoring unknown input %r (known: %s, %s, %s, %s, %s, %s, %s<camera>)",
                    input_id,
                    c.STATE,
                    c.APPLIED_ACTION,
                    c.EE_STATE,
                    c.SCENE,
                    c.EPISODE,
                    c.STATUS,
                    c.IMAGE_PREFIX,
                )
        except codec.ContractError as err:
            self.rejected += 1
            if self.rejected <= 5 or self.rejected % 100 == 0:
                log.error("rejected %s message #%d: %s", input_id, self.rejected, err)
        if time.monotonic() >= self.next_report:
            self.report()

    def image_loop(self) -> None:
        while (batch := self.slots.take()) is not None:
            try:
                new_camera = False
                for camera, frame in batch.items():
                    new_camera |= self.logger.image(camera, frame)
                if new_camera:
                    self.logger.rec.send_blueprint(layout.blueprint(self.logger.cameras))
            except Exception:  # a dead image thread would freeze the display silently
                log.exception("failed to log images %s", list(batch))

    def report(self, final: bool = False) -> None:
        """Log drop counts into the recording; print them when they grew, and at the end with
        this process's CPU use (all threads, rerun's own included)."""
        self.next_report = time.monotonic() + REPORT_PERIOD_S
        summary = self.logger.log_drops()
        total = sum(dropped for dropped, _ in summary.values())
        if final or total != self.reported_total:
            parts = [f"{stream} {dropped}/{seen}" for stream, (dropped, seen) in summary.items()]
            line = f"[dora-sim-rerun] dropped frames {'final' if final else 'so far'}: {total}"
            line += f" ({', '.join(parts)})"
            if final:
                cpu = time.process_time() - self.cpu_start
                wall = time.monotonic() - self.wall_start
                line += f"; cpu {cpu:.1f} s in {wall:.1f} s ({100 * cpu / wall:.0f}% of a core)"
            print(line, flush=True)
        self.reported, self.reported_total = summary, total

    def close(self) -> None:
        """Log what is still in the slots, stop the image thread, print the final drop report."""
        self.slots.close()
        self.thread.join(timeout=FLUSH_TIMEOUT_S)
        self.report(final=True)


def run(node: Any, logger: SimLogger) -> RerunNode:
    """The event loop (``node`` is a dora ``Node`` or a ``MockNode``); returns when the graph
    stops or every input has closed."""
    rerun_node = RerunNode(logger)
    rerun_node.start()
    try:
        for event in NodeLink(node).events():
            if event.kind == INPUT:
                rerun_node.on_input(event.id, event.value, event.metadata)
    except ContractVersionError as err:
        log.error("%s", err)
        rerun_node.exit_status = 2
    finally:
        rerun_node.close()
    return rerun_node


def main(argv: list[str] | None = None) -> int:
    start_node("dora-sim-rerun", __doc__, argv)
    try:
        config = load_config()
    except ConfigError as err:
        log.error("%s", err)
        return 2
    # Before Node(): the dataflow starts only once every node is up, so the first frames of
    # the session are not lost while a viewer spawns.
    rec, config, where = open_recording(config)
    log.info("logging to %s", where)
    logger = SimLogger(rec, config.jpeg_quality)
    logger.warm_up()
    logger.log_styles()
    node = Node()
    try:
        status = run(node, logger).exit_status
    finally:
        try:
            rec.flush(timeout_sec=FLUSH_TIMEOUT_S)
        except RuntimeError as err:  # a viewer that went away mid-session
            log.warning("could not flush the last data to %s: %s", where, err)
        rec.disconnect()
    return status


if __name__ == "__main__":
    sys.exit(main())

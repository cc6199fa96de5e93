"""The dora side of the leader: read the arm at RATE_HZ, emit ``action``, survive every fault.

The loop paces itself with ``node.next(timeout=…)``, so dora events (STOP) are handled between
readings. While the arm is unusable (no port, no calibration, unplugged) the node sends no action,
so the simulator holds the last one; it looks for a missing port or calibration file every
``POLL_S`` and retries a failed handshake with exponential backoff.
"""

from __future__ import annotations

import logging
import time

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.link import ERROR, ContractVersionError, NodeLink
from dora_sim_leader.device import Disconnected, LeaderDevice, NotReady, ReadFailed, timed_read
from dora_sim_leader.status import LeaderStatus, RollingWindow, peak_rss_mb

log = logging.getLogger("dora-sim-leader")

STATUS_PERIOD_S = 1.0
# Readings failing for this long, although the port is open, mean the motors lost power.
FAILING_READS_DISCONNECT_S = 1.0
# The same "not ready" explanation is repeated at most this often while retrying.
REPEAT_MESSAGE_S = 30.0
# How often a missing port or calibration file is looked for again (a stat: costs nothing).
POLL_S = 0.25


class Backoff:
    """Exponential retry delays: 0.25 s, 0.5 s, 1 s, … capped at ``maximum``."""

    def __init__(self, initial: float = 0.25, maximum: float = 4.0) -> None:
        self.initial, self.maximum = initial, maximum
        self.delay = initial

    def next_delay(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self.delay = self.initial


class LeaderNode:
    def __init__(self, link: NodeLink, device: LeaderDevice, started: float) -> None:
        self.link = link
        self.device = device
        self.period = 1.0 / device.config.rate_hz
        self.started = started  # time.monotonic() at process start, for the startup time
        self.startup_s = 0.0
        self.backoff = Backoff()
        self.next_attempt = 0.0
        self.failing_since: float | None = None
        self.disconnects = 0
        self.reconnects = 0
        self.ever_connected = False
        self.last_error = ""
        self.last_message = ("", 0.0)
        self.read_times = RollingWindow()
        self.bus_ms = RollingWindow()
        self.next_status = 0.0

    # --- the loop ------------------------------------------------------------------------------
    def run(self) -> int:
        next_read = time.monotonic()
        while True:
            try:
                event = self.link.next(timeout=max(next_read - time.monotonic(), 0.0005))
            except ContractVersionError as err:
                log.error("%s", err)
                self.device.close()
                return 2
            if event.ends:
                break  # STOP, or every input closed (the simulator ended)
            if event.kind == ERROR:
                log.warning("dora error event: %s", event.error.splitlines()[0])
            now = time.monotonic()
            if now >= next_read:
                self.step(now)
                next_read = max(next_read + self.period, now)
            if now >= self.next_status:
                self.emit_status()
                self.next_status = now + STATUS_PERIOD_S
        self.device.close()
        return 0

    def step(self, now: float) -> None:
        """One reading (or one connection attempt); never raises."""
        try:
            if self.device.connected:
                self.read_and_send(now)
            elif now >= self.next_attempt:
                self.try_connect(now)
        except Exception as err:  # a fault nobody foresaw must not end teleoperation
            log.exception("unexpected error; reconnecting")
            self.lose_connection(now, f"{type(err).__name__}: {err}")

    def try_connect(self, now: float) -> None:
        try:
            self.device.connect()
        except NotReady as err:
            self.last_error = str(err).splitlines()[0]
            self.say_once(str(err), now)
            self.next_attempt = now + (POLL_S if err.cheap else self.backoff.next_delay())
            return
        self.backoff.reset()
        self.failing_since = None
        if self.ever_connected:
            self.reconnects += 1
            log.warning("leader arm back on %s: teleoperation resumes", self.device.config.port)
        else:
            log.info(
                "leader arm %r connected on %s, reading at %.0f Hz",
                self.device.config.id,
                self.device.config.port,
                self.device.config.rate_hz,
            )
        self.ever_connected = True
        self.last_message = ("", 0.0)
        self.emit_status()

    def read_and_send(self, now: float) -> None:
        try:
            values, read_at_ns, bus_s = timed_read(self.device)
        except ReadFailed as err:
            self.last_error = str(err)
            self.failing_since = self.failing_since or now
            if now - self.failing_since > FAILING_READS_DISCONNECT_S:
                self.lose_connection(now, f"no valid reading for {FAILING_READS_DISCONNECT_S} s")
            return
        except Disconnected as err:
            self.lose_connection(now, f"port failed: {err}")
            return
        self.failing_since = None
        self.bus_ms.add(bus_s * 1e3)
        self.read_times.add(now)
        metadata = {c.MD_READ_AT: read_at_ns, c.MD_SENT_AT: time.time_ns()}
        self.link.send(c.ACTION, codec.encode_joints(values), metadata)
        if not self.startup_s:
            self.startup_s = time.monotonic() - self.started
            log.info(
                "first action %.2f s after start, peak RSS %.0f MB", self.startup_s, peak_rss_mb()
            )

    def lose_connection(self, now: float, reason: str) -> None:
        self.device.close()
        self.disconnects += 1
        self.last_error = reason
        log.error(
            "leader arm lost (%s). The simulator holds the last action; reconnecting to %s",
            reason,
            self.device.config.port,
        )
        self.backoff.reset()
        self.next_attempt = now + POLL_S
        self.emit_status()

    def say_once(self, message: str, now: float) -> None:
        """Log the full explanation when it changes, then only every REPEAT_MESSAGE_S."""
        previous, when = self.last_message
        if message != previous or now - when > REPEAT_MESSAGE_S:
            log.error("%s", message)
            self.last_message = (message, now)

    # --- status --------------------------------------------------------------------------------
    def status(self) -> LeaderStatus:
        counters = self.device.counters
        return LeaderStatus(
            connected=self.device.connected,
            port=self.device.config.port,
            reads=counters.reads,
            achieved_hz=round(self.read_times.rate_hz(), 2),
            bus_read_ms_p50=round(self.bus_ms.percentile(50), 3),
            bus_read_ms_p99=round(self.bus_ms.percentile(99), 3),
            comm_errors=counters.comm_errors,
            recovered=counters.recovered,
            failed=counters.failed,
            clipped=counters.clipped,
            stale_flushes=counters.stale_flushes,
            disconnects=self.disconnects,
            reconnects=self.reconnects,
            startup_s=round(self.startup_s, 3),
            rss_mb=round(peak_rss_mb(), 1),
            last_error=self.last_error,
        )

    def emit_status(self) -> None:
        self.link.send(c.STATUS, codec.encode_text(self.status().to_json()))

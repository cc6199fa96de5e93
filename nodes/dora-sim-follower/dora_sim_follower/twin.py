"""dora-sim-follower twin: the sim-to-real gap, live — per-joint tracking error of the real
follower against a simulator that mirrors it.

In ``dataflow-twin.yaml`` the simulator ticks on the follower's ``observation.state`` and takes
its ``applied_action`` as its own action, so each sim frame applies exactly the target the arm
got at the follower's frame that triggered it, and reports that frame's bus read time on its
``applied_action`` (``action_read_at_ns``). Both states of such a pair are the response to the
same previous target over one tick: their difference is the gap between the arm and the model,
not a lag between two clocks. Pairs are matched by that read time, so a dropped tick never
pairs the wrong frames.

Per pair: ``tracking_error`` = real - sim (float32[6], degrees and gripper 0-100, with the real
frame's counters); the real, sim and error values of each joint are logged to Rerun
(``twin/<joint>/{real,sim,error}`` on the real frame's timeline); the RMS and largest error per
joint are printed every TWIN_REPORT_S seconds and at each episode's end.

Inputs: ``real.observation.state`` (the follower's), ``sim.observation.state`` and
``sim.applied_action`` (the simulator's), ``episode`` (the follower's). Configuration:
TWIN_REPORT_S (default 5), and Rerun's as for dora-sim-rerun (RERUN_MODE, RERUN_RRD, …).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import rerun as rr

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.config import ConfigError, env_float
from dora_sim.link import INPUT, NodeLink
from dora_sim_rerun import layout
from dora_sim_rerun.config import load_config
from dora_sim_rerun.recording import open_recording

log = logging.getLogger("dora-sim-follower.twin")

REAL_STATE: Final = "real." + c.STATE
SIM_STATE: Final = "sim." + c.STATE
SIM_APPLIED: Final = "sim." + c.APPLIED_ACTION
TRACKING_ERROR: Final = "tracking_error"  # output: real - sim per joint, float32[6]
PENDING = 300  # unmatched messages kept per stream (10 s at 30 Hz)
FLUSH_TIMEOUT_S = 5.0  # dora sends SIGTERM 10 s after STOP


TWIN: Final = "twin"
SERIES: Final = ("real", "sim", "error")


def twin_path(joint: str, series: str) -> str:
    """``twin/<joint>/real``, ``…/sim`` or ``…/error``: one plot per joint."""
    return f"{TWIN}/{joint}/{series}"


@dataclass
class ErrorStats:
    """RMS and largest absolute error per joint over a stretch of frames."""

    frames: int = 0
    squared: np.ndarray = field(default_factory=lambda: np.zeros(c.NUM_JOINTS))
    largest: np.ndarray = field(default_factory=lambda: np.zeros(c.NUM_JOINTS))

    def add(self, error: np.ndarray) -> None:
        self.frames += 1
        self.squared += error.astype(np.float64) ** 2
        self.largest = np.maximum(self.largest, np.abs(error))

    @property
    def rms(self) -> np.ndarray:
        return np.sqrt(self.squared / max(1, self.frames))

    def summary(self) -> str:
        parts = [
            f"{joint} {rms:.2f}/{top:.2f}"
            for joint, rms, top in zip(c.JOINT_NAMES, self.rms, self.largest, strict=True)
        ]
        return f"{self.frames} frames, RMS/max (deg; gripper 0-100): " + ", ".join(parts)


@dataclass(frozen=True)
class Pair:
    stamp: codec.FrameStamp  # the real frame's
    read_at_ns: int
    real: np.ndarray
    sim: np.ndarray

    @property
    def error(self) -> np.ndarray:
        return (self.real - self.sim).astype(np.float32)


class Matcher:
    """Pairs a real frame with the sim frame that mirrored it, whichever arrives first."""

    def __init__(self) -> None:
        self.real: OrderedDict[int, tuple[codec.FrameStamp, np.ndarray]] = OrderedDict()
        self.sim_states: OrderedDict[int, np.ndarray] = OrderedDict()  # sim frame -> state
        self.sim_pending: OrderedDict[int, np.ndarray] = OrderedDict()  # real read time -> state

    def on_real(self, state: np.ndarray, md: dict[str, Any]) -> Pair | None:
        read_at = int(md[c.MD_READ_AT])
        stamp = codec.FrameStamp.from_metadata(md)
        sim = self.sim_pending.pop(read_at, None)
        if sim is not None:
            return Pair(stamp, read_at, state.copy(), sim)
        _put(self.real, read_at, (stamp, state.copy()))
        return None

    def on_sim_state(self, state: np.ndarray, md: dict[str, Any]) -> None:
        _put(self.sim_states, codec.FrameStamp.from_metadata(md).frame, state.copy())

    def on_sim_applied(self, md: dict[str, Any]) -> Pair | None:
        """The sim's applied action names the real frame its tick mirrored."""
        read_at = md.get(c.MD_ACTION_READ_AT)
        state = self.sim_states.pop(codec.FrameStamp.from_metadata(md).frame, None)
        if read_at is None or state is None:
            return None
        real = self.real.pop(int(read_at), None)
        if real is None:
            _put(self.sim_pending, int(read_at), state)
            return None
        return Pair(real[0], int(read_at), real[1], state)


def _put(store: OrderedDict, key: int, value: Any) -> None:
    store[key] = value
    while len(store) > PENDING:
        store.popitem(last=False)


class TwinNode:
    def __init__(self, link: NodeLink, rec: rr.RecordingStream, report_s: float) -> None:
        self.link = link
        self.rec = rec
        self.report_s = report_s
        self.matcher = Matcher()
        self.window = ErrorStats()
        self.episode = ErrorStats()
        self.next_report = time.monotonic() + report_s

    def on_input(self, input_id: str, value: Any, md: dict[str, Any]) -> None:
        pair = None
        if input_id == REAL_STATE:
            pair = self.matcher.on_real(codec.decode_joints(value, input_id), md)
        elif input_id == SIM_STATE:
            self.matcher.on_sim_state(codec.decode_joints(value, input_id), md)
        elif input_id == SIM_APPLIED:
            pair = self.matcher.on_sim_applied(md)
        elif input_id == c.EPISODE:
            event = codec.decode_episode(value, md)
            if isinstance(event, codec.EpisodeEnd):
                print(f"[dora-sim-twin] episode {event.episode_index} ({event.reason}), real -"
                      f" sim: {self.episode.summary()}", flush=True)  # fmt: skip
                self.episode = ErrorStats()
        if pair is not None:
            self.on_pair(pair)
        if time.monotonic() >= self.next_report:
            self.next_report = time.monotonic() + self.report_s
            if self.window.frames:
                print(f"[dora-sim-twin] last {self.report_s:g} s, real - sim:"
                      f" {self.window.summary()}", flush=True)  # fmt: skip
            self.window = ErrorStats()

    def on_pair(self, pair: Pair) -> None:
        error = pair.error
        self.window.add(error)
        self.episode.add(error)
        md = {**pair.stamp.to_metadata(), c.MD_READ_AT: pair.read_at_ns}
        self.link.send(TRACKING_ERROR, codec.to_arrow(error), md)
        self.rec.set_time(layout.TIMELINE_FRAME, sequence=pair.stamp.frame)
        self.rec.set_time(layout.TIMELINE_WALL, timestamp=np.datetime64(pair.read_at_ns, "ns"))
        for i, joint in enumerate(c.JOINT_NAMES):
            for series, values in zip(SERIES, (pair.real, pair.sim, error), strict=True):
                self.rec.log(twin_path(joint, series), rr.Scalars(float(values[i])))


def run(link: NodeLink, twin: TwinNode) -> None:
    for event in link.events():
        if event.kind != INPUT:
            continue
        try:
            twin.on_input(event.id, event.value, event.metadata)
        except codec.ContractError as err:
            log.error("rejected %s message: %s", event.id, err)


def main() -> int:
    from dora import Node

    try:
        report_s = env_float("TWIN_REPORT_S", 5.0, minimum=0.1)
        rerun_config = dataclasses.replace(load_config(), app_id="dora-sim-twin")
    except ConfigError as err:
        log.error("%s", err)
        return 2
    rec, rerun_config, where = open_recording(rerun_config)
    log.info("tracking errors logged to %s", where)
    codec.warm_up()
    link = NodeLink(Node())
    try:
        run(link, TwinNode(link, rec, report_s))
    finally:
        try:
            rec.flush(timeout_sec=FLUSH_TIMEOUT_S)
        except RuntimeError as err:  # a viewer that went away mid-session
            log.warning("could not flush the last data to %s: %s", where, err)
        rec.disconnect()
    return 0

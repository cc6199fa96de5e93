"""dora-sim-keyboard: jog the simulated gripper and control episodes from the keyboard.

Inputs: ``tick`` (a dora timer: keys are read and ``ee_delta`` is sent once per tick);
optionally ``episode`` (the simulator's events: prints what to press next, reopens the gripper
toggle at each episode start, and ends this node when the simulator exits) and ``control``
(another node's commands, e.g. the recorder's ``stop`` once the dataset is complete, passed on
to the simulator, whose single ``control`` input this node then feeds).
Outputs: ``ee_delta`` (contract EE_DELTA, re-sent every tick while a jog key is held) and
``control`` (finish / rerecord / stop). See ``docs/keyboard.md``.

Configuration (node ``env:`` or the environment): KEY_SCHEME (dora-sim | lerobot), JOG (1, or 0 for
control keys only, beside a leader arm), JOG_VIEW (front | behind), JOG_SPEED_M_S, JOG_SPEED_Z_M_S,
WRIST_SPEED_DEG_S, GRIPPER_OPEN, GRIPPER_CLOSED, KEYBOARD_INPUT (auto | desktop | terminal).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Any, Protocol

from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.cli import start_node
from dora_sim.config import ConfigError, env_bool, env_float, env_str
from dora_sim.link import CLOSED, INPUT, ContractVersionError, NodeLink
from dora_sim_keyboard.bindings import SCHEMES, VIEWS, Bindings, make_bindings
from dora_sim_keyboard.desktop import DesktopSource, DesktopUnavailable
from dora_sim_keyboard.keys import KeyEvent
from dora_sim_keyboard.teleop import JogSpeeds, Teleop
from dora_sim_keyboard.terminal import TerminalSource, TerminalUnavailable

log = logging.getLogger("dora-sim-keyboard")

INPUTS = ("auto", "desktop", "terminal")
# After sending stop, wait this long for the simulator to close ``episode`` (if it is wired),
# re-sending it every STOP_RESEND_S: a simulator stalled at its first tick can drop messages.
STOP_GRACE_S = 10.0
STOP_RESEND_S = 1.0

ALTERNATIVES = """\
Alternatives:
  - run `dora run` from a terminal (over SSH: `ssh -t`), so keys can be read from it;
  - give it an X display: a desktop session, `ssh -X` / `ssh -Y`, or DISPLAY=...;
  - teleoperate with the SO-101 leader arm (dataflows/dataflow-teleop.yaml,
    dataflow-record.yaml), where the keyboard only controls episodes (JOG=0);
  - let the scripted expert drive (dataflows/dataflow-demo.yaml)."""


class KeySource(Protocol):
    name: str
    terminal: bool

    def poll(self, now: float) -> list[KeyEvent]: ...

    def close(self) -> None: ...


class NoKeyboard(RuntimeError):
    """Neither pynput nor a terminal can deliver keys; the message names the alternatives."""


@dataclass(frozen=True)
class Config:
    scheme: str
    jog: bool
    view: str
    speeds: JogSpeeds
    source: str


def load_config() -> Config:
    source = env_str("KEYBOARD_INPUT", "auto")
    if source not in INPUTS:
        raise ConfigError(f"KEYBOARD_INPUT={source!r}: expected one of {', '.join(INPUTS)}")
    defaults = JogSpeeds()
    speeds = JogSpeeds(
        linear_m_s=env_float("JOG_SPEED_M_S", defaults.linear_m_s),
        vertical_m_s=env_float("JOG_SPEED_Z_M_S", defaults.vertical_m_s),
        wrist_deg_s=env_float("WRIST_SPEED_DEG_S", defaults.wrist_deg_s),
        gripper_open=env_float("GRIPPER_OPEN", defaults.gripper_open),
        gripper_closed=env_float("GRIPPER_CLOSED", defaults.gripper_closed),
    )
    scheme = env_str("KEY_SCHEME", "dora-sim")
    if scheme not in SCHEMES:
        raise ConfigError(f"KEY_SCHEME={scheme!r}: expected one of {', '.join(SCHEMES)}")
    view = env_str("JOG_VIEW", "front")
    if view not in VIEWS:
        raise ConfigError(f"JOG_VIEW={view!r}: expected one of {', '.join(VIEWS)}")
    return Config(scheme, env_bool("JOG", True), view, speeds, source)


def open_source(kind: str) -> KeySource:
    """pynput where it works (a desktop), else the terminal; NoKeyboard if neither."""
    reasons = []
    if kind in ("auto", "desktop"):
        try:
            return DesktopSource()
        except DesktopUnavailable as err:
            reasons.append(f"no desktop keyboard: {err}")
    if kind in ("auto", "terminal"):
        try:
            return TerminalSource.open()
        except TerminalUnavailable as err:
            reasons.append(f"no terminal: {err}")
    raise NoKeyboard(
        "cannot read the keyboard (KEYBOARD_INPUT=" + kind + "):\n  - "
        + "\n  - ".join(reasons) + "\n" + ALTERNATIVES
    )  # fmt: skip


class KeyboardNode:
    """Glue between dora events, the key source and the teleop state."""

    def __init__(self, link: NodeLink, source: KeySource, teleop: Teleop):
        self.link = link
        self.source = source
        self.teleop = teleop
        self.stopping = False
        self._stop_first_sent: float | None = None
        self._stop_last_sent = float("-inf")

    def run(self) -> int:
        try:
            for event in self.link.events():
                if event.kind == INPUT and event.id == c.EPISODE:
                    self.on_episode(event.value, event.metadata)
                elif event.kind == INPUT and event.id == c.CONTROL:
                    self.forward_control(event.value)
                elif event.kind == INPUT:
                    now = time.monotonic()
                    self.on_tick(now)
                    if (
                        self._stop_first_sent is not None
                        and now - self._stop_first_sent > STOP_GRACE_S
                    ):
                        return 0  # `episode` is not wired: nothing tells us the simulator stopped
                elif event.kind == CLOSED and event.id == c.EPISODE:
                    return 0  # the simulator has exited: the session is over
        except ContractVersionError as err:
            log.error("%s", err)
            return 2
        return 0

    def request_stop(self) -> None:
        """End the session: ``stop`` goes out now and every STOP_RESEND_S until the sim exits.

        A simulator stalled for a moment can drop a message (its dora input channel overflows),
        and ``stop`` is idempotent. Keys are no longer read.
        """
        self.stopping = True

    def on_tick(self, now: float) -> None:
        if not self.stopping:
            self.read_keys(now)
        if self.stopping and now - self._stop_last_sent >= STOP_RESEND_S:
            self.send_control(c.CONTROL_STOP)
            self._stop_last_sent = now
            if self._stop_first_sent is None:
                self._stop_first_sent = time.monotonic()  # after the send, however long it took

    def read_keys(self, now: float) -> None:
        for key_event in self.source.poll(now):
            command = self.teleop.handle(key_event)
            if command == c.CONTROL_STOP:
                self.request_stop()
                return
            if command is not None:
                self.send_control(command)
        delta = self.teleop.ee_delta()
        if delta is not None:
            self.link.send(c.EE_DELTA, codec.encode_ee_delta(delta), {c.MD_SENT_AT: time.time_ns()})

    def forward_control(self, value: Any) -> None:
        """Pass on another node's command: the simulator has a single ``control`` input."""
        try:
            command = codec.decode_control(value)
        except codec.ContractError as err:
            log.warning("ignoring a malformed control command: %s", err)
            return
        if command == c.CONTROL_STOP:
            self.request_stop()
        elif not self.stopping:
            self.send_control(command)

    def send_control(self, command: str) -> None:
        self.link.send(c.CONTROL, codec.encode_control(command), {c.MD_SENT_AT: time.time_ns()})
        if command != c.CONTROL_STOP or self._stop_first_sent is None:
            print(f"[keyboard] {command}", flush=True)

    def on_episode(self, value: Any, metadata: dict) -> None:
        try:
            event = codec.decode_episode(value, metadata)
        except codec.ContractError as err:
            log.warning("ignoring a malformed episode event: %s", err)
            return
        b = self.teleop.bindings
        index = event.episode_index
        if isinstance(event, codec.EpisodeStart):
            self.teleop.new_episode()
            print(f"[keyboard] episode {index} is running: {event.task}"
                  f" | {b.keys_for(c.CONTROL_FINISH)}: finish,"
                  f" {b.keys_for(c.CONTROL_RERECORD)}: re-record,"
                  f" {b.keys_for(c.CONTROL_STOP)}: stop", flush=True)  # fmt: skip
        elif not event.last:
            if event.discarded:
                print(f"[keyboard] episode {index} discarded ({event.reason})", flush=True)
            else:
                print(f"[keyboard] episode {index} ended ({event.reason}); in a reset phase,"
                      f" {b.keys_for(c.CONTROL_FINISH)} starts the next", flush=True)  # fmt: skip


class NoKeys:
    """The key source when there is no keyboard."""

    name = "no keyboard"
    terminal = False

    def poll(self, now: float) -> list[KeyEvent]:
        return []

    def close(self) -> None:
        pass


def stop_session() -> None:
    """Without a keyboard nobody can end the episodes: ask the simulator to stop the session."""
    try:
        node = Node()
    except Exception:  # not started by dora: nothing to stop
        return
    teleop = Teleop(make_bindings("dora-sim", terminal=False, jog=False), JogSpeeds())
    codec.warm_up()
    keyboard = KeyboardNode(NodeLink(node), NoKeys(), teleop)
    keyboard.request_stop()
    keyboard.run()


def main(argv: list[str] | None = None) -> int:
    start_node("dora-sim-keyboard", __doc__, argv)
    try:
        config = load_config()
    except ValueError as err:  # ConfigError, or speeds out of range
        log.error("%s", err)
        stop_session()
        return 2
    try:
        source: KeySource = open_source(config.source)
    except NoKeyboard as err:
        if config.jog:  # nobody can drive the arm
            log.error("%s", err)
            stop_session()
            return 1
        # Beside a leader arm episodes still end on success or time, and commands of other
        # nodes (the recorder's stop) must still reach the simulator.
        log.warning("%s\nGoing on without episode keys (JOG=0).", err)
        source = NoKeys()
    try:
        bindings = make_bindings(
            config.scheme, terminal=source.terminal, jog=config.jog, view=config.view
        )
        teleop = Teleop(bindings, config.speeds)
        if not isinstance(source, NoKeys):
            print_bindings(bindings, config, source.name)
        codec.warm_up()
        return KeyboardNode(NodeLink(Node()), source, teleop).run()
    finally:
        source.close()


def print_bindings(bindings: Bindings, config: Config, source_name: str) -> None:
    s = config.speeds
    lines = [f"dora-sim-keyboard: keys from {source_name}, scheme {bindings.scheme}"]
    lines += bindings.describe()
    if bindings.jog_enabled:
        lines.append(
            f"speeds: {s.linear_m_s:g} m/s horizontal, {s.vertical_m_s:g} m/s vertical,"
            f" wrist {s.wrist_deg_s:g} deg/s; gripper open {s.gripper_open:g}, closed"
            f" {s.gripper_closed:g} (JOG_SPEED_M_S, JOG_SPEED_Z_M_S, WRIST_SPEED_DEG_S, ...)"
        )
    else:
        lines.append("jog keys off (JOG=0): episode control only")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())

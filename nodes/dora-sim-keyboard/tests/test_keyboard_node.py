"""The node's dora glue (MockNode), its configuration, and the no-keyboard error."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pyarrow as pa
import pytest
from dora.testing import MockNode
from keyboard_testkit import dora_env

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.config import ConfigError
from dora_sim.link import NodeLink
from dora_sim_keyboard import keys as k
from dora_sim_keyboard import main
from dora_sim_keyboard.bindings import make_bindings
from dora_sim_keyboard.keys import KeyEvent
from dora_sim_keyboard.teleop import JogSpeeds, Teleop

TICK = (c.TICK, pa.array([0], type=pa.uint64()))
CONTRACT = {c.MD_CONTRACT: c.CONTRACT_VERSION}  # what every dora-sim node stamps on its messages
TASK = "Pick up the cube"


class ScriptedKeys:
    """A key source that reports the given events, one list per poll."""

    name = "a script"
    terminal = False

    def __init__(self, *polls: list[KeyEvent]):
        self.polls = list(polls)

    def poll(self, now: float) -> list[KeyEvent]:
        return self.polls.pop(0) if self.polls else []

    def close(self) -> None:
        pass


@pytest.fixture
def clock(monkeypatch):
    """Each reading of the node's clock is 0.25 s after the previous one."""
    ticks = itertools.count()
    monkeypatch.setattr(main.time, "monotonic", lambda: next(ticks) * 0.25)


def run(events: list, source: ScriptedKeys, terminal: bool = False, status: int = 0) -> MockNode:
    node = MockNode(events, CONTRACT)
    teleop = Teleop(make_bindings("dora-sim", terminal=terminal, jog=True), JogSpeeds())
    assert main.KeyboardNode(NodeLink(node), source, teleop).run() == status
    return node


def commands(node: MockNode) -> list[str]:
    return [codec.decode_control(value) for value in node.outputs.get(c.CONTROL, [])]


def episode(event: codec.EpisodeStart | codec.EpisodeEnd) -> dict:
    """The simulator's episode event, as dora delivers it."""
    value, metadata = codec.encode_episode(event)
    return {"type": "INPUT", "id": c.EPISODE, "value": value, "metadata": {**metadata, **CONTRACT}}


def episode_end(index: int, reason: str, last: bool = False) -> codec.EpisodeEnd:
    return codec.EpisodeEnd(
        frame=100 * (index + 1),
        episode_index=index,
        task=TASK,
        seed=index,
        fps=c.DEFAULT_FPS,
        success=False,
        reason=reason,
        num_frames=50,
        sim_time=50 / c.DEFAULT_FPS,
        wall_time=2.0,
        last=last,
    )


def test_jog_while_held_and_commands_on_press(clock):
    source = ScriptedKeys(
        [KeyEvent(k.UP, True)], [], [KeyEvent(k.UP, False)], [], [KeyEvent(k.SPACE, True)]
    )
    node = run([TICK] * 6, source)
    deltas = [codec.decode_ee_delta(v) for v in node.outputs[c.EE_DELTA]]
    assert [float(d[0]) for d in deltas] == pytest.approx([-0.1, -0.1, 0.0])  # held, released
    assert commands(node) == [c.CONTROL_FINISH]


def test_stop_is_repeated_until_the_simulator_exits(clock):
    closed = {"type": "INPUT_CLOSED", "id": c.EPISODE}
    node = run([TICK] * 10 + [closed] + [TICK] * 5, ScriptedKeys([KeyEvent(k.ESC, True)]))
    # Ticks read the clock every 0.25 s here: stop goes out once per STOP_RESEND_S (1 s).
    assert commands(node) == [c.CONTROL_STOP] * 3
    assert c.EE_DELTA not in node.outputs  # no jogging once stopping


def test_gives_up_waiting_when_episode_is_not_wired(clock):
    node = run([TICK] * 100, ScriptedKeys([KeyEvent(k.ESC, True)]))
    assert len(commands(node)) <= main.STOP_GRACE_S / main.STOP_RESEND_S + 1


def test_forwards_another_nodes_commands(clock):
    forwarded = [
        (c.CONTROL, codec.encode_control(c.CONTROL_RERECORD)),
        (c.CONTROL, pa.array(["explode"])),  # malformed: ignored
        (c.CONTROL, codec.encode_control(c.CONTROL_STOP)),  # e.g. the recorder's dataset is full
        TICK,
    ]
    node = run(forwarded, ScriptedKeys())
    assert commands(node) == [c.CONTROL_RERECORD, c.CONTROL_STOP]


def test_episode_events_prompt_and_reopen_the_gripper_toggle(clock, capsys):
    events = [
        TICK,
        episode(episode_end(0, c.END_RERECORD)),
        episode(codec.EpisodeStart(frame=101, episode_index=1, task=TASK, seed=0, fps=30)),
        TICK,
    ]
    keys = ScriptedKeys([KeyEvent("c", True)], [KeyEvent(k.UP, True)])
    node = run(events, keys, terminal=True)
    grippers = [float(codec.decode_ee_delta(v)[5]) for v in node.outputs[c.EE_DELTA]]
    assert grippers == [0.0, 40.0]  # closed by the toggle, open again in the new episode
    out = capsys.readouterr().out
    assert "episode 0 discarded (rerecord)" in out
    assert "episode 1 is running: Pick up the cube | Space: finish" in out


def test_a_kept_episode_end_says_how_to_go_on_and_the_last_one_says_nothing(clock, capsys):
    events = [episode(episode_end(0, c.END_TIME_LIMIT)), episode(episode_end(1, c.END_STOP, True))]
    run([*events, TICK], ScriptedKeys())
    out = capsys.readouterr().out
    assert "episode 0 ended (time_limit); in a reset phase, Space starts the next" in out
    assert "episode 1" not in out


def test_a_malformed_episode_event_is_ignored(clock, capsys, caplog):
    start = episode(codec.EpisodeStart(frame=0, episode_index=0, task=TASK, seed=0, fps=30))
    del start["metadata"][c.MD_TASK]  # a start event without its task: rejected by the codec
    node = run([start, TICK, (c.CONTROL, codec.encode_control(c.CONTROL_FINISH))], ScriptedKeys())
    assert "is running" not in capsys.readouterr().out
    assert "ignoring a malformed episode event" in caplog.text
    assert commands(node) == [c.CONTROL_FINISH]  # and the node carries on


def test_a_peer_of_another_contract_version_ends_the_node_with_an_error(clock, caplog):
    """A control from a node that does not speak this contract is refused, not obeyed."""
    old = {"type": "INPUT", "id": c.CONTROL, "value": codec.encode_control(c.CONTROL_FINISH),
           "metadata": {c.MD_CONTRACT: "1"}}  # fmt: skip
    node = run([TICK, old, TICK], ScriptedKeys(), status=2)
    assert commands(node) == []
    assert "speaks contract 1" in caplog.text


def test_config_errors_name_the_variable(monkeypatch):
    monkeypatch.setenv("KEY_SCHEME", "emacs")
    with pytest.raises(ConfigError, match="KEY_SCHEME"):
        main.load_config()
    monkeypatch.setenv("KEY_SCHEME", "lerobot")
    monkeypatch.setenv("KEYBOARD_INPUT", "joystick")
    with pytest.raises(ConfigError, match="KEYBOARD_INPUT"):
        main.load_config()
    monkeypatch.setenv("KEYBOARD_INPUT", "terminal")
    monkeypatch.setenv("JOG_SPEED_M_S", "0.05")
    monkeypatch.setenv("JOG", "0")
    config = main.load_config()
    assert (config.scheme, config.jog, config.speeds.linear_m_s) == ("lerobot", False, 0.05)


def test_no_display_and_no_terminal_is_a_clear_error():
    """Not under dora, no DISPLAY, no controlling terminal (a new session), stdin /dev/null."""
    result = subprocess.run(
        ["dora-sim-keyboard"],
        env=dora_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert result.returncode == 1
    assert "cannot read the keyboard" in result.stdout
    assert "no controlling terminal" in result.stdout
    for alternative in ("ssh -t", "ssh -X", "leader arm", "dataflow-demo.yaml"):
        assert alternative in result.stdout


@pytest.mark.parametrize(("jog", "status"), [("1", 1), ("0", 0)])
def test_without_a_keyboard(monkeypatch, caplog, jog, status):
    """Jogging: an error, and the session is stopped. Control only: carry on without keys."""

    def no_keyboard(kind: str):
        raise main.NoKeyboard("cannot read the keyboard (test)")

    nodes: list[MockNode] = []

    def make_node() -> MockNode:
        forwarded = (c.CONTROL, codec.encode_control(c.CONTROL_FINISH))
        nodes.append(MockNode([TICK, forwarded, TICK], CONTRACT))
        return nodes[-1]

    monkeypatch.setenv("JOG", jog)
    monkeypatch.setattr(main, "open_source", no_keyboard)
    monkeypatch.setattr(main, "Node", make_node)
    assert main.main([]) == status
    sent = commands(nodes[0])
    assert sent == ([c.CONTROL_STOP] if jog == "1" else [c.CONTROL_FINISH])
    assert "cannot read the keyboard" in caplog.text


def test_imports_neither_torch_nor_lerobot():
    code = "import sys, dora_sim_keyboard.main; print({'torch', 'lerobot'} & {*sys.modules})"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "set()"

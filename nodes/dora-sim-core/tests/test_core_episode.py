"""The episode state machine: time limit, held success, control commands, reset phase, count."""

from __future__ import annotations

from dora_sim import contract as c
from dora_sim.episode import EpisodeConfig, EpisodeMachine

FPS = 10


def run(machine: EpisodeMachine, successes: list[bool]) -> list:
    """Tick through ``successes`` (one per frame); return (start?, end) per tick."""
    log = []
    for success in successes:
        start, ended = machine.begin_tick()
        end = None if machine.stopped else machine.end_tick(success)
        log.append((start, ended or end))
    return log


def test_time_limit_ends_after_exactly_the_episode_frames():
    machine = EpisodeMachine(EpisodeConfig(num_episodes=2, episode_time_s=1.0), FPS)
    log = run(machine, [False] * 25)
    ends = [(i, e) for i, (_, e) in enumerate(log) if e]
    assert [e.num_frames for _, e in ends] == [10, 10]
    assert [e.reason for _, e in ends] == [c.END_TIME_LIMIT] * 2
    assert ends[-1][1].last and machine.stopped
    assert [i for i, (s, _) in enumerate(log) if s] == [0, 10]  # no reset phase: next tick


def test_success_must_hold_before_the_episode_ends():
    config = EpisodeConfig(num_episodes=1, episode_time_s=10, success_hold_s=0.3)
    machine = EpisodeMachine(config, FPS)
    log = run(machine, [False, True, True, False, True, True, True, False])
    end = next(e for _, e in log if e)
    assert end.reason == c.END_SUCCESS and end.success and end.num_frames == 7


def test_rerecord_discards_and_replays_the_same_scene():
    machine = EpisodeMachine(EpisodeConfig(num_episodes=1, episode_time_s=1, seed=7), FPS)
    machine.begin_tick()
    assert machine.seed == 7
    machine.end_tick(False)
    machine.command(c.CONTROL_RERECORD)
    start, ended = machine.begin_tick()
    assert ended.reason == c.END_RERECORD and not ended.last
    assert start and machine.episode_index == 1 and machine.seed == 7 and machine.completed == 0


def test_finish_counts_the_episode_and_stop_ends_the_session():
    machine = EpisodeMachine(EpisodeConfig(num_episodes=5, episode_time_s=1), FPS)
    machine.begin_tick()
    machine.end_tick(False)
    machine.command(c.CONTROL_FINISH)
    _, ended = machine.begin_tick()
    assert ended.reason == c.END_FINISH and machine.completed == 1 and machine.seed == 1
    machine.end_tick(False)
    machine.command(c.CONTROL_STOP)
    _, ended = machine.begin_tick()
    assert ended.reason == c.END_STOP and ended.last and machine.stopped


def test_reset_phase_lasts_its_time_and_finish_cuts_it_short():
    config = EpisodeConfig(num_episodes=3, episode_time_s=0.2, reset_time_s=0.5)
    machine = EpisodeMachine(config, FPS)
    log = run(machine, [False] * 12)
    starts = [i for i, (s, _) in enumerate(log) if s]
    assert starts == [0, 7]  # 2 episode frames, then 5 reset ticks
    run(machine, [False] * 2)  # second episode ends; reset phase begins
    assert machine.phase == c.PHASE_RESET
    machine.command(c.CONTROL_FINISH)
    start, _ = machine.begin_tick()
    assert start and machine.episode_index == 2


def test_reset_command_discards_and_restarts_without_a_reset_phase():
    config = EpisodeConfig(num_episodes=1, episode_time_s=1, reset_time_s=5)
    machine = EpisodeMachine(config, FPS)
    machine.begin_tick()
    machine.end_tick(False)
    seed = machine.seed
    machine.command(c.CONTROL_RESET)
    start, ended = machine.begin_tick()
    assert ended.reason == c.END_RESET and start and machine.completed == 0
    assert machine.seed == seed + 1  # a fresh scene, not a replay of the discarded one


def test_unlimited_episodes_never_stop_by_count():
    machine = EpisodeMachine(EpisodeConfig(num_episodes=0, episode_time_s=0.1), FPS)
    run(machine, [False] * 50)
    assert machine.completed == 50 and not machine.stopped

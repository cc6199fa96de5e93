"""Where everything lives in the recording (entity paths, timelines) and how the viewer lays it out.

Tests and ``scripts/bench_rerun.py`` read recordings back through these names, so they are the
node's public surface next to the dora inputs.
"""

from __future__ import annotations

import rerun.blueprint as rrb

from dora_sim import contract as c

# Timelines: the sim's frame counter (one tick = one frame) and the wall clock at send time.
TIMELINE_FRAME = "frame"
TIMELINE_WALL = "wall_time"

CAMERAS = "cameras"
JOINTS = "joints"
SCENE_EE = "scene/ee"  # gripper end-effector position (Points3D)
SCENE_OBJECTS = "scene/objects"
EPISODE_EVENTS = "episode/events"  # TextLog: starts and ends with outcome
EPISODE_TASK = "episode/task"  # TextDocument: the task text of the current episode
EPISODE_SUCCESS = "episode/success"  # per tick: the success predicate holds (1) or not (0)
EPISODE_RESULT = "episode/result"  # at each episode end: 1 success, 0 failure
EPISODE_SUCCESS_RATE = "episode/success_rate"  # successes / kept episodes so far
STATUS = "status"  # status/<field>: the sim's loop health, see STATUS_FIELDS
DROPPED = "rerun/dropped"  # rerun/dropped/<stream>: frames this node never logged, cumulative

STATE_SERIES = "state"
ACTION_SERIES = "action"
STATUS_FIELDS = ("achieved_hz", "busy_ms", "wall_lag_s", "late_ticks")

# Trail of the end effector in the 3D view, in frames behind the time cursor.
TRAIL_FRAMES = 90


def camera_path(camera: str) -> str:
    return f"{CAMERAS}/{camera}"


def joint_path(joint: str, series: str) -> str:
    """``joints/<joint>/state`` or ``joints/<joint>/action``: one plot per joint, two lines."""
    return f"{JOINTS}/{joint}/{series}"


def object_path(name: str) -> str:
    return f"{SCENE_OBJECTS}/{name}"


def status_path(field: str) -> str:
    return f"{STATUS}/{field}"


def dropped_path(stream: str) -> str:
    return f"{DROPPED}/{stream}"


def blueprint(cameras: list[str]) -> rrb.Blueprint:
    """Cameras and the 3D scene left, one state-vs-action plot per joint in the middle, episode
    log, task, loop health and drops on the right."""
    trail = rrb.VisibleTimeRange(
        TIMELINE_FRAME,
        start=rrb.TimeRangeBoundary.cursor_relative(seq=-TRAIL_FRAMES),
        end=rrb.TimeRangeBoundary.cursor_relative(),
    )
    views = [rrb.Spatial2DView(origin=camera_path(cam), name=cam) for cam in cameras]
    views.append(rrb.Spatial3DView(origin="scene", name="end effector", time_ranges=trail))
    joints = [rrb.TimeSeriesView(origin=f"{JOINTS}/{j}", name=j) for j in c.JOINT_NAMES]
    return rrb.Blueprint(
        rrb.Horizontal(
            rrb.Vertical(*views),
            rrb.Grid(*joints, grid_columns=2),
            rrb.Vertical(
                rrb.TextDocumentView(origin=EPISODE_TASK, name="task"),
                rrb.TextLogView(origin=EPISODE_EVENTS, name="episodes"),
                rrb.TimeSeriesView(
                    origin="episode",
                    name="success",
                    contents=[EPISODE_SUCCESS, EPISODE_RESULT, EPISODE_SUCCESS_RATE],
                ),
                rrb.TimeSeriesView(origin=STATUS, name="sim loop"),
                rrb.TimeSeriesView(origin=DROPPED, name="dropped display frames"),
                row_shares=[1, 3, 2, 2, 2],
            ),
            column_shares=[2, 3, 2],
        ),
    )

"""The dora-sim message contract, v2: the one written source of truth every node imports.

Everything a node needs to agree with its peers lives here: topic ids, joint names and order,
units and ranges, metadata keys, control commands and episode-event fields. The codecs in
:mod:`dora_sim.codec` enforce it; ``docs/architecture.md`` explains it in prose.

Joint-space units ("so101" units) are LeRobot's SO-101 follower with ``use_degrees=True``: the
five arm joints in degrees (0 = calibrated mid-range), the gripper in 0-100 (0 = closed).

v2 (second wave): the applied action has its own name (``applied_action``), actions carry
``for_frame`` / ``planned_from``, episode events are typed (:mod:`dora_sim.codec`), every message
carries ``contract`` (refused when it differs), lossless consumers send ``ack`` credits, the sim
resolves Cartesian ``ee_target`` messages with its own IK and publishes ``ee_state``.

Images are flat uint8 Arrow arrays with ``height``, ``width`` and ``encoding`` metadata; the
encoding is one of ``IMAGE_ENCODINGS``: ``rgb8`` (raw HxWx3 pixels, the default: zero-copy through
dora's shared memory on one machine) or ``jpeg`` (one JPEG file's bytes, for images that cross
machines, 20-45x smaller; a simulator sends it with ``IMAGE_ENCODING=jpeg``). Consumers call
:func:`dora_sim.codec.decode_image`, which takes either and checks the decoded size.
"""

from __future__ import annotations

from typing import Final

CONTRACT_VERSION: Final = "2"
ROBOT_TYPE: Final = "so101_follower"
DEFAULT_FPS: Final = 30

# --- joints ---------------------------------------------------------------------------------
JOINT_NAMES: Final = (
    "shoulder_pan",
    "shoulder_lift",
    "elbow_flex",
    "wrist_flex",
    "wrist_roll",
    "gripper",
)
ARM_JOINT_NAMES: Final = JOINT_NAMES[:5]
NUM_JOINTS: Final = len(JOINT_NAMES)
GRIPPER_INDEX: Final = 5
# Feature names exactly as a real SO-101 follower dataset, so sim and real data mix.
MOTOR_FEATURE_NAMES: Final = tuple(f"{name}.pos" for name in JOINT_NAMES)

# Hard validity bounds of a joint vector on the wire. A calibrated STS3215 in degrees mode spans
# 4096 ticks = ±180°; the gripper is 0-100 by construction. Values outside are malformed and
# rejected; values inside but beyond a simulator's joint limits are clipped (and counted) there.
ARM_DEG_BOUND: Final = 180.0
GRIPPER_RANGE: Final = (0.0, 100.0)

# --- topics (dora input/output ids) -----------------------------------------------------------
TICK: Final = "tick"  # dora/timer/hz/<fps>: the clock (a pace-maker while a credit holds it)
ACTION: Final = "action"  # float32[6] joint target command, so101 units (leader, expert, policy)
EE_TARGET: Final = "ee_target"  # float32[6] Cartesian target command, see EE_TARGET_FIELDS
EE_DELTA: Final = "ee_delta"  # float32[6] Cartesian jog, see EE_DELTA_FIELDS
CONTROL: Final = "control"  # utf8[1], one of CONTROL_COMMANDS
ACK: Final = "ack"  # int64[1]: the newest frame a lossless consumer has taken (credits, below)
# Per-tick outputs of a simulator, all sharing the same counters in metadata:
STATE: Final = "observation.state"  # float32[6] measured joints, so101 units
APPLIED_ACTION: Final = "applied_action"  # float32[6] the joint target applied this tick
EE_STATE: Final = "ee_state"  # float32[14] end-effector pose and its change, see EE_STATE_FIELDS
SCENE: Final = "scene"  # float32[7n] privileged object poses, names in MD_SCENE_NAMES
IMAGE_PREFIX: Final = "observation.images."  # + camera name: uint8 image, see MD_ENCODING
EPISODE: Final = "episode"  # utf8[1] EPISODE_START or EPISODE_END, details in metadata
STATUS: Final = "status"  # utf8[1] JSON of SimStatus fields, about once a second

EPISODE_START: Final = "start"
EPISODE_END: Final = "end"


def image_topic(camera: str) -> str:
    """Output id of a camera stream, e.g. ``observation.images.front``."""
    return f"{IMAGE_PREFIX}{camera}"


# --- Cartesian target and end-effector state ----------------------------------------------------
# The end-effector point is the tool centre point (TCP): midway between the open jaw pads, where
# a grasped object sits. Every simulator defines it on its own model, so a Cartesian command or a
# planner means the same point whatever the engine. World frame: x forward from the arm's base,
# z up, metres.
EE_TARGET_FIELDS: Final = (
    "x_m",  # TCP position, world frame
    "y_m",
    "z_m",
    "pitch_deg",  # approach axis (base -> fingertips) below horizontal: 90 = straight down
    "jaw_yaw_deg",  # world direction of the jaw closing axis, mod 180
    "gripper",  # 0-100
)
EE_TARGET_POSITION_BOUND: Final = 1.0  # m from the base; anything farther is malformed
TCP_GRIPPER: Final = 40.0  # the gripper opening (0-100) at which the pads' midpoint is taken
EE_STATE_FIELDS: Final = (
    "x_m", "y_m", "z_m",  # TCP position
    "qw", "qx", "qy", "qz",  # TCP orientation (x: approach axis, y: jaw closing axis)
    "dx_m", "dy_m", "dz_m",  # position change since the previous frame
    "dqw", "dqx", "dqy", "dqz",  # rotation since the previous frame (q_now = dq * q_prev)
)  # fmt: skip

# --- Cartesian jog ----------------------------------------------------------------------------
# A velocity, not a displacement, so sender and sim rates need not match: the sim integrates it
# over each tick while it is fresher than EE_DELTA_HOLD_S, then stops (a lost key-up never drifts).
EE_DELTA_FIELDS: Final = (
    "vx_m_s",  # world frame, metres per second
    "vy_m_s",
    "vz_m_s",
    "wrist_flex_deg_s",  # pitch rate
    "wrist_roll_deg_s",  # roll rate
    "gripper",  # absolute gripper target, 0-100
)
EE_DELTA_LINEAR_BOUND: Final = 2.0  # m/s; anything faster is malformed
EE_DELTA_ANGULAR_BOUND: Final = 720.0  # deg/s
EE_DELTA_HOLD_S: Final = 0.2

# --- episode control --------------------------------------------------------------------------
CONTROL_FINISH: Final = "finish"  # end the episode now (or end the reset phase)
CONTROL_RERECORD: Final = "rerecord"  # discard the episode in progress and record it again
CONTROL_STOP: Final = "stop"  # end the session: finish cleanly and exit
CONTROL_RESET: Final = "reset"  # discard the episode and start a fresh scene now, no reset phase
CONTROL_COMMANDS: Final = frozenset({CONTROL_FINISH, CONTROL_RERECORD, CONTROL_STOP, CONTROL_RESET})


def is_control_input(input_id: str) -> bool:
    """A sim accepts CONTROL from several senders: inputs ``control`` and ``control.<sender>``
    (e.g. ``control.keyboard`` and ``control.recorder``), since one dora input has one source."""
    return input_id == CONTROL or input_id.startswith(CONTROL + ".")


# Reasons an episode ended (metadata key END_REASON on EPISODE_END).
END_SUCCESS: Final = "success"
END_TIME_LIMIT: Final = "time_limit"
END_FINISH: Final = "finish"
END_RERECORD: Final = "rerecord"
END_STOP: Final = "stop"
END_RESET: Final = "reset"
END_REASONS: Final = frozenset(
    {END_SUCCESS, END_TIME_LIMIT, END_FINISH, END_RERECORD, END_STOP, END_RESET}
)
# Episodes that ended for these reasons are discarded by consumers and not counted.
DISCARDED_REASONS: Final = frozenset({END_RERECORD, END_RESET})

# Phases (metadata key PHASE): frames of the "reset" phase belong to no episode.
PHASE_EPISODE: Final = "episode"
PHASE_RESET: Final = "reset"

# --- credits: lossless delivery without dora backpressure ---------------------------------------
# A lossless consumer (recorder, eval scorer, lockstep policy) sends ACK with the newest frame it
# has taken. The simulator reads every input named ACK or ``ack.<consumer>`` and holds its tick
# (sim time pauses, reported on STATUS) while any of them is more than CREDIT_WINDOW frames
# behind. At most CREDIT_WINDOW + 1 frames are then in flight to a consumer, so an input queue of
# CREDIT_QUEUE_SIZE never overflows and every edge can use dora's zero-copy default path.
CREDIT_WINDOW: Final = 8
CREDIT_QUEUE_SIZE: Final = 2 * (CREDIT_WINDOW + 2)


# How a simulator relates its frames to its commands (EVAL_MODE; dora_sim.sim_node):
REALTIME: Final = "realtime"  # each tick applies the newest command: a slow policy lags
LOCKSTEP: Final = "lockstep"  # frame n waits for the command stamped for_frame = n
EVAL_MODES: Final = (REALTIME, LOCKSTEP)


def is_ack_input(input_id: str) -> bool:
    """Credit inputs of a sim: ``ack`` or ``ack.<consumer>``."""
    return input_id == ACK or input_id.startswith(ACK + ".")


# --- metadata keys (flat: dora stringifies nested dicts) ---------------------------------------
MD_CONTRACT: Final = "contract"  # CONTRACT_VERSION of the sender, on every message
MD_FRAME: Final = "frame"  # int, ticks since the sim started; +1 every tick, never repeats
MD_EPISODE: Final = "episode_index"  # int, session attempt counter (rerecords get a new one)
MD_EPISODE_FRAME: Final = "episode_frame"  # int, frame index within the episode (0-based)
MD_SIM_TIME: Final = "sim_time"  # float, seconds of sim time since the episode started
MD_PHASE: Final = "phase"  # PHASE_EPISODE | PHASE_RESET
MD_TASK: Final = "task"  # str, natural-language task of the episode
MD_FPS: Final = "fps"  # int
MD_SEED: Final = "seed"  # int, the seed of the episode's reset
MD_SUCCESS: Final = "success"  # bool, on EPISODE_END and per tick (success predicate holds now)
MD_REWARD: Final = "reward"  # float, per tick: 1.0 while the success predicate holds, else 0.0
MD_END_REASON: Final = "reason"  # one of END_* on EPISODE_END
MD_NUM_FRAMES: Final = "num_frames"  # int, frames of the episode, on EPISODE_END
MD_WALL_TIME: Final = "wall_time"  # float, seconds of wall time the episode took, on EPISODE_END
MD_LAST: Final = "last"  # bool, on EPISODE_END: the session ends after this episode
# str, on EPISODE_START when the sim randomizes its scenes (RANDOMIZATION): a JSON object of the
# episode's sampled values (JSON text: dora stringifies nested dicts); the recorder stores it.
MD_RANDOMIZATION: Final = "randomization"
MD_SENT_AT: Final = "sent_at_ns"  # int, time.time_ns() when sent (hop latency)
MD_HEIGHT: Final = "height"
MD_WIDTH: Final = "width"
MD_ENCODING: Final = "encoding"  # one of IMAGE_ENCODINGS
IMAGE_ENCODING: Final = "rgb8"  # raw HxWx3 uint8 pixels, row-major: the default
IMAGE_ENCODING_JPEG: Final = "jpeg"  # one JPEG file (baseline, RGB): for links between machines
IMAGE_ENCODINGS: Final = (IMAGE_ENCODING, IMAGE_ENCODING_JPEG)
DEFAULT_JPEG_QUALITY: Final = 90  # 1-100, the sim's JPEG_QUALITY
MD_SCENE_NAMES: Final = "names"  # comma-separated object names of a SCENE message

# A SCENE message is one pose per object (MD_SCENE_NAMES): position xyz (m, world frame) +
# quaternion wxyz, i.e. 7 floats each. The end effector is on EE_STATE.
POSE_SIZE: Final = 7

# On ACTION / EE_TARGET commands (both optional; absent = "as soon as possible"):
MD_FOR_FRAME: Final = "for_frame"  # int, the sim frame this command is meant for
MD_PLANNED_FROM: Final = "planned_from"  # int, the frame whose observation it was computed from

# --- teleop devices ---------------------------------------------------------------------------
# On a device's ACTION: time.time_ns() when the reading behind it began (servo-to-sim latency).
MD_READ_AT: Final = "read_at_ns"
# On the sim's per-tick APPLIED_ACTION: the MD_READ_AT of the command being applied
# (device reading -> physics latency, measured exactly).
MD_ACTION_READ_AT: Final = "action_read_at_ns"

"""Arrow encode/decode of contract messages, with validation.

Every decoder raises :class:`ContractError` (and nothing else) for a malformed message, so a node
can ``except ContractError``, log, reject and carry on. Payloads are flat Arrow arrays; decoders
return zero-copy numpy views where Arrow allows it (rgb8 images from dora shared memory stay in
place; jpeg images are decoded with Pillow, imported only when JPEG is used or in :func:`warm_up`).
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from dora_sim import contract as c


class ContractError(ValueError):
    """A message that does not follow the dora-sim contract."""


# Arrow -> numpy without pyarrow's own converters: `pa.array(ndarray)` and `Array.to_numpy()`
# import pandas on first use (2-7 s here), long enough for dora to drop a node's queued inputs.
_NUMPY_TYPES = {
    pa.float32(): np.dtype(np.float32),
    pa.float64(): np.dtype(np.float64),
    pa.uint8(): np.dtype(np.uint8),
    pa.int32(): np.dtype(np.int32),
    pa.int64(): np.dtype(np.int64),
}


def _as_numpy(value: Any, what: str) -> np.ndarray:
    """Zero-copy numpy view of a flat primitive Arrow array."""
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if not isinstance(value, pa.Array):
        raise ContractError(f"{what}: expected a pyarrow Array, got {type(value).__name__}")
    if value.null_count:
        raise ContractError(f"{what}: contains {value.null_count} null value(s)")
    dtype = _NUMPY_TYPES.get(value.type)
    if dtype is None:
        raise ContractError(f"{what}: not a flat primitive array ({value.type})")
    data = value.buffers()[1]
    return np.frombuffer(data, dtype, count=len(value), offset=value.offset * dtype.itemsize)


def to_arrow(values: np.ndarray) -> pa.Array:
    """Flat numpy array -> Arrow array sharing its memory (no pandas import, no copy)."""
    flat = np.ascontiguousarray(values).reshape(-1)
    arrow_type = next(t for t, d in _NUMPY_TYPES.items() if d == flat.dtype)
    return pa.Array.from_buffers(arrow_type, len(flat), [None, pa.py_buffer(flat)])


def _text_array(text: str) -> pa.Array:
    data = text.encode()
    offsets = np.array([0, len(data)], np.int32)
    return pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _single_text(value: Any, what: str) -> str:
    """The one string of a one-element utf8 Arrow array."""
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if not isinstance(value, pa.Array) or not pa.types.is_string(value.type) or len(value) != 1:
        raise ContractError(f"{what}: expected one utf8 string, got {value!r:.80}")
    if value.null_count:
        raise ContractError(f"{what}: null string")
    start, end = np.frombuffer(value.buffers()[1], np.int32, 2, value.offset * 4)
    return value.buffers()[2].to_pybytes()[start:end].decode()


def warm_up() -> None:
    """Run every codec once: call before ``Node()`` so no lazy import stalls the event loop."""
    decode_joints(encode_joints(np.zeros(6, np.float32)))
    decode_ee_delta(encode_ee_delta(np.zeros(len(c.EE_DELTA_FIELDS), np.float32)))
    decode_control(encode_control(c.CONTROL_FINISH))
    for encoding in c.IMAGE_ENCODINGS:  # jpeg: imports Pillow now, not at the first image
        decode_image(*encode_image(np.zeros((2, 2, 3), np.uint8), encoding))
    decode_ack(encode_ack(0))
    decode_ee_target(encode_ee_target(np.array([0.2, 0.0, 0.1, 90.0, 0.0, 50.0], np.float32)))
    decode_ee_state(encode_ee_state(np.r_[np.zeros(3), 1, 0, 0, 0, np.zeros(3), 1, 0, 0, 0]))
    EpisodeStart.from_metadata(EpisodeStart(0, 0, "task", 0, c.DEFAULT_FPS).to_metadata())


# --- joint vectors ----------------------------------------------------------------------------
def validate_joints(values: np.ndarray, what: str = "joint vector") -> np.ndarray:
    """Check shape, finiteness and the contract's hard ranges; returns float32[6]."""
    arr = np.asarray(values)
    if arr.shape != (c.NUM_JOINTS,):
        raise ContractError(f"{what}: expected shape ({c.NUM_JOINTS},), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ContractError(f"{what}: expected float32, got {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        bad = [c.JOINT_NAMES[i] for i in np.flatnonzero(~np.isfinite(arr))]
        raise ContractError(f"{what}: non-finite value(s) for {', '.join(bad)}")
    arm = arr[: c.GRIPPER_INDEX]
    if np.any(np.abs(arm) > c.ARM_DEG_BOUND):
        i = int(np.argmax(np.abs(arm)))
        raise ContractError(
            f"{what}: {c.JOINT_NAMES[i]}={arm[i]:.1f} deg is outside ±{c.ARM_DEG_BOUND:.0f} deg"
            " (are these radians or raw servo ticks? the contract wants degrees)"
        )
    lo, hi = c.GRIPPER_RANGE
    grip = float(arr[c.GRIPPER_INDEX])
    if not lo <= grip <= hi:
        raise ContractError(f"{what}: gripper={grip:.2f} is outside {lo:.0f}..{hi:.0f}")
    return arr.astype(np.float32, copy=False)


def encode_joints(values: np.ndarray | list[float]) -> pa.Array:
    """Joint vector in so101 units -> float32[6] Arrow array (validated)."""
    return to_arrow(validate_joints(np.asarray(values, dtype=np.float32)))


def decode_joints(value: Any, what: str = c.ACTION) -> np.ndarray:
    """float32[6] Arrow array -> numpy float32[6] (validated, read-only view)."""
    arr = _as_numpy(value, what)
    if arr.dtype != np.float32:
        raise ContractError(f"{what}: expected float32, got {arr.dtype}")
    return validate_joints(arr, what)


# --- Cartesian jog ----------------------------------------------------------------------------
def validate_ee_delta(values: np.ndarray, what: str = c.EE_DELTA) -> np.ndarray:
    arr = np.asarray(values)
    n = len(c.EE_DELTA_FIELDS)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.floating):
        raise ContractError(f"{what}: expected float32[{n}], got {arr.dtype}{list(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ContractError(f"{what}: non-finite value(s)")
    if np.any(np.abs(arr[:3]) > c.EE_DELTA_LINEAR_BOUND):
        raise ContractError(f"{what}: linear speed above {c.EE_DELTA_LINEAR_BOUND} m/s")
    if np.any(np.abs(arr[3:5]) > c.EE_DELTA_ANGULAR_BOUND):
        raise ContractError(f"{what}: angular speed above {c.EE_DELTA_ANGULAR_BOUND} deg/s")
    lo, hi = c.GRIPPER_RANGE
    if not lo <= float(arr[5]) <= hi:
        raise ContractError(f"{what}: gripper={float(arr[5]):.2f} is outside {lo:.0f}..{hi:.0f}")
    return arr.astype(np.float32, copy=False)


def encode_ee_delta(values: np.ndarray | list[float]) -> pa.Array:
    return to_arrow(validate_ee_delta(np.asarray(values, dtype=np.float32)))


def decode_ee_delta(value: Any) -> np.ndarray:
    arr = _as_numpy(value, c.EE_DELTA)
    if arr.dtype != np.float32:
        raise ContractError(f"{c.EE_DELTA}: expected float32, got {arr.dtype}")
    return validate_ee_delta(arr)


# --- Cartesian target and end-effector state ----------------------------------------------------
def validate_ee_target(values: np.ndarray, what: str = c.EE_TARGET) -> np.ndarray:
    arr = np.asarray(values)
    n = len(c.EE_TARGET_FIELDS)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.floating):
        raise ContractError(f"{what}: expected float32[{n}], got {arr.dtype}{list(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ContractError(f"{what}: non-finite value(s)")
    if np.linalg.norm(arr[:3]) > c.EE_TARGET_POSITION_BOUND:
        raise ContractError(
            f"{what}: position {arr[:3].round(3).tolist()} is over "
            f"{c.EE_TARGET_POSITION_BOUND} m from the base (millimetres instead of metres?)"
        )
    if not -90.0 <= float(arr[3]) <= 90.0:
        raise ContractError(f"{what}: pitch_deg={float(arr[3]):.1f} is outside -90..90")
    lo, hi = c.GRIPPER_RANGE
    if not lo <= float(arr[5]) <= hi:
        raise ContractError(f"{what}: gripper={float(arr[5]):.2f} is outside {lo:.0f}..{hi:.0f}")
    return arr.astype(np.float32, copy=False)


def encode_ee_target(values: np.ndarray | list[float]) -> pa.Array:
    return to_arrow(validate_ee_target(np.asarray(values, dtype=np.float32)))


def decode_ee_target(value: Any) -> np.ndarray:
    arr = _as_numpy(value, c.EE_TARGET)
    if arr.dtype != np.float32:
        raise ContractError(f"{c.EE_TARGET}: expected float32, got {arr.dtype}")
    return validate_ee_target(arr)


@dataclass(frozen=True)
class EEState:
    """The tool centre point: pose (world frame) and its change since the previous frame."""

    position: np.ndarray  # xyz, m
    quat: np.ndarray  # wxyz; x axis = approach, y axis = jaw closing direction
    delta_position: np.ndarray
    delta_quat: np.ndarray  # wxyz, quat = delta_quat * previous quat

    def pose(self) -> np.ndarray:
        """Position + quaternion, 7 floats (the contract's pose layout)."""
        return np.r_[self.position, self.quat]


def encode_ee_state(values: np.ndarray) -> pa.Array:
    """float32[14] laid out as ``contract.EE_STATE_FIELDS``."""
    arr = np.asarray(values, dtype=np.float32)
    if arr.shape != (len(c.EE_STATE_FIELDS),) or not np.all(np.isfinite(arr)):
        raise ContractError(f"{c.EE_STATE}: expected finite float32[{len(c.EE_STATE_FIELDS)}]")
    return to_arrow(arr)


def decode_ee_state(value: Any) -> EEState:
    arr = _as_numpy(value, c.EE_STATE)
    if arr.dtype != np.float32 or arr.shape != (len(c.EE_STATE_FIELDS),):
        raise ContractError(f"{c.EE_STATE}: expected float32[{len(c.EE_STATE_FIELDS)}]")
    if not np.all(np.isfinite(arr)):
        raise ContractError(f"{c.EE_STATE}: non-finite value(s)")
    return EEState(arr[0:3], arr[3:7], arr[7:10], arr[10:14])


# --- credits ----------------------------------------------------------------------------------
def encode_ack(frame: int) -> pa.Array:
    return to_arrow(np.array([frame], np.int64))


def decode_ack(value: Any) -> int:
    arr = _as_numpy(value, c.ACK)
    if arr.dtype != np.int64 or arr.shape != (1,) or arr[0] < 0:
        raise ContractError(f"{c.ACK}: expected one non-negative int64 frame number")
    return int(arr[0])


# --- images -----------------------------------------------------------------------------------
def image_metadata(image: np.ndarray, encoding: str = c.IMAGE_ENCODING) -> dict[str, Any]:
    height, width = image.shape[:2]
    return {c.MD_HEIGHT: int(height), c.MD_WIDTH: int(width), c.MD_ENCODING: encoding}


def encode_image(
    image: np.ndarray, encoding: str = c.IMAGE_ENCODING, quality: int = c.DEFAULT_JPEG_QUALITY
) -> tuple[pa.Array, dict[str, Any]]:
    """HWC uint8 RGB image -> (flat uint8 Arrow array, its metadata).

    ``rgb8`` (default): the pixels themselves, sharing the image's memory. ``jpeg``: one JPEG file
    at ``quality`` (1-100), for links between machines (``contract.IMAGE_ENCODINGS``).
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ContractError(f"image: expected uint8 HxWx3, got {image.dtype}{list(image.shape)}")
    if encoding == c.IMAGE_ENCODING:
        return to_arrow(image), image_metadata(image)
    if encoding == c.IMAGE_ENCODING_JPEG:
        data = np.frombuffer(_jpeg_bytes(image, quality), np.uint8)
        return to_arrow(data), image_metadata(image, encoding)
    raise ContractError(
        f"image: unknown encoding {encoding!r} (known: {', '.join(c.IMAGE_ENCODINGS)})"
    )


def _jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    if isinstance(quality, bool) or not isinstance(quality, int | np.integer):
        raise ContractError(f"image: JPEG quality must be an integer 1-100, got {quality!r}")
    if not 1 <= quality <= 100:
        raise ContractError(f"image: JPEG quality {quality} is outside 1-100")
    from PIL import Image  # lazily: only senders and receivers of JPEG pay for Pillow

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(out, format="JPEG", quality=int(quality))
    return out.getvalue()


def decode_image(value: Any, metadata: dict[str, Any], what: str = "image") -> np.ndarray:
    """Flat uint8 Arrow array + metadata -> HxWx3 uint8 image, whatever its encoding.

    ``rgb8``: a zero-copy view of the message. ``jpeg``: the decoded pixels (a new array), after
    checking that they are the metadata's height x width.
    """
    try:
        height, width = int(metadata[c.MD_HEIGHT]), int(metadata[c.MD_WIDTH])
        encoding = metadata.get(c.MD_ENCODING, c.IMAGE_ENCODING)
    except (KeyError, TypeError, ValueError) as err:
        raise ContractError(f"{what}: metadata needs integer 'height' and 'width'") from err
    if encoding not in c.IMAGE_ENCODINGS:
        known = ", ".join(c.IMAGE_ENCODINGS)
        raise ContractError(f"{what}: encoding {encoding!r} is not one of {known}")
    if height <= 0 or width <= 0:
        raise ContractError(f"{what}: metadata size {height}x{width} is not an image")
    flat = _as_numpy(value, what)
    if flat.dtype != np.uint8:
        raise ContractError(f"{what}: expected uint8 bytes, got {flat.dtype}")
    if encoding == c.IMAGE_ENCODING_JPEG:
        return _decode_jpeg(flat, height, width, what)
    if flat.size != height * width * 3:
        raise ContractError(f"{what}: {flat.size} bytes do not make a {height}x{width}x3 image")
    return flat.reshape(height, width, 3)


def _decode_jpeg(data: np.ndarray, height: int, width: int, what: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        jpeg = Image.open(io.BytesIO(data), formats=["JPEG"])
    except UnidentifiedImageError as err:
        raise ContractError(f"{what}: {len(data)} bytes are not a JPEG file") from err
    except Exception as err:
        raise ContractError(f"{what}: corrupt JPEG ({len(data)} bytes): {err}") from err
    try:
        with jpeg:
            if jpeg.size != (width, height):  # from the header, before decoding anything
                raise ContractError(
                    f"{what}: JPEG is {jpeg.size[1]}x{jpeg.size[0]}, metadata says {height}x{width}"
                )
            pixels = np.asarray(jpeg if jpeg.mode == "RGB" else jpeg.convert("RGB"))
    except ContractError:
        raise
    except Exception as err:  # Pillow raises OSError, SyntaxError, ValueError, … on bad data
        raise ContractError(f"{what}: corrupt JPEG ({len(data)} bytes): {err}") from err
    if pixels.shape != (height, width, 3) or pixels.dtype != np.uint8:
        raise ContractError(f"{what}: JPEG decoded to {pixels.dtype}{list(pixels.shape)}")
    return pixels


# --- control ----------------------------------------------------------------------------------
def encode_control(command: str) -> pa.Array:
    if command not in c.CONTROL_COMMANDS:
        raise ContractError(f"control: unknown command {command!r}")
    return _text_array(command)


def decode_control(value: Any) -> str:
    command = _single_text(value, c.CONTROL)
    if command not in c.CONTROL_COMMANDS:
        known = ", ".join(sorted(c.CONTROL_COMMANDS))
        raise ContractError(f"control: unknown command {command!r} (known: {known})")
    return command


# --- text events (episode, status) -------------------------------------------------------------
def encode_text(text: str) -> pa.Array:
    return _text_array(text)


def decode_text(value: Any, what: str) -> str:
    return _single_text(value, what)


# --- privileged scene state ---------------------------------------------------------------------
def encode_scene(objects: dict[str, np.ndarray]) -> tuple[pa.Array, dict]:
    """Object poses (position xyz + quaternion wxyz, world frame) -> float32[7n] + names."""
    poses = [np.asarray(p, dtype=np.float32).reshape(c.POSE_SIZE) for p in objects.values()]
    flat = np.concatenate(poses) if poses else np.zeros(0, np.float32)
    return to_arrow(flat), {c.MD_SCENE_NAMES: ",".join(objects)}


def decode_scene(value: Any, metadata: dict[str, Any]) -> dict[str, np.ndarray]:
    """Object name -> pose (7 floats)."""
    flat = _as_numpy(value, c.SCENE)
    names_text = str(metadata.get(c.MD_SCENE_NAMES, ""))
    names = [n for n in names_text.split(",") if n]
    if flat.dtype != np.float32 or flat.size != c.POSE_SIZE * len(names):
        raise ContractError(f"{c.SCENE}: {flat.size} floats do not match objects {names}")
    if not np.all(np.isfinite(flat)):
        raise ContractError(f"{c.SCENE}: non-finite pose")
    return dict(zip(names, flat.reshape(-1, c.POSE_SIZE), strict=True))


# --- frame counters -----------------------------------------------------------------------------
@dataclass(frozen=True)
class FrameStamp:
    """The counters every per-tick output carries, so consumers can align streams and see gaps."""

    frame: int
    episode_index: int
    episode_frame: int
    sim_time: float
    phase: str

    def to_metadata(self) -> dict[str, Any]:
        return {
            c.MD_FRAME: self.frame,
            c.MD_EPISODE: self.episode_index,
            c.MD_EPISODE_FRAME: self.episode_frame,
            c.MD_SIM_TIME: self.sim_time,
            c.MD_PHASE: self.phase,
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> FrameStamp:
        try:
            return cls(
                frame=int(metadata[c.MD_FRAME]),
                episode_index=int(metadata[c.MD_EPISODE]),
                episode_frame=int(metadata[c.MD_EPISODE_FRAME]),
                sim_time=float(metadata[c.MD_SIM_TIME]),
                phase=str(metadata[c.MD_PHASE]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ContractError(f"metadata lacks the frame counters: {err}") from err


# --- commands: what a joint / Cartesian command is meant for -------------------------------------
@dataclass(frozen=True)
class CommandStamp:
    """Optional timing of an ACTION or EE_TARGET command (absent fields: "apply when it comes").

    ``for_frame``: the sim frame the command is meant for; ``planned_from``: the frame whose
    observation it was computed from (a planner's or policy's input).
    """

    for_frame: int | None = None
    planned_from: int | None = None

    def to_metadata(self) -> dict[str, Any]:
        md: dict[str, Any] = {}
        if self.for_frame is not None:
            md[c.MD_FOR_FRAME] = self.for_frame
        if self.planned_from is not None:
            md[c.MD_PLANNED_FROM] = self.planned_from
        return md

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> CommandStamp:
        try:
            for_frame, planned = metadata.get(c.MD_FOR_FRAME), metadata.get(c.MD_PLANNED_FROM)
            return cls(
                None if for_frame is None else int(for_frame),
                None if planned is None else int(planned),
            )
        except (TypeError, ValueError) as err:
            raise ContractError(f"command metadata: {err}") from err


# --- episode events -----------------------------------------------------------------------------
def _flag(value: Any, key: str) -> bool:
    """A boolean metadata field: a bool, or its text as dora may deliver it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ContractError(f"episode event: {key}={value!r} is not a boolean")


@dataclass(frozen=True)
class EpisodeStart:
    """EPISODE ``start``: the sim begins episode ``episode_index`` at ``frame``."""

    frame: int
    episode_index: int
    task: str
    seed: int
    fps: int
    randomization: str | None = None  # JSON object text, when the sim randomizes its scenes

    def to_metadata(self) -> dict[str, Any]:
        md = {
            c.MD_FRAME: self.frame,
            c.MD_EPISODE: self.episode_index,
            c.MD_TASK: self.task,
            c.MD_SEED: self.seed,
            c.MD_FPS: self.fps,
        }
        if self.randomization is not None:
            md[c.MD_RANDOMIZATION] = self.randomization
        return md

    @classmethod
    def from_metadata(cls, md: dict[str, Any]) -> EpisodeStart:
        try:
            event = cls(
                frame=int(md[c.MD_FRAME]),
                episode_index=int(md[c.MD_EPISODE]),
                task=str(md[c.MD_TASK]),
                seed=int(md[c.MD_SEED]),
                fps=int(md[c.MD_FPS]),
                randomization=md.get(c.MD_RANDOMIZATION),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ContractError(f"episode start event: bad or missing field {err}") from err
        if event.fps <= 0 or event.episode_index < 0:
            raise ContractError(
                f"episode start event: fps {event.fps}, index {event.episode_index}"
            )
        if event.randomization is not None:
            try:
                valid = isinstance(json.loads(event.randomization), dict)
            except (TypeError, ValueError):
                valid = False
            if not valid:
                raise ContractError("episode start event: randomization is not a JSON object")
        return event


@dataclass(frozen=True)
class EpisodeEnd:
    """EPISODE ``end``: episode ``episode_index`` ended after ``num_frames`` frames."""

    frame: int  # the sim frame counter when it ended (its next frame belongs to no episode)
    episode_index: int
    task: str
    seed: int
    fps: int
    success: bool
    reason: str  # one of contract.END_*
    num_frames: int
    sim_time: float
    wall_time: float
    last: bool  # the session ends after this episode

    @property
    def discarded(self) -> bool:
        return self.reason in c.DISCARDED_REASONS

    def to_metadata(self) -> dict[str, Any]:
        return {
            c.MD_FRAME: self.frame,
            c.MD_EPISODE: self.episode_index,
            c.MD_TASK: self.task,
            c.MD_SEED: self.seed,
            c.MD_FPS: self.fps,
            c.MD_SUCCESS: self.success,
            c.MD_END_REASON: self.reason,
            c.MD_NUM_FRAMES: self.num_frames,
            c.MD_SIM_TIME: self.sim_time,
            c.MD_WALL_TIME: self.wall_time,
            c.MD_LAST: self.last,
        }

    @classmethod
    def from_metadata(cls, md: dict[str, Any]) -> EpisodeEnd:
        try:
            event = cls(
                frame=int(md[c.MD_FRAME]),
                episode_index=int(md[c.MD_EPISODE]),
                task=str(md[c.MD_TASK]),
                seed=int(md[c.MD_SEED]),
                fps=int(md[c.MD_FPS]),
                success=_flag(md[c.MD_SUCCESS], c.MD_SUCCESS),
                reason=str(md[c.MD_END_REASON]),
                num_frames=int(md[c.MD_NUM_FRAMES]),
                sim_time=float(md[c.MD_SIM_TIME]),
                wall_time=float(md[c.MD_WALL_TIME]),
                last=_flag(md[c.MD_LAST], c.MD_LAST),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ContractError(f"episode end event: bad or missing field {err}") from err
        if event.reason not in c.END_REASONS or event.num_frames < 0:
            raise ContractError(
                f"episode end event: reason {event.reason!r}, {event.num_frames} frames"
            )
        return event


def encode_episode(event: EpisodeStart | EpisodeEnd) -> tuple[pa.Array, dict[str, Any]]:
    kind = c.EPISODE_START if isinstance(event, EpisodeStart) else c.EPISODE_END
    return _text_array(kind), event.to_metadata()


def decode_episode(value: Any, metadata: dict[str, Any]) -> EpisodeStart | EpisodeEnd:
    """An EPISODE message -> its typed event (ContractError when malformed)."""
    kind = _single_text(value, c.EPISODE)
    if kind == c.EPISODE_START:
        return EpisodeStart.from_metadata(metadata)
    if kind == c.EPISODE_END:
        return EpisodeEnd.from_metadata(metadata)
    raise ContractError(f"episode event {kind!r}: unknown kind (expected start or end)")


@dataclass
class SimStatus:
    """Fields of the STATUS message (JSON): progress and health of the simulator loop."""

    frame: int
    episode_index: int
    phase: str
    target_hz: float
    achieved_hz: float
    busy_ms: float  # mean wall time the sim spent on one tick (step, render, send)
    late_ticks: int
    wall_lag_s: float
    rejected_messages: int
    clipped_actions: int
    ik_failures: int
    held_ticks: int = 0  # ticks the sim waited for a lossless consumer (credits), sim time paused
    held_s: float = 0.0  # wall time spent holding
    eval_mode: str = c.REALTIME  # or c.LOCKSTEP: does the sim wait for every frame's command?

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SimStatus:
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError) as err:
            raise ContractError(f"status: not a SimStatus JSON: {err}") from err

"""Arrow encode/decode of contract messages, with validation.

Every decoder raises :class:`ContractError` (and nothing else) for a malformed message, so a node
can ``except ContractError``, log, reject and carry on. Payloads are flat Arrow arrays; decoders
return zero-copy numpy views where Arrow allows it (images from dora shared memory stay in place).
"""

from __future__ import annotations

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
    image, metadata = encode_image(np.zeros((2, 2, 3), np.uint8))
    decode_image(image, metadata)


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


# --- images -----------------------------------------------------------------------------------
def image_metadata(image: np.ndarray) -> dict[str, Any]:
    height, width = image.shape[:2]
    return {c.MD_HEIGHT: int(height), c.MD_WIDTH: int(width), c.MD_ENCODING: c.IMAGE_ENCODING}


def encode_image(image: np.ndarray) -> tuple[pa.Array, dict[str, Any]]:
    """HWC uint8 RGB image -> (flat uint8 Arrow array, its metadata)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ContractError(f"image: expected uint8 HxWx3, got {image.dtype}{list(image.shape)}")
    return to_arrow(image), image_metadata(image)


def decode_image(value: Any, metadata: dict[str, Any], what: str = "image") -> np.ndarray:
    """Flat uint8 Arrow array + metadata -> HxWx3 uint8 view (zero-copy)."""
    try:
        height, width = int(metadata[c.MD_HEIGHT]), int(metadata[c.MD_WIDTH])
        encoding = metadata.get(c.MD_ENCODING, c.IMAGE_ENCODING)
    except (KeyError, TypeError, ValueError) as err:
        raise ContractError(f"{what}: metadata needs integer 'height' and 'width'") from err
    if encoding != c.IMAGE_ENCODING:
        raise ContractError(f"{what}: encoding {encoding!r} is not {c.IMAGE_ENCODING!r}")
    flat = _as_numpy(value, what)
    if flat.dtype != np.uint8:
        raise ContractError(f"{what}: expected uint8 pixels, got {flat.dtype}")
    if flat.size != height * width * 3 or height <= 0 or width <= 0:
        raise ContractError(f"{what}: {flat.size} bytes do not make a {height}x{width}x3 image")
    return flat.reshape(height, width, 3)


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
@dataclass(frozen=True)
class Scene:
    """End-effector pose and object poses (position xyz + quaternion wxyz, world frame)."""

    ee: np.ndarray
    objects: dict[str, np.ndarray]


def encode_scene(ee_pose: np.ndarray, objects: dict[str, np.ndarray]) -> tuple[pa.Array, dict]:
    poses = [np.asarray(ee_pose, dtype=np.float32), *objects.values()]
    flat = np.concatenate([np.asarray(p, dtype=np.float32).reshape(c.POSE_SIZE) for p in poses])
    return to_arrow(flat), {c.MD_SCENE_NAMES: ",".join(objects)}


def decode_scene(value: Any, metadata: dict[str, Any]) -> Scene:
    flat = _as_numpy(value, c.SCENE)
    names_text = str(metadata.get(c.MD_SCENE_NAMES, ""))
    names = [n for n in names_text.split(",") if n]
    if flat.dtype != np.float32 or flat.size != c.POSE_SIZE * (1 + len(names)):
        raise ContractError(f"{c.SCENE}: {flat.size} floats do not match objects {names}")
    if not np.all(np.isfinite(flat)):
        raise ContractError(f"{c.SCENE}: non-finite pose")
    poses = flat.reshape(-1, c.POSE_SIZE)
    return Scene(ee=poses[0], objects=dict(zip(names, poses[1:], strict=True)))


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

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SimStatus:
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError) as err:
            raise ContractError(f"status: not a SimStatus JSON: {err}") from err

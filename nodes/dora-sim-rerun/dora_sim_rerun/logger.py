"""Contract messages -> Rerun entities, free of dora so it can be tested and benchmarked alone.

Rerun's time cursor is per thread: every method sets the frame and wall-clock time of the
message it logs, so the dora event thread and the image thread can both log safely.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import rerun as rr

from dora_sim import codec
from dora_sim import contract as c
from dora_sim_rerun import layout
from dora_sim_rerun.flow import GapCounter

STATE_COLOR = (31, 119, 180)
ACTION_COLOR = (255, 127, 14)
EE_COLOR = (230, 60, 60)
OBJECT_COLOR = (60, 160, 60)


@dataclass(frozen=True)
class Stamp:
    """When a message happened: the sim's frame and the wall clock it was sent at (ns)."""

    frame: int
    wall_ns: int

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> Stamp:
        """Only ``frame`` is required (episode and status events carry little else); the wall
        time is the sender's ``sent_at_ns`` where present, else now."""
        try:
            frame = int(metadata[c.MD_FRAME])
        except (KeyError, TypeError, ValueError) as err:
            raise codec.ContractError(f"metadata lacks an integer {c.MD_FRAME!r}") from err
        try:
            wall_ns = int(metadata.get(c.MD_SENT_AT) or time.time_ns())
        except (TypeError, ValueError) as err:
            raise codec.ContractError(f"metadata {c.MD_SENT_AT!r} is not an integer") from err
        return cls(frame, wall_ns)


@dataclass(frozen=True)
class ImageFrame:
    """A decoded camera image waiting for the logging thread (a view into dora shared memory)."""

    stamp: Stamp
    pixels: np.ndarray


class SimLogger:
    """Logs each contract message to the recording and counts, per stream, the frames missed."""

    def __init__(self, rec: rr.RecordingStream, jpeg_quality: int):
        self.rec = rec
        self.jpeg_quality = jpeg_quality
        self.gaps: dict[str, GapCounter] = {}
        self.cameras: list[str] = []
        self.kept_episodes = 0
        self.successes = 0

    def warm_up(self) -> None:
        """Pay one-time costs before the graph starts, not on the first frames while messages
        arrive (a stall then makes dora drop queued inputs): the codecs' first use, and PIL's
        JPEG encoder, which loads on the first compress (~0.15 s)."""
        codec.warm_up()
        if self.jpeg_quality:
            rr.Image(np.zeros((8, 8, 3), np.uint8), color_model="RGB").compress(self.jpeg_quality)

    def log_styles(self) -> None:
        """Static series names and colours: state and action of a joint share one plot."""
        for joint in c.JOINT_NAMES:
            for series, color in (
                (layout.STATE_SERIES, STATE_COLOR),
                (layout.ACTION_SERIES, ACTION_COLOR),
            ):
                self.rec.log(
                    layout.joint_path(joint, series),
                    rr.SeriesLines(names=series, colors=color),
                    static=True,
                )

    # --- time ----------------------------------------------------------------------------------
    def at(self, stamp: Stamp) -> None:
        self.rec.set_time(layout.TIMELINE_FRAME, sequence=stamp.frame)
        self.rec.set_time(layout.TIMELINE_WALL, timestamp=np.datetime64(stamp.wall_ns, "ns"))

    def accept(self, stream: str, stamp: Stamp) -> bool:
        """Count the frame on ``stream`` and set the time; False for a repeated frame."""
        gaps = self.gaps.setdefault(stream, GapCounter())
        if not gaps.accept(stamp.frame):
            return False
        self.at(stamp)
        return True

    # --- per-tick streams --------------------------------------------------------------------
    def joints(self, stream: str, value: Any, metadata: dict[str, Any]) -> None:
        """``observation.state`` or ``applied_action``: one scalar per joint."""
        joints = codec.decode_joints(value, stream)
        if not self.accept(stream, Stamp.from_metadata(metadata)):
            return
        series = layout.STATE_SERIES if stream == c.STATE else layout.ACTION_SERIES
        for joint, angle in zip(c.JOINT_NAMES, joints.tolist(), strict=True):
            self.rec.log(layout.joint_path(joint, series), rr.Scalars(angle))
        if stream == c.STATE and c.MD_SUCCESS in metadata:
            self.rec.log(layout.EPISODE_SUCCESS, rr.Scalars(float(bool(metadata[c.MD_SUCCESS]))))

    def ee_state(self, value: Any, metadata: dict[str, Any]) -> None:
        """The tool centre point (between the jaw pads)."""
        ee = codec.decode_ee_state(value)
        if not self.accept(c.EE_STATE, Stamp.from_metadata(metadata)):
            return
        self.rec.log(
            layout.SCENE_EE,
            rr.Points3D(ee.position, radii=0.008, colors=EE_COLOR, labels="gripper"),
        )

    def scene(self, value: Any, metadata: dict[str, Any]) -> None:
        objects = codec.decode_scene(value, metadata)
        if not self.accept(c.SCENE, Stamp.from_metadata(metadata)):
            return
        for name, pose in objects.items():
            self.rec.log(
                layout.object_path(name),
                rr.Points3D(pose[:3], radii=0.015, colors=OBJECT_COLOR, labels=name),
            )

    def image(self, camera: str, frame: ImageFrame) -> bool:
        """Log one camera image (called on the image thread); True if the camera is new."""
        new = camera not in self.cameras
        if new:
            self.cameras.append(camera)
        if self.accept(c.image_topic(camera), frame.stamp):
            image = rr.Image(frame.pixels, color_model="RGB")
            if self.jpeg_quality:
                self.rec.log(layout.camera_path(camera), image.compress(self.jpeg_quality))
            else:
                self.rec.log(layout.camera_path(camera), image)
        return new

    # --- events --------------------------------------------------------------------------------
    def episode(self, value: Any, metadata: dict[str, Any]) -> None:
        event = codec.decode_episode(value, metadata)
        self.at(Stamp.from_metadata(metadata))
        if isinstance(event, codec.EpisodeStart):
            self.rec.log(layout.EPISODE_TASK, rr.TextDocument(event.task))
            text = f"episode {event.episode_index} start: {event.task} (seed {event.seed})"
            self.rec.log(layout.EPISODE_EVENTS, rr.TextLog(text, level="INFO"))
        else:
            self.episode_end(event)

    def episode_end(self, event: codec.EpisodeEnd) -> None:
        verdict = "SUCCESS" if event.success else "failure"
        text = (
            f"episode {event.episode_index} end: {verdict} ({event.reason}), "
            f"{event.num_frames} frames, sim {event.sim_time:.2f} s / wall {event.wall_time:.2f} s"
        )
        if event.discarded:
            text += " — discarded"
        level = "INFO" if event.success else "WARN"
        self.rec.log(layout.EPISODE_EVENTS, rr.TextLog(text, level=level))
        if event.discarded:
            return
        self.kept_episodes += 1
        self.successes += int(event.success)
        self.rec.log(layout.EPISODE_RESULT, rr.Scalars(float(event.success)))
        self.rec.log(layout.EPISODE_SUCCESS_RATE, rr.Scalars(self.successes / self.kept_episodes))

    def status(self, value: Any, metadata: dict[str, Any]) -> None:
        status = codec.SimStatus.from_json(codec.decode_text(value, c.STATUS))
        self.at(Stamp.from_metadata(metadata))
        for field in layout.STATUS_FIELDS:
            self.rec.log(layout.status_path(field), rr.Scalars(float(getattr(status, field))))

    # --- drops ---------------------------------------------------------------------------------
    def log_drops(self) -> dict[str, tuple[int, int]]:
        """Log each stream's cumulative drop count at its newest frame; returns
        ``{stream: (dropped, seen)}``."""
        summary: dict[str, tuple[int, int]] = {}
        for stream, gaps in list(self.gaps.items()):
            if gaps.last is None:
                continue
            self.at(Stamp(gaps.last, time.time_ns()))
            self.rec.log(layout.dropped_path(stream), rr.Scalars(float(gaps.dropped)))
            summary[stream] = (gaps.dropped, gaps.seen)
        return summary

"""``dora_sim_so101``: the dora-sim MuJoCo SO-101 as a LeRobot ``Robot``.

Observations and actions are a real ``so101_follower``'s (``use_degrees=True``): joints
``shoulder_pan.pos`` … ``gripper.pos`` in degrees and 0-100, one HxWx3 uint8 image per camera.
They go through the simulator's own boundary conversion (``dora_sim.units``); nothing here
converts units.

The clock: ``get_observation`` returns the current frame without moving time; ``send_action``
applies the target and advances exactly ``1/fps`` s of sim time. One call pair is one dataset
frame of ``lerobot-record`` however slowly its loop runs, so ``frame_index/fps`` is true sim time
(the dora graph's clock rule, with LeRobot's loop as the tick).

Episodes: at each ``lerobot-record`` episode the scene is reset with ``seed + N`` (N = the
dataset's episode index, see :mod:`lerobot_robot_dora_sim.announcements`), and each episode's
outcome is logged when it ends. Every observation also carries ``success`` (1.0 while the task's
success predicate holds): LeRobot shows it in Rerun as ``observation.success`` and, since it is
not among :attr:`observation_features`, keeps it out of the dataset, whose features stay a real
follower's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lerobot.robots import Robot
from lerobot.utils.decorators import check_if_already_connected, check_if_not_connected

from dora_sim import codec
from dora_sim import contract as c
from lerobot_robot_dora_sim.announcements import AnnouncementListener, check_lerobot_record
from lerobot_robot_dora_sim.config_dora_sim_so101 import DoraSimSO101Config
from lerobot_robot_dora_sim.episodes import EpisodeTracker
from lerobot_robot_dora_sim.joints import (
    EE_KEYS,
    JOINT_FEATURES,
    ee_delta,
    is_ee_action,
    is_joint_action,
    to_features,
    to_vector,
)
from lerobot_robot_dora_sim.pace import PaceMonitor
from lerobot_robot_dora_sim.simulation import build_simulator, image_size

if TYPE_CHECKING:
    from dora_sim_mujoco.simulator import Simulator

log = logging.getLogger("lerobot_robot_dora_sim")
SUCCESS_KEY = "success"
_LOGGED_REJECTIONS = 5  # then every 100th


class DoraSimSO101(Robot):
    config_class = DoraSimSO101Config
    # The dataset's robot_type: the contract's ROBOT_TYPE, as the dora recorder writes it.
    name = c.ROBOT_TYPE

    def __init__(self, config: DoraSimSO101Config):
        super().__init__(config)
        self.config = config
        # Built now, not at connect: lerobot-record creates the dataset between the two, so a bad
        # task, camera or profile fails before anything is written.
        self.sim = self._build_sim()
        # lerobot-record sizes its image writer by len(robot.cameras).
        self.cameras = tuple(config.cameras)
        self.listener = AnnouncementListener()
        self.pace = PaceMonitor(config.fps, log.warning)
        self.episode: EpisodeTracker | None = None
        self.rejected_actions = 0
        self.clipped_actions = 0
        self._connected = False

    def _build_sim(self) -> Simulator:
        cfg = self.config
        return build_simulator(
            task=cfg.task,
            fps=cfg.fps,
            cameras=cfg.cameras,
            render_profile=cfg.render_profile,
            simulator=cfg.simulator,
            reset_arm=cfg.reset_arm,
        )

    # --- what a real follower declares ---------------------------------------------------------
    @property
    def observation_features(self) -> dict[str, type | tuple]:
        height, width = image_size(self.config.cameras)
        return {**JOINT_FEATURES, **{cam: (height, width, 3) for cam in self.config.cameras}}

    @property
    def action_features(self) -> dict[str, type]:
        return dict(JOINT_FEATURES)

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def is_calibrated(self) -> bool:
        return True  # simulated joints are exact: nothing to calibrate

    def calibrate(self) -> None:
        """Nothing to calibrate: the sim reads and takes so101 follower units directly."""

    def configure(self) -> None:
        """Nothing to configure beyond the config: the sim is built from it."""

    # --- session -------------------------------------------------------------------------------
    @check_if_already_connected
    def connect(self, calibrate: bool = True) -> None:
        check_lerobot_record()
        if self.sim.renderer is None and self.config.cameras:  # closed by a disconnect
            self.sim = self._build_sim()
        self.sim.reset(self.config.seed)
        self.listener.attach()
        self._connected = True
        height, width = image_size(self.config.cameras)
        log.info(
            "dora_sim_so101 connected: %s, cameras %s at %dx%d, 1/%d s of sim time per"
            " send_action, seed %d", self.config.task, ",".join(self.cameras) or "none",
            height, width, self.config.fps, self.config.seed,
        )  # fmt: skip

    @check_if_not_connected
    def disconnect(self) -> None:
        self._follow_announcements()
        self._end_episode()
        self.listener.detach()
        if self.rejected_actions or self.clipped_actions:
            log.warning(
                "%d action(s) rejected (malformed; the last good target was held), %d clipped"
                " to the joint limits",
                self.rejected_actions,
                self.clipped_actions,
            )
        self.sim.close()
        self._connected = False

    # --- the loop ------------------------------------------------------------------------------
    @check_if_not_connected
    def get_observation(self) -> dict:
        self._follow_announcements()
        obs: dict = to_features(self.sim.state())
        for camera in self.cameras:
            obs[camera] = self.sim.render(camera)  # a new array: LeRobot writes it asynchronously
        success = self.sim.success()
        if self.episode is not None:
            self.episode.observe(success)
        obs[SUCCESS_KEY] = float(success)
        return obs

    @check_if_not_connected
    def send_action(self, action: dict) -> dict[str, float]:
        """Apply a joint target (so101 follower units; or a keyboard_ee action, resolved by the
        sim's IK) and advance one tick. Returns the joint target actually applied (clipped to the
        joint limits). A malformed action is logged and the last good target held, as in the
        dora sim."""
        try:
            if is_joint_action(action):
                target = codec.validate_joints(to_vector(action), "action")
                self.clipped_actions += int(self.sim.set_action(target))
            elif is_ee_action(action):
                gripper = float(self.sim.target_contract()[c.GRIPPER_INDEX])
                cfg = self.config
                delta = ee_delta(action, gripper, ee_speed_m_s=cfg.ee_speed_m_s,
                                 gripper_speed=cfg.gripper_speed, fps=cfg.fps)  # fmt: skip
                self.sim.jog(codec.validate_ee_delta(delta))
            else:
                raise ValueError(
                    f"dora_sim_so101 takes {', '.join(c.MOTOR_FEATURE_NAMES)} (so101 follower"
                    f" units) or keyboard_ee's {', '.join(EE_KEYS)}[, gripper]; got"
                    f" {', '.join(sorted(action))}"
                )
        except codec.ContractError as err:
            self.rejected_actions += 1
            if self.rejected_actions <= _LOGGED_REJECTIONS or self.rejected_actions % 100 == 0:
                log.error("rejected action #%d: %s (holding the last good target)",
                          self.rejected_actions, err)  # fmt: skip
        self.sim.step()
        self.pace.step()
        return to_features(self.sim.target_contract())

    # --- lerobot-record's episodes --------------------------------------------------------------
    def _follow_announcements(self) -> None:
        for announcement in self.listener.drain():
            if announcement.kind == "start":
                self._start_episode(announcement.episode)
            elif announcement.kind == "rerecord":
                log.info("the episode will be re-recorded: its scene is replayed")
            else:  # the reset phase or the session's end: the episode is over
                self._end_episode()

    def _start_episode(self, index: int) -> None:
        self._end_episode()
        seed = self.config.seed + index
        self.sim.reset(seed)
        self.episode = EpisodeTracker(index=index, seed=seed, fps=self.config.fps)

    def _end_episode(self) -> None:
        if self.episode is not None:
            log.info("%s", self.episode.summary())
            self.episode = None

"""``--robot.type=dora_sim_so101``: the configuration LeRobot's CLIs parse for the simulated arm."""

from __future__ import annotations

from dataclasses import dataclass, field

from lerobot.robots import RobotConfig

from lerobot_robot_dora_sim.simulation import SimCameraConfig, default_cameras


@RobotConfig.register_subclass("dora_sim_so101")
@dataclass
class DoraSimSO101Config(RobotConfig):
    """A simulated SO-101 follower, in the units and with the features of a real one.

    ``--robot.cameras='{front: {height: 240, width: 320}, wrist: {height: 240, width: 320}}'``
    picks the rendered cameras (all of one size); ``{}`` renders none.
    """

    task: str = "pick-cube"  # pick-cube | table-cleanup (the dora sim's tasks)
    cameras: dict[str, SimCameraConfig] = field(default_factory=default_cameras)
    # Simulated seconds per send_action: keep it equal to lerobot-record's --dataset.fps and
    # lerobot-teleoperate's --fps (the robot warns when the loop runs faster than this).
    fps: int = 30
    # Episode n of a recording (LeRobot's dataset episode index) is reset with seed + n, as the
    # dora sim does; a re-recorded episode replays its scene.
    seed: int = 0
    render_profile: str = "fast"  # fast | full (see the dora sim's RENDER_PROFILE)
    simulator: str = "mujoco"
    # Move the arm to its home pose at each new episode. Off for a leader arm, which the
    # simulated follower mirrors anyway (as in the dora leader graphs).
    reset_arm: bool = False
    # keyboard_ee teleoperation: end-effector speed while an arrow/shift key is held, and how fast
    # the gripper opens or closes (0-100 units per second).
    ee_speed_m_s: float = 0.1
    gripper_speed: float = 100.0

    def __post_init__(self) -> None:
        # RobotConfig.__post_init__ only checks real cameras' width/height/fps; these cameras are
        # rendered every tick and have no fps of their own, so it is not called. Everything else
        # (task, camera names and sizes, profile) is checked when the simulator is built.
        if self.ee_speed_m_s <= 0 or self.gripper_speed <= 0:
            raise ValueError("ee_speed_m_s and gripper_speed must be positive")

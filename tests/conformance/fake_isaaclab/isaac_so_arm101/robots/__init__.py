"""The SO-101 articulation: joint names, order and limits of TheRobotStudio's so101_new_calib URDF
(the chain's link offsets are approximate)."""

from isaaclab.assets import ArticulationCfg
from isaaclab.sim import UrdfFileCfg

SO101_JOINTS = (
    ("shoulder_pan", "base_link", "shoulder_link", (0.0, 0.0, 0.062), "z", -1.91986, 1.91986),
    ("shoulder_lift", "shoulder_link", "upper_arm_link", (0.0, 0.0, 0.054), "y", -1.74533, 1.74533),
    ("elbow_flex", "upper_arm_link", "lower_arm_link", (0.028, 0.0, 0.113), "y", -1.69, 1.69),
    ("wrist_flex", "lower_arm_link", "wrist_link", (0.135, 0.0, 0.005), "y", -1.65806, 1.65806),
    ("wrist_roll", "wrist_link", "gripper_link", (0.0, 0.0, 0.0), "z", -2.74385, 2.84121),
    ("gripper", "gripper_link", "moving_jaw_so101_v1_link", (0.02, 0.019, -0.023), "z",
     -0.174533, 1.74533),
)  # fmt: skip

SO_ARM101_CFG = ArticulationCfg(
    spawn=UrdfFileCfg(asset_path="so_arm101.urdf", joints=SO101_JOINTS),
    init_state=ArticulationCfg.InitialStateCfg(
        joint_pos={
            "shoulder_pan": 0.0,
            "shoulder_lift": 0.0,
            "elbow_flex": 0.0,
            "wrist_flex": 1.57,
            "wrist_roll": 0.0,
            "gripper": 0.0,
        }
    ),
)

"""``dora-sim-leader calibrate``: LeRobot's own calibration flow, as ``lerobot-calibrate`` runs it.

Same prompts, same file (``<CALIBRATION_DIR>/<LEADER_ID>.json``), so a calibration made here is used
by ``lerobot-record --teleop.type=so101_leader`` and vice versa.
"""

from __future__ import annotations

import os

from dora_sim_leader import ports
from dora_sim_leader.config import LeaderConfig


def calibrate(config: LeaderConfig) -> int:
    if not config.port:
        print(ports.port_unset_message())
        return 2
    if not os.path.exists(config.port):
        print(ports.port_missing_message(config.port))
        return 2
    from dora_sim_leader.device import so_leader  # imports LeRobot, hence torch: seconds

    teleop = so_leader(config)
    try:
        teleop.connect(calibrate=False)
    except Exception as err:
        print(ports.connect_failure_message(config.port, err))
        return 2
    try:
        teleop.calibrate()
    except (ConnectionError, ValueError) as err:
        # A read that failed (LeRobot retries those of the range recording 5 times, the
        # homing read not at all), or a joint never moved.
        print(
            f"Calibration failed, nothing was saved: {err}\nRun `dora-sim-leader calibrate` again."
        )
        return 1
    finally:
        teleop.disconnect()
    print(f"Leader {config.id!r} calibrated: {config.calibration_path}")
    return 0

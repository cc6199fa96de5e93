"""Import LeRobot's SO-101 leader without torch: ~1.5 s and ~130 MB instead of ~10 s and ~1 GB.

``lerobot.teleoperators.so_leader`` reaches torch, accelerate, datasets and pandas through two
modules it barely uses: ``lerobot.utils.utils`` (for ``enter_pressed`` and ``move_cursor_up``, used
by the interactive range recording of calibration) and ``lerobot.processor`` (for the
``RobotAction`` type alias). In a process that runs only the leader we register stand-ins for those
two modules before importing; their contents are copies of LeRobot 0.4.4's. Never do this in a
process that also needs the real modules (tests, the recorder): pass ``lean=False`` there. If the
stand-ins stop sufficing (a LeRobot upgrade), the plain import is used instead, with a warning.
"""

from __future__ import annotations

import logging
import select
import sys
import types
from typing import Any

log = logging.getLogger(__name__)

STAND_IN_MODULES = ("lerobot.utils.utils", "lerobot.processor")


def _enter_pressed() -> bool:
    """LeRobot 0.4.4 ``lerobot.utils.utils.enter_pressed`` (POSIX branch)."""
    return bool(select.select([sys.stdin], [], [], 0)[0] and sys.stdin.readline().strip() == "")


def _move_cursor_up(lines: int) -> None:
    """LeRobot 0.4.4 ``lerobot.utils.utils.move_cursor_up``."""
    print(f"\033[{lines}A", end="")


def _install_stand_ins() -> None:
    utils = types.ModuleType("lerobot.utils.utils")
    utils.enter_pressed = _enter_pressed  # type: ignore[attr-defined]
    utils.move_cursor_up = _move_cursor_up  # type: ignore[attr-defined]
    processor = types.ModuleType("lerobot.processor")
    processor.RobotAction = dict[str, Any]  # type: ignore[attr-defined]
    sys.modules.update({utils.__name__: utils, processor.__name__: processor})


def _forget_lerobot() -> None:
    for name in [m for m in sys.modules if m == "lerobot" or m.startswith("lerobot.")]:
        del sys.modules[name]


def load_so_leader(lean: bool = True) -> tuple[type, type]:
    """``(SOLeader, SOLeaderTeleopConfig)`` from LeRobot, imported lean when possible."""
    if lean and not any(name in sys.modules for name in STAND_IN_MODULES):
        _install_stand_ins()
        try:
            from lerobot.teleoperators.so_leader import SOLeader, SOLeaderTeleopConfig
        except (ImportError, AttributeError) as err:
            log.warning("lean LeRobot import failed (%s); importing it whole (slower)", err)
            _forget_lerobot()
        else:
            return SOLeader, SOLeaderTeleopConfig
    from lerobot.teleoperators.so_leader import SOLeader, SOLeaderTeleopConfig

    return SOLeader, SOLeaderTeleopConfig

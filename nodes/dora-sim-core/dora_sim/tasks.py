"""Task specifications every simulator and planner shares: names, instructions, geometry.

A simulator builds its scene from these numbers and judges success by them; the scripted expert
plans from them and from the ``scene`` poses, so it drives any simulator that implements the
task. Pure data: no engine, no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

TABLE_Z = 0.0  # the arm's base stands on the table top (world z = 0)


@dataclass(frozen=True)
class Region:
    """An axis-aligned area of the table (metres, world frame) objects are placed in."""

    x: tuple[float, float]
    y: tuple[float, float]


@dataclass(frozen=True)
class PickCubeSpec:
    name: str = "pick-cube"
    description: str = "Pick up the cube and lift it"
    cube_half: float = 0.0125  # half side of the cube
    region: Region = Region(x=(0.17, 0.27), y=(-0.10, 0.10))
    lift_height: float = 0.05  # success: cube bottom this far above the table, held by the jaws


@dataclass(frozen=True)
class TableCleanupSpec:
    name: str = "table-cleanup"
    description: str = "Put the apples in the bin"
    apple_radius: float = 0.015
    max_apples: int = 3  # 2 to 3 apples per episode
    bin_inner: float = 0.055  # half side of the bin's floor
    bin_wall: float = 0.035  # wall height
    bin_region: Region = Region(x=(0.14, 0.18), y=(-0.20, -0.17))
    apple_region: Region = Region(x=(0.17, 0.28), y=(-0.04, 0.16))
    min_spacing: float = 0.06

    def in_bin(self, apple: tuple[float, float, float], bin_xy: tuple[float, float]) -> bool:
        """Whether an apple at ``apple`` (xyz) lies in the bin standing at ``bin_xy``."""
        inside = all(abs(apple[i] - bin_xy[i]) < self.bin_inner for i in (0, 1))
        return inside and apple[2] < TABLE_Z + self.bin_wall + self.apple_radius


PICK_CUBE = PickCubeSpec()
TABLE_CLEANUP = TableCleanupSpec()
TASK_SPECS = {spec.name: spec for spec in (PICK_CUBE, TABLE_CLEANUP)}

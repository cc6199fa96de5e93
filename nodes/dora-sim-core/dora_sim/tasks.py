"""Task specifications every simulator and planner shares: names, instructions, geometry.

A simulator builds its scene from these numbers and judges success by them; the scripted expert
plans from them and from the ``scene`` poses, so it drives any simulator that implements the
task. Each task publishes a distinct set of object names on ``scene`` (its ``signature``), so a
planner knows the task from the scene alone (:func:`spec_for_scene`). Pure data and plain
geometry: no engine, no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

TABLE_Z = 0.0  # the arm's base stands on the table top (world z = 0)
CUBE = "cube"  # the red cube: one body shared by every task that has one


@dataclass(frozen=True)
class Region:
    """An axis-aligned area of the table (metres, world frame) objects are placed in."""

    x: tuple[float, float]
    y: tuple[float, float]


def _horizontal(a: Iterable[float], b: Iterable[float]) -> float:
    (ax, ay, *_), (bx, by, *_) = a, b
    return math.hypot(ax - bx, ay - by)


@dataclass(frozen=True)
class PickCubeSpec:
    name: str = "pick-cube"
    description: str = "Pick up the cube and lift it"
    cube_half: float = 0.0125  # half side of the cube
    region: Region = Region(x=(0.17, 0.27), y=(-0.10, 0.10))
    lift_height: float = 0.05  # success: cube bottom this far above the table, held by the jaws
    signature: frozenset[str] = frozenset({CUBE})
    fixtures: tuple[str, ...] = ()


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
    signature: frozenset[str] = frozenset({"bin"})
    fixtures: tuple[str, ...] = ("bin",)

    def in_bin(self, apple: tuple[float, float, float], bin_xy: tuple[float, float]) -> bool:
        """Whether an apple at ``apple`` (xyz) lies in the bin standing at ``bin_xy``."""
        inside = all(abs(apple[i] - bin_xy[i]) < self.bin_inner for i in (0, 1))
        return inside and apple[2] < TABLE_Z + self.bin_wall + self.apple_radius


@dataclass(frozen=True)
class StackCubesSpec:
    """The red cube (``cube``) on top of the blue one (``blue_cube``), both on the table."""

    name: str = "stack-cubes"
    description: str = "Stack the red cube on the blue cube"
    cube_half: float = 0.0125  # both cubes
    region: Region = Region(x=(0.17, 0.27), y=(-0.12, 0.12))
    min_spacing: float = 0.07  # between the cubes' centres at reset
    signature: frozenset[str] = frozenset({CUBE, "blue_cube"})
    fixtures: tuple[str, ...] = ()

    def stacked(self, red: Iterable[float], blue: Iterable[float]) -> bool:
        """Red centre over blue's top face, resting on it; blue on the table."""
        red, blue = tuple(red), tuple(blue)
        on_top = abs(red[2] - blue[2] - 2 * self.cube_half) < 0.4 * self.cube_half
        on_table = blue[2] < TABLE_Z + 1.4 * self.cube_half
        return on_top and on_table and _horizontal(red, blue) < self.cube_half


@dataclass(frozen=True)
class PlaceInBowlSpec:
    """The cube into a bowl that stands at a random place on the table."""

    name: str = "place-in-bowl"
    description: str = "Put the cube in the bowl"
    cube_half: float = 0.0125
    cube_region: Region = Region(x=(0.17, 0.27), y=(-0.12, 0.12))
    bowl_region: Region = Region(x=(0.15, 0.27), y=(-0.18, 0.18))
    bowl_floor: float = 0.035  # radius of the flat floor
    bowl_rim: float = 0.06  # radius of the rim (walls flare out)
    bowl_height: float = 0.03
    min_spacing: float = 0.1  # cube centre to bowl centre at reset
    signature: frozenset[str] = frozenset({CUBE, "bowl"})
    fixtures: tuple[str, ...] = ("bowl",)

    def in_bowl(self, cube: Iterable[float], bowl_xy: Iterable[float]) -> bool:
        """Whether a cube centred at ``cube`` (xyz) lies in the bowl standing at ``bowl_xy``."""
        cube = tuple(cube)
        low = cube[2] < TABLE_Z + self.bowl_height + self.cube_half
        return low and _horizontal(cube, bowl_xy) < self.bowl_floor + self.cube_half


@dataclass(frozen=True)
class PushCubeSpec:
    """Slide the cube, on the table, onto a disc marked on the table (``target``)."""

    name: str = "push-cube"
    description: str = "Push the cube to the target"
    cube_half: float = 0.0125
    cube_region: Region = Region(x=(0.18, 0.26), y=(-0.09, 0.09))
    target_region: Region = Region(x=(0.15, 0.29), y=(-0.15, 0.15))
    distance: tuple[float, float] = (0.07, 0.12)  # cube to target at reset
    target_radius: float = 0.03  # the marked disc
    tolerance: float = 0.015  # success: cube centre this close to the target's centre
    signature: frozenset[str] = frozenset({CUBE, "target"})
    fixtures: tuple[str, ...] = ("target",)

    def on_target(self, cube: Iterable[float], target_xy: Iterable[float]) -> bool:
        """Cube centre on the target and resting on the table (pushed, not carried there)."""
        cube = tuple(cube)
        resting = cube[2] < TABLE_Z + 1.4 * self.cube_half
        return resting and _horizontal(cube, target_xy) < self.tolerance


TaskSpec = PickCubeSpec | TableCleanupSpec | StackCubesSpec | PlaceInBowlSpec | PushCubeSpec

PICK_CUBE = PickCubeSpec()
TABLE_CLEANUP = TableCleanupSpec()
STACK_CUBES = StackCubesSpec()
PLACE_IN_BOWL = PlaceInBowlSpec()
PUSH_CUBE = PushCubeSpec()
TASK_SPECS: dict[str, TaskSpec] = {
    spec.name: spec for spec in (PICK_CUBE, TABLE_CLEANUP, STACK_CUBES, PLACE_IN_BOWL, PUSH_CUBE)
}
FIXTURES = frozenset(name for spec in TASK_SPECS.values() for name in spec.fixtures)


def spec_for_scene(names: Iterable[str]) -> TaskSpec:
    """The task whose scene this is, from the object names it publishes: the task with the
    largest signature contained in them (``cube`` alone is pick-cube, ``cube`` + ``bowl`` is
    place-in-bowl…)."""
    present = set(names)
    matches = [spec for spec in TASK_SPECS.values() if spec.signature <= present]
    if not matches:
        raise ValueError(f"no task publishes the objects {sorted(present)}")
    return max(matches, key=lambda spec: len(spec.signature))

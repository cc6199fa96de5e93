"""Domain randomization profiles: the schema, the YAML/JSON loader and its checks.

A profile is a file of parameter groups (``configs/randomization/*.yaml``); each group is
re-sampled at its own ``frequency`` (``episode``, the default; ``step``; ``session``) and each
parameter is a range ``[min, max]`` sampled uniformly (a single number fixes it), or, for a
texture, a list of names to pick from. :data:`SCHEMA` is the list of every key, with the bounds
a value must respect; anything else is refused with a message that names the key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dora_sim.config import ConfigError
from dora_sim_mujoco.cameras import CAMERAS
from dora_sim_mujoco.textures import PATTERNS, PLAIN

FREQUENCIES = ("episode", "step", "session")
FREQUENCY = "frequency"
PROFILE_DIR = Path("configs") / "randomization"
SUFFIXES = (".yaml", ".yml", ".json")
TEXTURES = (*PATTERNS, PLAIN)


@dataclass(frozen=True)
class Param:
    """One key of a group: what it means and which values it accepts."""

    doc: str
    low: float | None = None  # smallest value allowed
    high: float | None = None  # largest value allowed
    positive: bool = False  # strictly above ``low`` (0): a mass or a gain cannot be 0
    integer: bool = False
    choices: tuple[str, ...] = ()  # a list of these names instead of a range


@dataclass(frozen=True)
class Range:
    low: float
    high: float


Value = Range | tuple[str, ...]

_SURFACE = {
    "texture": Param("textures to pick from", choices=TEXTURES),
    "texture_repeat": Param("texture repeats across the surface", low=0, positive=True),
    "hue": Param("hue of the colour, degrees", low=0, high=360),
    "saturation": Param("saturation of the colour", low=0, high=1),
    "value": Param("brightness of the colour", low=0, high=1),
}
_CAMERA = {
    "position": Param("metres added to the camera's position, per axis", low=-0.2, high=0.2),
    "rotation": Param("degrees turned about each camera axis", low=-30, high=30),
    "fovy": Param("degrees added to the vertical field of view", low=-40, high=40),
}
SCHEMA: dict[str, dict[str, Param]] = {
    "lights": {
        "position": Param("metres added to each light's position, per axis", low=-1, high=1),
        "intensity": Param("scale of each light's brightness", low=0, high=4),
        "color": Param("scale of each colour channel of each light (a tint)", low=0, high=1),
        "ambient": Param("ambient light level (the headlight)", low=0, high=1),
    },
    "table": _SURFACE,
    "floor": _SURFACE,
    "objects": {
        "hue_shift": Param("degrees added to each object's hue", low=-180, high=180),
        "saturation_scale": Param("scale of each object's colour saturation", low=0, high=4),
        "value_scale": Param("scale of each object's brightness", low=0, high=4),
    },
    **{f"cameras.{name}": _CAMERA for name in CAMERAS},  # written cameras: {front: …}
    "image_noise": {"std": Param("Gaussian pixel noise, grey levels (0-255)", low=0, high=64)},
    "object_physics": {
        "mass": Param("scale of each object's mass", low=0, positive=True),
        "friction": Param("scale of each object's sliding friction", low=0, positive=True),
        "size": Param("scale of each object's size", low=0.5, high=1.5),
    },
    "joints": {
        "damping": Param("scale of each arm joint's damping", low=0),
        "armature": Param("scale of each arm joint's armature (rotor inertia)", low=0),
    },
    "actuators": {"gain": Param("scale of each servo's position gain kp", low=0, positive=True)},
    "latency": {
        "ticks": Param(
            "commands reach the servos this many ticks late", low=0, high=10, integer=True
        ),
    },
}


GROUP_NAMES = ", ".join(dict.fromkeys(name.split(".")[0] for name in SCHEMA))


@dataclass(frozen=True)
class Group:
    name: str  # a SCHEMA key, e.g. "lights" or "cameras.front"
    frequency: str
    values: dict[str, Value]


@dataclass(frozen=True)
class RandomizationConfig:
    source: str  # the file it was read from
    groups: tuple[Group, ...]
    digest: str  # sha256 of the parsed profile: what a dataset's episodes were sampled from

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)


def parse(raw: Any, source: str) -> RandomizationConfig:
    """Check a loaded profile against :data:`SCHEMA`; :class:`ConfigError` names the key."""
    where = f"randomization profile {source}"
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{where}: expected a mapping of parameter groups ({GROUP_NAMES})")
    groups = []
    for name, body in _flatten_cameras(raw, where).items():
        if name not in SCHEMA:
            raise ConfigError(f"{where}: {name}: unknown group; known groups: {GROUP_NAMES}")
        groups.append(_group(name, body, where))
    canonical = json.dumps(
        [[g.name, g.frequency, {k: _plain(v) for k, v in g.values.items()}] for g in groups]
    )
    return RandomizationConfig(
        source, tuple(groups), hashlib.sha256(canonical.encode()).hexdigest()
    )


def load(path: Path) -> RandomizationConfig:
    """Read and check a YAML or JSON profile."""
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"randomization profile {path}: cannot read it: {err}") from err
    try:
        if path.suffix == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except ValueError as err:  # json.JSONDecodeError and yaml.YAMLError are ValueErrors
        raise ConfigError(
            f"randomization profile {path}: not valid {path.suffix[1:]}: {err}"
        ) from err
    return parse(raw, str(path))


def resolve(value: str, search_from: tuple[Path, ...]) -> Path:
    """The profile file for ``RANDOMIZATION=value``: a path, or a profile name looked up in
    ``configs/randomization/`` of the directories in ``search_from`` and their parents."""
    path = Path(value).expanduser()
    if path.suffix in SUFFIXES or "/" in value:
        if not path.is_file():
            raise ConfigError(f"RANDOMIZATION={value!r}: no such file")
        return path
    folders = [d / PROFILE_DIR for start in search_from for d in (start, *start.parents)]
    for folder in dict.fromkeys(folders):
        for suffix in SUFFIXES:
            if (folder / f"{value}{suffix}").is_file():
                return folder / f"{value}{suffix}"
    names = sorted({p.stem for f in folders if f.is_dir() for p in f.iterdir()
                    if p.suffix in SUFFIXES})  # fmt: skip
    raise ConfigError(
        f"RANDOMIZATION={value!r}: no profile of that name in configs/randomization "
        f"(profiles: {', '.join(names) or 'none found'}); give a profile name or a file path"
    )


def _flatten_cameras(raw: dict, where: str) -> dict[str, Any]:
    """``cameras: {front: {...}}`` becomes the group ``cameras.front``."""
    flat = {}
    for name, body in raw.items():
        if name != "cameras":
            flat[str(name)] = body
            continue
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: cameras: expected a mapping of camera names")
        shared = body.get(FREQUENCY)
        for camera, params in body.items():
            if camera == FREQUENCY:
                continue
            if f"cameras.{camera}" not in SCHEMA:
                raise ConfigError(f"{where}: cameras.{camera}: unknown camera; known cameras: "
                                  f"{', '.join(CAMERAS)}")  # fmt: skip
            if shared is not None and isinstance(params, dict):
                params = {FREQUENCY: shared, **params}
            flat[f"cameras.{camera}"] = params
    return flat


def _group(name: str, body: Any, where: str) -> Group:
    schema = SCHEMA[name]
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: {name}: expected a mapping of parameters ({_known(schema)})")
    frequency = body.get(FREQUENCY, "episode")
    if frequency not in FREQUENCIES:
        raise ConfigError(f"{where}: {name}.{FREQUENCY}: {frequency!r} is not one of "
                          f"{', '.join(FREQUENCIES)}")  # fmt: skip
    values: dict[str, Value] = {}
    for key, raw in body.items():
        if key == FREQUENCY:
            continue
        if key not in schema:
            raise ConfigError(f"{where}: {name}.{key}: unknown key; known keys of {name}: "
                              f"{FREQUENCY}, {_known(schema)}")  # fmt: skip
        values[key] = _value(f"{where}: {name}.{key}", schema[key], raw)
    if not values:
        raise ConfigError(f"{where}: {name}: no parameters ({_known(schema)})")
    return Group(name, frequency, values)


def _value(key: str, param: Param, raw: Any) -> Value:
    if param.choices:
        names = raw if isinstance(raw, list) else [raw]
        bad = [n for n in names if n not in param.choices]
        if not names or bad:
            raise ConfigError(f"{key}: expected a list of names from {', '.join(param.choices)}"
                              f" (got {raw!r})")  # fmt: skip
        return tuple(names)
    bounds = [raw, raw] if isinstance(raw, int | float) and not isinstance(raw, bool) else raw
    if (
        not isinstance(bounds, list)
        or len(bounds) != 2
        or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
    ):
        raise ConfigError(f"{key}: expected [min, max] or one number (got {raw!r})")  # fmt: skip
    low, high = float(bounds[0]), float(bounds[1])
    if low > high:
        raise ConfigError(f"{key}: min {low:g} is above max {high:g}")
    if param.integer and not (low.is_integer() and high.is_integer()):
        raise ConfigError(f"{key}: expected whole numbers (got {raw!r})")
    for bound in (low, high):
        if param.low is not None and (bound < param.low or (param.positive and bound <= 0)):
            relation = "above" if param.positive else "at least"
            raise ConfigError(f"{key}: {bound:g} is not allowed: {param.doc} must be {relation} "
                              f"{param.low:g}")  # fmt: skip
        if param.high is not None and bound > param.high:
            raise ConfigError(f"{key}: {bound:g} is not allowed: {param.doc} must be at most "
                              f"{param.high:g}")  # fmt: skip
    return Range(low, high)


def _plain(value: Value) -> Any:
    return [value.low, value.high] if isinstance(value, Range) else list(value)


def _known(schema: dict) -> str:
    return ", ".join(schema)

"""Node configuration from dora ``env:`` values and environment variables, with clear errors.

dora passes a node's ``env:`` block as environment variables, so one reader serves the YAML and the
user's shell (``NUM_EPISODES=5 dora run …``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
N = TypeVar("N", int, float)


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message says which and what is expected."""


def env_value(name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name}={raw!r}: expected {expected}") from err


def env_str(name: str, default: str) -> str:
    return env_value(name, default, str, "a string")


def _in_range(name: str, value: N, minimum: N | None, maximum: N | None) -> N:
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={value}: must be at most {maximum}")
    return value


def env_int(name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
    return _in_range(name, env_value(name, default, int, "an integer"), minimum, maximum)


def env_float(
    name: str, default: float, minimum: float | None = None, maximum: float | None = None
) -> float:
    return _in_range(name, env_value(name, default, float, "a number"), minimum, maximum)


def parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def env_bool(name: str, default: bool) -> bool:
    return env_value(name, default, parse_bool, "true/false (1/0)")


def env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated list; an empty string means an empty list."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ConfigError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def eval_mode() -> str:
    """``EVAL_MODE`` (realtime | lockstep) from the user's shell, else the graph's default.

    A graph states its default as ``EVAL_MODE_DEFAULT`` in a node's ``env:``: a YAML value of
    ``EVAL_MODE`` itself would override the shell, as every ``env:`` entry does.
    """
    from dora_sim import contract as c

    default = env_choice("EVAL_MODE_DEFAULT", c.EVAL_MODES, c.REALTIME)
    return env_choice("EVAL_MODE", c.EVAL_MODES, default)

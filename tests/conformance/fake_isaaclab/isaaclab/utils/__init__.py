"""Fake ``isaaclab.utils.configclass``: a dataclass whose class attributes become per-instance
copies (so ``cfg.terminations.time_out = None`` on one config never touches another)."""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
from typing import Any


def _replace(self: Any, **changes: Any) -> Any:
    return dataclasses.replace(self, **changes)


def configclass(cls: type) -> type:
    annotations = dict(inspect.get_annotations(cls))
    for name, value in list(vars(cls).items()):
        if name.startswith("__"):
            continue
        if name not in annotations:
            descriptor = isinstance(value, property | type | classmethod | staticmethod)
            if inspect.isroutine(value) or descriptor:
                continue
            annotations[name] = "Any"
        if not isinstance(value, dataclasses.Field):
            default = functools.partial(copy.deepcopy, value)
            setattr(cls, name, dataclasses.field(default_factory=default))
    cls.__annotations__ = annotations
    cls.replace = _replace
    return dataclasses.dataclass(cls)

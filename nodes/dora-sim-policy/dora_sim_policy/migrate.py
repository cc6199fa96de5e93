"""Checkpoints written by another LeRobot version: what the installed LeRobot cannot parse, fixed
openly before loading.

LeRobot parses checkpoints strictly. ``PreTrainedConfig.from_pretrained`` (draccus) rejects any
``config.json`` field that the policy's config class does not declare, and
``PolicyProcessorPipeline.from_pretrained`` resolves each processor step by its registry name and
passes the saved step config to the step's constructor as keyword arguments. Measured on
checkpoints saved by LeRobot 0.4.4, 0.5.1 and 0.6.1 (``tests/checkpoints/``) and on the config
classes of every release from 0.4.0 to 0.6.1, releases only *added* policy config fields (0.4.2
``rtc_config``; 0.4.3 ``use_peft``; 0.4.4 Diffusion/SmolVLA ``compile_model``, ``compile_mode``;
0.5.1 the pi0 family's relative actions; 0.6.0 ``pretrained_revision``; 0.6.1 Diffusion
``gradient_checkpointing``; the full table is in docs/policy.md), so an older checkpoint parses
as it is (missing fields take their defaults) and a newer one fails on the fields its release
added. One processor step was renamed: 0.5.x's ``delta_actions_processor`` is
``relative_actions_processor`` from 0.6.0 on.

:func:`migrate_checkpoint` compares the checkpoint's JSON files with the installed classes. When
they differ it writes corrected copies into a scratch directory, next to links to every other
file, and returns each change for the node to log and print in its start-up line:

- ``config.json``: fields that the installed config class does not declare are dropped, also
  inside nested dataclass fields (``rtc_config``, each ``input_features`` entry);
- ``policy_preprocessor.json`` / ``policy_postprocessor.json``: renamed step registry names are
  mapped to the installed name; step config keys that the step's constructor does not take are
  dropped. A step the installed LeRobot does not have at all is an error (leaving it out would
  change what the policy sees).

A dropped field is a setting the installed LeRobot does not have: the policy runs as that
LeRobot runs it. Nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import logging
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import draccus
from lerobot import __version__ as LEROBOT_VERSION
from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.factory import get_policy_class
from lerobot.processor import ProcessorStepRegistry
from lerobot.utils.constants import (
    POLICY_POSTPROCESSOR_DEFAULT_NAME,
    POLICY_PREPROCESSOR_DEFAULT_NAME,
)

log = logging.getLogger("dora-sim-policy")

CONFIG_FILE = "config.json"
PROCESSOR_FILES = (
    f"{POLICY_PREPROCESSOR_DEFAULT_NAME}.json",
    f"{POLICY_POSTPROCESSOR_DEFAULT_NAME}.json",
)
# Processor steps whose registry name changed: old name -> installed name (release of the change).
RENAMED_STEPS = {"delta_actions_processor": "relative_actions_processor"}  # 0.6.0


class MigrationError(ValueError):
    """A checkpoint that the installed LeRobot cannot load, even after migration."""


@dataclass(frozen=True)
class Change:
    file: str  # checkpoint file name
    what: str  # "dropped pretrained_revision", "renamed step a -> b", …

    def __str__(self) -> str:
        return f"{self.file}: {self.what}"


def migrate_checkpoint(checkpoint: Path, scratch: Path) -> tuple[Path, list[Change]]:
    """The directory to load from (``checkpoint`` itself, or ``scratch`` if anything had to change)
    and the changes made. ``scratch`` must be an empty directory that outlives the loading."""
    changes: list[Change] = []
    documents: dict[str, Any] = {}
    config = _read(checkpoint / CONFIG_FILE)
    documents[CONFIG_FILE], dropped = migrate_policy_config(config)
    changes += [Change(CONFIG_FILE, f"dropped {name}") for name in dropped]
    for filename in PROCESSOR_FILES:
        if (checkpoint / filename).is_file():
            documents[filename], step_changes = migrate_processor_config(
                _read(checkpoint / filename), filename
            )
            changes += step_changes
    if not changes:
        return checkpoint, []
    for entry in checkpoint.iterdir():
        target = scratch / entry.name
        if entry.name in documents:
            target.write_text(json.dumps(documents[entry.name], indent=4))
        else:
            target.symlink_to(entry.resolve())
    for change in changes:
        log.warning("checkpoint migrated for LeRobot %s: %s", LEROBOT_VERSION, change)
    return scratch, changes


def migrate_policy_config(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``config.json`` without the fields the installed config class does not declare."""
    policy_type = raw.get("type")
    if not isinstance(policy_type, str):
        raise MigrationError(f"{CONFIG_FILE} has no policy 'type': is this a LeRobot checkpoint?")
    try:
        config_class = PreTrainedConfig.get_choice_class(policy_type)
    except KeyError:
        known = ", ".join(sorted(PreTrainedConfig.get_known_choices()))
        raise MigrationError(
            f"policy type {policy_type!r} is not known to LeRobot {LEROBOT_VERSION}"
            f" (known: {known}); a newer LeRobot, or a lerobot_policy_* plugin package, may"
            " provide it"
        ) from None
    # Importing the policy's package registers its own processor steps (smolvla, pi0, …).
    get_policy_class(policy_type)
    migrated = json.loads(json.dumps(raw))
    dropped = _drop_unknown_fields(migrated, config_class, prefix="", skip=frozenset({"type"}))
    return migrated, dropped


def migrate_processor_config(
    raw: dict[str, Any], filename: str
) -> tuple[dict[str, Any], list[Change]]:
    """A processor pipeline JSON with renamed steps mapped and unknown step arguments dropped."""
    steps = raw.get("steps")
    if not isinstance(steps, list):
        return raw, []  # not a pipeline: LeRobot's own loader explains (and migrates pre-0.4 ones)
    migrated = json.loads(json.dumps(raw))
    changes: list[Change] = []
    known = set(ProcessorStepRegistry.list())
    for index, entry in enumerate(migrated["steps"]):
        name = entry.get("registry_name")
        if name is not None and name not in known and RENAMED_STEPS.get(name) in known:
            entry["registry_name"] = RENAMED_STEPS[name]
            changes.append(Change(filename, f"renamed step {name} -> {entry['registry_name']}"))
            name = entry["registry_name"]
        step_class = _step_class(entry, index, filename)
        accepted = _constructor_arguments(step_class)
        config = entry.get("config") or {}
        for key in [k for k in config if accepted is not None and k not in accepted]:
            del config[key]
            changes.append(Change(filename, f"dropped {name or step_class.__name__}.{key}"))
    return migrated, changes


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise MigrationError(f"{path} is missing: POLICY_PATH must hold a LeRobot checkpoint")
    return json.loads(path.read_text())


def _drop_unknown_fields(
    data: dict[str, Any], cls: type, prefix: str, skip: frozenset[str] = frozenset()
) -> list[str]:
    """Delete the keys of ``data`` that dataclass ``cls`` does not take, also in nested
    dataclass fields; returns their dotted names."""
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    dropped: list[str] = []
    for key in [k for k in data if k not in skip]:
        if key not in fields:
            del data[key]
            dropped.append(prefix + key)
            continue
        value = data[key]
        nested = _dataclass_in(hints[key])
        if nested is not None and isinstance(value, dict):
            dropped += _drop_unknown_fields(value, nested, f"{prefix}{key}.")
        entries = _dataclass_in_dict_values(hints[key])
        if entries is not None and isinstance(value, dict):
            for name, entry in value.items():
                if isinstance(entry, dict):
                    dropped += _drop_unknown_fields(entry, entries, f"{prefix}{key}.{name}.")
    return dropped


def _union_members(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def _dataclass_in(hint: Any) -> type | None:
    """The dataclass a field holds (``X`` or ``X | None``), unless draccus picks it by type."""
    for member in _union_members(hint):
        if (
            isinstance(member, type)
            and dataclasses.is_dataclass(member)
            and not issubclass(member, draccus.ChoiceRegistry)
        ):
            return member
    return None


def _dataclass_in_dict_values(hint: Any) -> type | None:
    """The dataclass of a ``dict[str, X]`` field's values (``input_features``: PolicyFeature)."""
    for member in _union_members(hint):
        if typing.get_origin(member) is dict:
            return _dataclass_in(typing.get_args(member)[1])
    return None


def _step_class(entry: dict[str, Any], index: int, filename: str) -> type:
    name = entry.get("registry_name")
    if name is not None:
        try:
            return ProcessorStepRegistry.get(name)
        except KeyError:
            raise MigrationError(
                f"{filename}: step {index} {name!r} is not a processor step of LeRobot"
                f" {LEROBOT_VERSION}; the checkpoint needs the LeRobot release that wrote it"
            ) from None
    path = str(entry.get("class", ""))
    module, _, class_name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), class_name)
    except (ImportError, AttributeError, ValueError) as err:
        raise MigrationError(
            f"{filename}: step {index} class {path!r} cannot be imported: {err}"
        ) from err


def _constructor_arguments(step_class: type) -> set[str] | None:
    """Keyword arguments the step's constructor takes (None: it takes any)."""
    parameters = inspect.signature(step_class).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}

"""Fake ``isaaclab.managers``: term configs and the action/observation/event/termination managers.

Term parsing follows Isaac Lab's ``ManagerBase``: the config is deep-copied, may be an object or a
dict, ``None`` terms are skipped, ``SceneEntityCfg`` parameters are resolved against the scene and
a term function's parameters must match ``params``.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Sequence
from typing import Any

import torch

from isaaclab.utils import configclass


def resolve_matching_names(
    keys: str | Sequence[str], names: Sequence[str], preserve_order: bool = False
) -> tuple[list[int], list[str]]:
    """Isaac Lab's ``string_utils.resolve_matching_names``: regex keys -> (indices, names)."""
    keys = [keys] if isinstance(keys, str) else list(keys)
    matches: list[tuple[int, int]] = []  # (key index, name index)
    for k, key in enumerate(keys):
        found = [i for i, name in enumerate(names) if re.fullmatch(key, name)]
        if not found:
            raise ValueError(
                f"Not all regular expressions are matched! Please check that the regular"
                f" expressions are correct: {key}: [] Available strings: {list(names)}"
            )
        matches.extend((k, i) for i in found)
    order = sorted(matches) if preserve_order else sorted(matches, key=lambda m: m[1])
    ids = [i for _, i in order]
    return ids, [names[i] for i in ids]


@configclass
class SceneEntityCfg:
    name: str = ""
    joint_names: Any = None
    body_names: Any = None
    joint_ids: Any = None
    body_ids: Any = None

    def resolve(self, scene: Any) -> None:
        entity = scene[self.name]  # KeyError -> ValueError like Isaac Lab
        if self.joint_names is not None:
            self.joint_ids, self.joint_names = entity.find_joints(self.joint_names)
        if self.body_names is not None:
            self.body_ids, self.body_names = entity.find_bodies(self.body_names)


@configclass
class ManagerTermBaseCfg:
    func: Any = None
    params: dict = {}


@configclass
class TerminationTermCfg(ManagerTermBaseCfg):
    time_out: bool = False


@configclass
class EventTermCfg(ManagerTermBaseCfg):
    mode: str = "reset"


@configclass
class ObservationTermCfg(ManagerTermBaseCfg):
    pass


@configclass
class ObservationGroupCfg:
    concatenate_terms: bool = True
    enable_corruption: bool = False


@configclass
class ActionTermCfg:
    class_type: Any = None
    asset_name: str = "robot"


class ManagerBase:
    def __init__(self, cfg: object, env: Any):
        self.cfg = copy.deepcopy(cfg)
        self._env = env
        if self.cfg:
            self._prepare_terms()

    @property
    def num_envs(self) -> int:
        return self._env.num_envs

    @property
    def device(self) -> str:
        return self._env.device

    def _items(self) -> list[tuple[str, Any]]:
        items = self.cfg.items() if isinstance(self.cfg, dict) else vars(self.cfg).items()
        return [(name, term) for name, term in items if term is not None]

    def _resolve_common_term_cfg(self, name: str, term: Any, min_argc: int = 1) -> None:
        if not isinstance(term, ManagerTermBaseCfg):
            raise TypeError(f"Configuration for the term '{name}' is not a ManagerTermBaseCfg.")
        for key, value in term.params.items():
            if isinstance(value, SceneEntityCfg):
                try:
                    value.resolve(self._env.scene)
                except KeyError as err:
                    raise ValueError(f"Error while parsing '{name}:{key}'. {err}") from err
        if not callable(term.func):
            raise AttributeError(f"The term '{name}' is not callable. Received: {term.func}")
        args = inspect.signature(term.func).parameters
        with_defaults = [a for a in args if args[a].default is not inspect.Parameter.empty]
        without = [a for a in args if args[a].default is inspect.Parameter.empty]
        ordered = without + with_defaults
        if len(ordered) > min_argc and set(ordered[min_argc:]) != set(
            list(term.params) + with_defaults
        ):
            raise ValueError(
                f"The term '{name}' expects mandatory parameters: {without[min_argc:]} and"
                f" optional parameters: {with_defaults}, but received: {list(term.params)}."
            )


class TerminationManager(ManagerBase):
    def __init__(self, cfg: object, env: Any):
        self._term_names: list[str] = []
        self._term_cfgs: list[TerminationTermCfg] = []
        super().__init__(cfg, env)
        self._term_dones = {
            name: torch.zeros(self.num_envs, device=self.device, dtype=torch.bool)
            for name in self._term_names
        }
        self._truncated_buf = torch.zeros(self.num_envs, device=self.device, dtype=torch.bool)
        self._terminated_buf = torch.zeros_like(self._truncated_buf)

    def _prepare_terms(self) -> None:
        for name, term in self._items():
            if not isinstance(term, TerminationTermCfg):
                raise TypeError(f"Configuration for the term '{name}' is not TerminationTermCfg.")
            self._resolve_common_term_cfg(name, term, min_argc=1)
            self._term_names.append(name)
            self._term_cfgs.append(term)

    @property
    def active_terms(self) -> list[str]:
        return self._term_names

    @property
    def dones(self) -> torch.Tensor:
        return self._truncated_buf | self._terminated_buf

    @property
    def time_outs(self) -> torch.Tensor:
        return self._truncated_buf

    @property
    def terminated(self) -> torch.Tensor:
        return self._terminated_buf

    def reset(self, env_ids: Any = None) -> dict[str, float]:
        env_ids = slice(None) if env_ids is None else env_ids
        return {
            f"Episode_Termination/{key}": torch.count_nonzero(done[env_ids]).item()
            for key, done in self._term_dones.items()
        }

    def compute(self) -> torch.Tensor:
        self._truncated_buf[:] = False
        self._terminated_buf[:] = False
        for name, term in zip(self._term_names, self._term_cfgs, strict=True):
            value = term.func(self._env, **term.params)
            if term.time_out:
                self._truncated_buf |= value
            else:
                self._terminated_buf |= value
            self._term_dones[name][:] = value
        return self._truncated_buf | self._terminated_buf

    def get_term(self, name: str) -> torch.Tensor:
        return self._term_dones[name]


class EventManager(ManagerBase):
    def __init__(self, cfg: object, env: Any):
        self._terms: dict[str, list[EventTermCfg]] = {}
        super().__init__(cfg, env)

    def _prepare_terms(self) -> None:
        for name, term in self._items():
            self._resolve_common_term_cfg(name, term, min_argc=2)
            self._terms.setdefault(term.mode, []).append(term)

    @property
    def available_modes(self) -> list[str]:
        return list(self._terms)

    def apply(self, mode: str, env_ids: torch.Tensor | None = None) -> None:
        for term in self._terms.get(mode, []):
            term.func(self._env, env_ids, **term.params)


class ObservationManager(ManagerBase):
    def __init__(self, cfg: object, env: Any):
        self._groups: dict[str, list[ObservationTermCfg]] = {}
        super().__init__(cfg, env)

    def _prepare_terms(self) -> None:
        for group_name, group in self._items():
            terms = [t for t in vars(group).values() if isinstance(t, ObservationTermCfg)]
            for term in terms:
                self._resolve_common_term_cfg(group_name, term, min_argc=1)
            self._groups[group_name] = terms

    def compute(self, update_history: bool = False) -> dict[str, torch.Tensor]:
        return {
            name: torch.cat([t.func(self._env, **t.params) for t in terms], dim=-1)
            for name, terms in self._groups.items()
        }


class ActionTerm:
    def __init__(self, cfg: ActionTermCfg, env: Any):
        self.cfg = cfg
        self._env = env
        self._asset = env.scene[cfg.asset_name]
        self.num_envs, self.device = env.num_envs, env.device

    @property
    def action_dim(self) -> int:
        raise NotImplementedError


class ActionManager(ManagerBase):
    def __init__(self, cfg: object, env: Any):
        self._terms: dict[str, ActionTerm] = {}
        super().__init__(cfg, env)
        self._action = torch.zeros(self.num_envs, self.total_action_dim, device=self.device)

    def _prepare_terms(self) -> None:
        for name, term_cfg in self._items():
            if not isinstance(term_cfg, ActionTermCfg):
                raise TypeError(f"Configuration for the term '{name}' is not an ActionTermCfg.")
            self._terms[name] = term_cfg.class_type(term_cfg, self._env)

    @property
    def active_terms(self) -> list[str]:
        return list(self._terms)

    @property
    def total_action_dim(self) -> int:
        return sum(term.action_dim for term in self._terms.values())

    @property
    def action(self) -> torch.Tensor:
        return self._action

    def get_term(self, name: str) -> ActionTerm:
        return self._terms[name]

    def process_action(self, action: torch.Tensor) -> None:
        if self.total_action_dim != action.shape[1]:
            raise ValueError(
                f"Invalid action shape, expected: {self.total_action_dim},"
                f" received: {action.shape[1]}."
            )
        self._action[:] = action.to(self.device)
        start = 0
        for term in self._terms.values():
            term.process_actions(action[:, start : start + term.action_dim])
            start += term.action_dim

    def apply_action(self) -> None:
        for term in self._terms.values():
            term.apply_actions()


__all__ = [
    "ActionManager",
    "ActionTerm",
    "ActionTermCfg",
    "EventManager",
    "EventTermCfg",
    "ObservationGroupCfg",
    "ObservationManager",
    "ObservationTermCfg",
    "SceneEntityCfg",
    "TerminationManager",
    "TerminationTermCfg",
    "resolve_matching_names",
]

"""Which contract stream feeds which policy input: the rename map, camera slots, and the check.

The graph provides ``observation.state`` (float32[6], so101 units) and one
``observation.images.<camera>`` per camera wired to the node (RGB, resized to the policy's size),
and takes ``action`` (float32[6], the same units and joint order). A policy declares its inputs in
its config (``input_features``). A rename map (the user's, else the one saved in the checkpoint's
preprocessor, else identity) maps the first onto the second. Policies that pad absent cameras
(SmolVLA's ``camera1..3`` slots) get the graph's cameras in wiring order in their unfilled slots,
and any slot still empty is left to the policy; every other policy needs every input it declares.
The action must have the contract's 6 values; a policy that names its action dimensions
(``action_feature_names``, the pi0 family) gets its columns put in the contract's joint order,
as ``lerobot-rollout`` orders them for the robot.
A mismatch raises :class:`FeatureError` listing what is expected and what is available, before
the graph starts: what ``lerobot-rollout`` checks against a robot, checked against the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from lerobot.configs.types import FeatureType, PolicyFeature

from dora_sim import contract as c

# Policy types whose models fill absent camera slots themselves (``empty_cameras`` / masks).
SLOTTED_POLICIES = frozenset({"smolvla", "pi0", "pi05"})


class FeatureError(ValueError):
    """Policy inputs that the graph cannot provide."""


@dataclass(frozen=True)
class FeatureMap:
    state: str  # the policy key fed by observation.state
    cameras: dict[str, str]  # contract image key -> policy key, in wiring order
    image_shapes: dict[str, tuple[int, ...]]  # policy key -> (C, H, W) the policy was trained on
    empty_slots: tuple[str, ...]  # policy cameras left empty (the policy pads them)
    unused: tuple[str, ...]  # contract keys wired to the node that the policy does not use
    action_columns: tuple[int, ...] = tuple(range(c.NUM_JOINTS))  # policy column per joint

    def describe(self) -> str:
        pairs = [f"{c.STATE}->{self.state}", *(f"{k}->{v}" for k, v in self.cameras.items())]
        text = ", ".join(pairs)
        if self.empty_slots:
            text += f"; empty slots {', '.join(self.empty_slots)}"
        if self.unused:
            text += f"; unused {', '.join(self.unused)}"
        if self.action_columns != tuple(range(c.NUM_JOINTS)):
            text += f"; action columns {list(self.action_columns)} in contract order"
        return text


def _describe(features: dict[str, PolicyFeature]) -> str:
    return (
        ", ".join(f"{k} {list(ft.shape) if ft.shape else '(image)'}" for k, ft in features.items())
        or "nothing"
    )


def map_features(
    policy_type: str,
    inputs: dict[str, PolicyFeature],
    available_cameras: list[str],
    rename_map: dict[str, str],
    *,
    action: PolicyFeature | None = None,
    action_names: list[str] | None = None,
    state_size: int = c.NUM_JOINTS,
) -> FeatureMap:
    """Map the graph's streams onto ``inputs``; raise :class:`FeatureError` on a mismatch.

    ``available_cameras`` are contract keys (``observation.images.front``) in wiring order;
    ``action`` is the policy's ``action`` output feature (None: not checked) and
    ``action_names`` its ``action_feature_names``, if it has them. The policy node passes both:
    see :func:`dora_sim_policy.engine.policy_features`.
    """
    available = {c.STATE: PolicyFeature(FeatureType.STATE, (state_size,))}
    available.update({k: PolicyFeature(FeatureType.VISUAL, ()) for k in available_cameras})
    problems: list[str] = []

    state_key = rename_map.get(c.STATE, c.STATE)
    state_ft = inputs.get(state_key)
    if state_ft is None or state_ft.type is not FeatureType.STATE:
        problems.append(f"no STATE input named {state_key!r}")
    elif tuple(state_ft.shape) != (state_size,):
        problems.append(
            f"{state_key} has shape {list(state_ft.shape)} but the contract's observation.state"
            f" has [{state_size}] ({', '.join(c.MOTOR_FEATURE_NAMES)})"
        )
    others = [
        k for k, ft in inputs.items() if ft.type not in (FeatureType.STATE, FeatureType.VISUAL)
    ]
    others += [k for k, ft in inputs.items() if ft.type is FeatureType.STATE and k != state_key]
    problems += [f"{key} ({inputs[key].type.value}) has no source in the graph" for key in others]

    visual = [k for k, ft in inputs.items() if ft.type is FeatureType.VISUAL]
    problems += [
        f"{key} has shape {list(inputs[key].shape)} but the graph's cameras are RGB images"
        " ([3, height, width] once resized)"
        for key in visual
        if len(inputs[key].shape) != 3 or inputs[key].shape[0] != 3
    ]
    cameras = {key: rename_map.get(key, key) for key in available_cameras}
    slotted = policy_type in SLOTTED_POLICIES
    if slotted:  # fill SmolVLA-style slots in order with the cameras that have no slot yet
        free = [k for k in visual if k not in cameras.values()]
        for key in [k for k, target in cameras.items() if target not in visual]:
            if free:
                cameras[key] = free.pop(0)
    unused = tuple(k for k, target in cameras.items() if target not in visual)
    cameras = {k: v for k, v in cameras.items() if v in visual}
    targets = list(cameras.values())
    problems += [
        f"{target} would be fed by {' and '.join(k for k, v in cameras.items() if v == target)}"
        for target in sorted({t for t in targets if targets.count(t) > 1})
    ]
    empty = tuple(k for k in visual if k not in cameras.values())
    if empty and not (slotted and cameras):
        need = "at least one camera" if slotted else "every camera"
        problems.append(
            f"camera input(s) {', '.join(empty)} have no source (the policy needs {need})"
        )
    columns, action_problems = _action_columns(action, action_names)
    problems += action_problems
    if problems:
        raise FeatureError(
            f"the policy's inputs do not match the graph: {'; '.join(problems)}.\n"
            f"  policy expects: {_describe(inputs)};"
            f" returns {_describe_action(action, action_names)}\n"
            f"  graph provides: {_describe(available)}; takes action [{c.NUM_JOINTS}]"
            f" ({', '.join(c.MOTOR_FEATURE_NAMES)})\n"
            f"  rename map:     {rename_map or 'none'}\n"
            "Wire the missing camera(s) to the policy node (and list them in the sim's CAMERAS),"
            " or map them with RENAME_MAP=<contract key>=<policy key>,…; a state or action of"
            " another size means a policy trained for another robot (train on a dora-sim or"
            " SO-101 follower dataset)."
        )
    return FeatureMap(
        state=state_key,
        cameras=cameras,
        image_shapes={k: tuple(inputs[k].shape) for k in visual},
        empty_slots=empty,
        unused=unused,
        action_columns=columns,
    )


def _action_columns(
    action: PolicyFeature | None, names: list[str] | None
) -> tuple[tuple[int, ...], list[str]]:
    """The policy's action column for each contract joint, and what prevents the mapping."""
    identity = tuple(range(c.NUM_JOINTS))
    if action is None:
        return identity, []
    if tuple(action.shape) != (c.NUM_JOINTS,):
        return identity, [f"its action has shape {list(action.shape)}, not [{c.NUM_JOINTS}]"]
    if not names:
        return identity, []
    if sorted(names) != sorted(c.MOTOR_FEATURE_NAMES):
        return identity, [f"its action_feature_names {list(names)} are not the contract's joints"]
    return tuple(list(names).index(name) for name in c.MOTOR_FEATURE_NAMES), []


def _describe_action(action: PolicyFeature | None, names: list[str] | None) -> str:
    if action is None:
        return "an action"
    return f"action {list(action.shape)}" + (f" ({', '.join(names)})" if names else "")

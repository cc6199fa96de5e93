"""Seeded domain randomization of a compiled MuJoCo scene: sample a profile's groups, apply them.

Every group of a :class:`~dora_sim_mujoco.randomization_config.RandomizationConfig` is sampled
from a generator of its own, seeded by ``(seed, crc32(group name))``: the values of episode
``seed`` are a pure function of the seed and the profile (adding a group to a profile does not
change the others'). ``episode`` groups are drawn at each reset; ``session`` groups at the first
reset of the simulator (from that episode's seed) and kept; ``step`` groups at each reset and
again after every tick, from a stream seeded at the reset. Each draw is applied from the
model's nominal values, so nothing drifts; the draws of the reset are :meth:`record`-ed for the
dataset (for ``step`` groups those of the episode's first frame).

Only model fields change at run time (colours, texture indices, light and camera poses, masses,
sizes, gains…): no recompilation and no texture upload.
"""

from __future__ import annotations

import colorsys
import zlib
from collections.abc import Callable
from typing import Any

import mujoco
import numpy as np

from dora_sim.poses import quat_multiply
from dora_sim_mujoco.randomization_config import Group, RandomizationConfig, Range
from dora_sim_mujoco.textures import PLAIN, texture_name

ARM_DOFS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
NOISE_SPARE = 8192  # extra noise samples: each frame reads the bank at a random offset
Sample = dict[str, Any]  # "<target>.<parameter>" -> float, list of floats, int or name


def _uniform(rng: np.random.Generator, value: Range, n: int | None = None) -> Any:
    if n is None:
        return float(rng.uniform(value.low, value.high))
    return [float(v) for v in rng.uniform(value.low, value.high, n)]


def _axis_quat(axis: int, degrees: float) -> np.ndarray:
    half = np.deg2rad(degrees) / 2
    quat = np.zeros(4)
    quat[0], quat[1 + axis] = np.cos(half), np.sin(half)
    return quat


class Randomizer:
    """Applies a profile to ``model``; ``bodies`` are the task's objects (colours, physics)."""

    def __init__(
        self,
        model: mujoco.MjModel,
        config: RandomizationConfig,
        bodies: tuple[str, ...],
        image_shape: tuple[int, int],
    ):
        self.model = model
        self.config = config
        self.bodies = bodies
        self.free_bodies = tuple(b for b in bodies if model.body(b).jntnum[0] > 0)
        self.dofs = np.array([model.joint(name).dofadr[0] for name in ARM_DOFS])
        self.nominal = {
            field: getattr(model, field).copy()
            for field in ("light_pos", "light_diffuse", "mat_rgba", "mat_texid", "mat_texrepeat",
                          "geom_rgba", "geom_size", "geom_pos", "geom_rbound", "geom_aabb",
                          "geom_friction", "body_mass", "body_inertia", "dof_damping",
                          "dof_armature", "actuator_gainprm", "actuator_biasprm", "cam_pos",
                          "cam_quat", "cam_fovy")
        }  # fmt: skip
        self.nominal_ambient = model.vis.headlight.ambient.copy()
        self.samplers: dict[str, tuple[Callable, Callable]] = {
            "lights": (self._sample_lights, self._apply_lights),
            "table": (self._sample_surface, self._apply_surface),
            "floor": (self._sample_surface, self._apply_surface),
            "objects": (self._sample_objects, self._apply_objects),
            "image_noise": (self._sample_noise, self._apply_noise),
            "object_physics": (self._sample_physics, self._apply_physics),
            "joints": (self._sample_joints, self._apply_joints),
            "actuators": (self._sample_actuators, self._apply_actuators),
            "latency": (self._sample_latency, self._apply_latency),
        }
        self.samplers.update({
            g.name: (self._sample_camera, self._apply_camera)
            for g in config.groups if g.name.startswith("cameras.")
        })  # fmt: skip
        self.session_seed: int | None = None
        self.current: dict[str, Sample] = {}  # group -> the values applied now
        self.recorded: dict[str, Sample] = {}  # group -> the values of the episode's reset
        self.step_rngs: dict[str, np.random.Generator] = {}
        self.latency = 0  # ticks (the simulator delays its targets by this much)
        self.noise_std = 0.0
        self.pixels = image_shape[0] * image_shape[1] * 3
        self.noise_rng = np.random.default_rng(0)
        self.noise_bank = np.zeros(0, np.float32)
        self.noise_add = self.noise_sub = self.noise_cap = np.zeros(0, np.uint8)

    # --- when ----------------------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        """Draw and apply the values of the episode of ``seed`` (call before placing objects)."""
        if self.session_seed is None:
            self.session_seed = seed
        for group in self.config.groups:
            if group.frequency == "session" and group.name in self.current:
                continue
            base = self.session_seed if group.frequency == "session" else seed
            rng = self._rng(base, group.name)
            if group.frequency == "step":
                self.step_rngs[group.name] = rng
            self._draw(group, rng)
        self.recorded = {name: dict(values) for name, values in self.current.items()}
        if self.config.group("image_noise") is not None:
            self.noise_rng = self._rng(seed, "image_noise.pixels")
            self.noise_bank = self.noise_rng.standard_normal(self.pixels + NOISE_SPARE, np.float32)
            self._scale_noise()

    def step(self, data: mujoco.MjData) -> None:
        """After a tick: draw the ``step`` groups for the next frame."""
        if not self.step_rngs:
            return
        for group in self.config.groups:
            if group.frequency == "step":
                self._draw(group, self.step_rngs[group.name])
        if "image_noise" in self.step_rngs:
            self._scale_noise()
        mujoco.mj_camlight(self.model, data)  # moved lights and cameras show in the next frame

    def record(self) -> dict[str, Any]:
        """The episode's values, as stored with the dataset (JSON-ready)."""
        return {
            "profile": self.config.source,
            "digest": self.config.digest,
            "frequency": {g.name: g.frequency for g in self.config.groups},
            "values": {f"{group}.{key}": value for group, values in self.recorded.items()
                       for key, value in values.items()},
        }  # fmt: skip

    def add_noise(self, image: np.ndarray) -> None:
        """Gaussian pixel noise at this episode's level, in place, saturating at 0 and 255.

        A window of a per-episode bank at a random offset, added as uint8 in four passes
        (~0.3 ms for 240x320): drawing fresh Gaussian noise costs ~3 ms a frame.
        """
        if self.noise_std <= 0:
            return
        flat = image.reshape(-1)
        start = int(self.noise_rng.integers(0, NOISE_SPARE))
        window = slice(start, start + flat.size)
        np.minimum(flat, self.noise_cap[window], out=flat)
        flat += self.noise_add[window]
        np.maximum(flat, self.noise_sub[window], out=flat)
        flat -= self.noise_sub[window]

    # --- sampling and applying ---------------------------------------------------------------
    @staticmethod
    def _rng(seed: int, name: str) -> np.random.Generator:
        return np.random.default_rng([seed, zlib.crc32(name.encode())])

    def _draw(self, group: Group, rng: np.random.Generator) -> None:
        sample, apply = self.samplers[group.name]
        values = sample(group, rng)
        apply(group, values)
        self.current[group.name] = values

    def _sample_lights(self, group: Group, rng: np.random.Generator) -> Sample:
        out: Sample = {}
        for i in range(self.model.nlight):
            name = self.model.light(i).name or f"light{i}"
            for key, n in (("position", 3), ("intensity", None), ("color", 3)):
                if key in group.values:
                    out[f"{name}.{key}"] = _uniform(rng, group.values[key], n)
        if "ambient" in group.values:
            out["ambient"] = _uniform(rng, group.values["ambient"])
        return out

    def _apply_lights(self, group: Group, values: Sample) -> None:
        model, nominal = self.model, self.nominal
        for i in range(model.nlight):
            name = model.light(i).name or f"light{i}"
            model.light_pos[i] = nominal["light_pos"][i] + values.get(f"{name}.position", 0.0)
            tint = np.asarray(values.get(f"{name}.color", 1.0))
            model.light_diffuse[i] = (
                nominal["light_diffuse"][i] * values.get(f"{name}.intensity", 1.0) * tint
            )
        ambient = values.get("ambient")
        model.vis.headlight.ambient = self.nominal_ambient if ambient is None else [ambient] * 3

    def _sample_surface(self, group: Group, rng: np.random.Generator) -> Sample:
        out: Sample = {}
        if "texture" in group.values:
            choices = group.values["texture"]
            out["texture"] = choices[int(rng.integers(len(choices)))]
        if "texture_repeat" in group.values:
            out["texture_repeat"] = _uniform(rng, group.values["texture_repeat"])
        for key in ("hue", "saturation", "value"):
            if key in group.values:
                out[key] = _uniform(rng, group.values[key])
        return out

    def _apply_surface(self, group: Group, values: Sample) -> None:
        model, nominal = self.model, self.nominal
        mat = model.material(group.name).id  # the table's or the floor's material
        rgba = nominal["mat_rgba"][mat].copy()
        if {"hue", "saturation", "value"} & values.keys():
            hsv = colorsys.rgb_to_hsv(*rgba[:3])
            rgba[:3] = colorsys.hsv_to_rgb(
                values.get("hue", hsv[0] * 360) / 360,
                values.get("saturation", hsv[1]),
                values.get("value", hsv[2]),
            )
        model.mat_rgba[mat] = rgba
        texid = nominal["mat_texid"][mat].copy()
        if "texture" in values:
            pattern = values["texture"]
            texid[mujoco.mjtTextureRole.mjTEXROLE_RGB] = (
                -1 if pattern == PLAIN else model.texture(texture_name(pattern)).id
            )
        model.mat_texid[mat] = texid
        repeat = values.get("texture_repeat")
        model.mat_texrepeat[mat] = nominal["mat_texrepeat"][mat] if repeat is None else repeat

    def _sample_objects(self, group: Group, rng: np.random.Generator) -> Sample:
        out: Sample = {}
        for body in self.bodies:
            for key in ("hue_shift", "saturation_scale", "value_scale"):
                if key in group.values:
                    out[f"{body}.{key}"] = _uniform(rng, group.values[key])
        return out

    def _apply_objects(self, group: Group, values: Sample) -> None:
        model = self.model
        for body in self.bodies:
            shift = values.get(f"{body}.hue_shift", 0.0) / 360
            saturation = values.get(f"{body}.saturation_scale", 1.0)
            value = values.get(f"{body}.value_scale", 1.0)
            for geom in self._geoms(body):
                h, s, v = colorsys.rgb_to_hsv(*self.nominal["geom_rgba"][geom][:3])
                model.geom_rgba[geom][:3] = colorsys.hsv_to_rgb(
                    (h + shift) % 1.0, min(1.0, s * saturation), min(1.0, v * value)
                )

    def _sample_camera(self, group: Group, rng: np.random.Generator) -> Sample:
        out: Sample = {}
        for key, n in (("position", 3), ("rotation", 3), ("fovy", None)):
            if key in group.values:
                out[key] = _uniform(rng, group.values[key], n)
        return out

    def _apply_camera(self, group: Group, values: Sample) -> None:
        """Applied only where the scene has the camera (the values do not depend on it)."""
        camera = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, group.name[8:])
        if camera < 0:
            return
        model, nominal = self.model, self.nominal
        model.cam_pos[camera] = nominal["cam_pos"][camera] + values.get("position", 0.0)
        quat = nominal["cam_quat"][camera]
        for axis, degrees in enumerate(values.get("rotation", (0.0, 0.0, 0.0))):
            quat = quat_multiply(quat, _axis_quat(axis, degrees))
        model.cam_quat[camera] = quat / np.linalg.norm(quat)
        model.cam_fovy[camera] = nominal["cam_fovy"][camera] + values.get("fovy", 0.0)

    def _sample_noise(self, group: Group, rng: np.random.Generator) -> Sample:
        return {"std": _uniform(rng, group.values["std"])}

    def _apply_noise(self, group: Group, values: Sample) -> None:
        self.noise_std = values["std"]  # scaled into the bank by reset() and step()

    def _scale_noise(self) -> None:
        noise = np.clip(np.rint(self.noise_bank * self.noise_std), -255, 255).astype(np.int16)
        self.noise_add = np.maximum(noise, 0).astype(np.uint8)
        self.noise_sub = np.maximum(-noise, 0).astype(np.uint8)
        self.noise_cap = 255 - self.noise_add

    def _sample_physics(self, group: Group, rng: np.random.Generator) -> Sample:
        out: Sample = {}
        for body in self.free_bodies:
            for key in ("mass", "friction", "size"):
                if key in group.values:
                    out[f"{body}.{key}"] = _uniform(rng, group.values[key])
        return out

    def _apply_physics(self, group: Group, values: Sample) -> None:
        model, nominal = self.model, self.nominal
        for body in self.free_bodies:
            index = model.body(body).id
            mass = values.get(f"{body}.mass", 1.0)
            size = values.get(f"{body}.size", 1.0)
            model.body_mass[index] = nominal["body_mass"][index] * mass
            model.body_inertia[index] = nominal["body_inertia"][index] * mass * size**2
            for geom in self._geoms(body):
                for field in ("geom_size", "geom_pos", "geom_rbound", "geom_aabb"):
                    getattr(model, field)[geom] = nominal[field][geom] * size
                model.geom_friction[geom][0] = nominal["geom_friction"][geom][0] * values.get(
                    f"{body}.friction", 1.0
                )

    def _sample_joints(self, group: Group, rng: np.random.Generator) -> Sample:
        return {f"{joint}.{key}": _uniform(rng, group.values[key])
                for joint in ARM_DOFS for key in ("damping", "armature")
                if key in group.values}  # fmt: skip

    def _apply_joints(self, group: Group, values: Sample) -> None:
        for joint, dof in zip(ARM_DOFS, self.dofs, strict=True):
            for key in ("damping", "armature"):
                field = f"dof_{key}"
                getattr(self.model, field)[dof] = self.nominal[field][dof] * values.get(
                    f"{joint}.{key}", 1.0
                )

    def _sample_actuators(self, group: Group, rng: np.random.Generator) -> Sample:
        gains = group.values["gain"]
        return {f"{self.model.actuator(i).name}.gain": _uniform(rng, gains)
                for i in range(self.model.nu)}  # fmt: skip

    def _apply_actuators(self, group: Group, values: Sample) -> None:
        """A position servo's force is kp * (target - q): both terms scale with kp."""
        model, nominal = self.model, self.nominal
        for i in range(model.nu):
            gain = values.get(f"{model.actuator(i).name}.gain", 1.0)
            model.actuator_gainprm[i, 0] = nominal["actuator_gainprm"][i, 0] * gain
            model.actuator_biasprm[i, 1] = nominal["actuator_biasprm"][i, 1] * gain

    def _sample_latency(self, group: Group, rng: np.random.Generator) -> Sample:
        ticks = group.values["ticks"]
        return {"ticks": int(rng.integers(int(ticks.low), int(ticks.high) + 1))}

    def _apply_latency(self, group: Group, values: Sample) -> None:
        self.latency = values["ticks"]

    def _geoms(self, body: str) -> range:
        index = self.model.body(body).id
        start = int(self.model.body_geomadr[index])
        return range(start, start + int(self.model.body_geomnum[index]))

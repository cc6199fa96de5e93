"""Compose the simulated scene with ``mujoco.MjSpec``: SO-101 + table + lights + cameras + task.

Two render profiles: ``fast`` (default: decimated visual meshes, no MSAA, no shadows or
reflections — the difference between ~70 ms and ~10-25 ms a frame on a CPU rasteriser) and
``full`` (original meshes, MSAA, shadows, reflections).
"""

from __future__ import annotations

from pathlib import Path

import mujoco

from dora_sim_mujoco import textures
from dora_sim_mujoco.assets import decimated_mesh, so101_model_dir
from dora_sim_mujoco.cameras import CAMERAS
from dora_sim_mujoco.randomization_config import RandomizationConfig
from dora_sim_mujoco.tasks import TABLE_Z, Task

PROFILES = ("fast", "full")
FAST_MAX_FACES = 1500  # per visual mesh; the arm draws 19 mesh instances
COLLISION_MAX_FACES = 2000
VISUAL_GROUP, COLLISION_GROUP = 2, 3  # geom groups of the SO-101 model
EE_SITE = "gripperframe"
JAW_MESHES = ("moving_jaw_so101_v1", "wrist_roll_follower_so101_v1")


def _decimate_meshes(spec: mujoco.MjSpec, mesh_dir: Path, visual_faces: int | None) -> None:
    """Point geoms at decimated copies of the 13 arm meshes.

    Collision geoms always get a light copy: MuJoCo collides with each mesh's convex hull, which
    decimation barely moves, while the full meshes cost ~400 MB of RAM per process. Visual geoms
    get one too when ``visual_faces`` is set (the fast profile); otherwise they keep the originals.
    """
    faces = {COLLISION_GROUP: COLLISION_MAX_FACES}
    if visual_faces is not None:
        faces[VISUAL_GROUP] = visual_faces
    originals = list(spec.meshes)
    for mesh in originals:
        for group, max_faces in faces.items():
            path = decimated_mesh(mesh_dir / mesh.file, max_faces)
            copy = spec.add_mesh(name=f"{mesh.name}_g{group}", file=str(path))
            copy.scale = mesh.scale
    for geom in spec.geoms:
        if geom.type == mujoco.mjtGeom.mjGEOM_MESH and geom.group in faces:
            geom.meshname = f"{geom.meshname}_g{geom.group}"
    if visual_faces is not None:
        for mesh in originals:
            spec.delete(mesh)


def _grip_with_pads(spec: mujoco.MjSpec) -> None:
    """Objects touch the jaws only through the primitive fingertip pads.

    The jaws' convex-hull collision meshes fill the space between the fingers and push objects
    away. Collision bits: the arm's collision geoms and the pads carry bits 1|2, objects bit 2
    (``OBJECT_CONTACT``), the jaw meshes bit 1 only — so they still meet the table and the arm,
    but never an object.
    """
    for geom in spec.geoms:
        if geom.type == mujoco.mjtGeom.mjGEOM_MESH and geom.group == 3:
            jaw = geom.meshname in JAW_MESHES
            geom.contype = geom.conaffinity = 1 if jaw else 3
    for name in ("fixed_jaw_pad", "moving_jaw_pad"):
        pad = spec.geom(name)
        pad.contype = pad.conaffinity = 3
        pad.friction = [1.5, 0.02, 0.002]
        pad.condim = 4
        pad.solref = [0.01, 1]


def _add_randomized_surfaces(spec: mujoco.MjSpec, config: RandomizationConfig) -> None:
    """What a profile's ``table``/``floor`` groups need: the texture bank, and a floor.

    Without a ``floor`` group the scene has none (the table plane meets the sky), so scenes
    without randomization look exactly as they always did. The floor is a large plane 2 cm
    below the table's, visible beyond the table's edges, touching nothing.
    """
    if config.group("table") is None and config.group("floor") is None:
        return
    textures.add_bank(spec)
    if config.group("floor") is not None:
        spec.add_material(name="floor", rgba=[0.45, 0.45, 0.45, 1], texrepeat=[8, 8])
        spec.worldbody.add_geom(
            name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3.0, 3.0, 0.5],
            pos=[0.2, 0.0, TABLE_Z - 0.02], material="floor", contype=0, conaffinity=0,
        )  # fmt: skip


def build_spec(
    task: Task,
    cameras: tuple[str, ...],
    profile: str = "fast",
    randomization: RandomizationConfig | None = None,
) -> mujoco.MjSpec:
    if profile not in PROFILES:
        raise ValueError(f"unknown render profile {profile!r}; choose one of {PROFILES}")
    unknown = [name for name in cameras if name not in CAMERAS]
    if unknown:
        raise ValueError(f"unknown camera(s) {unknown}; available: {', '.join(CAMERAS)}")
    model_dir = so101_model_dir()
    spec = mujoco.MjSpec.from_file(str(model_dir / "so101_new_calib.xml"))
    spec.meshdir = str(model_dir / "assets")
    fast = profile == "fast"
    _grip_with_pads(spec)
    _decimate_meshes(spec, model_dir / "assets", FAST_MAX_FACES if fast else None)

    spec.option.noslip_iterations = 5
    spec.visual.quality.offsamples = 0 if fast else 4
    spec.visual.quality.shadowsize = 0 if fast else 4096
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.45, 0.45, 0.45]
    spec.visual.headlight.specular = [0.1, 0.1, 0.1]
    spec.visual.map.znear = 0.01
    spec.stat.center = [0.2, 0.0, 0.1]
    spec.stat.extent = 0.6

    spec.add_texture(
        name="table", type=mujoco.mjtTexture.mjTEXTURE_2D,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.62, 0.5, 0.38], rgb2=[0.58, 0.46, 0.34], width=256, height=256,
    )  # fmt: skip
    spec.add_texture(
        name="sky", type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.55, 0.6, 0.65], rgb2=[0.2, 0.22, 0.25], width=32, height=192,
    )  # fmt: skip
    spec.add_material(
        name="table", textures=["", "table"], texrepeat=[6, 6],
        reflectance=0.0 if fast else 0.15,
    )  # fmt: skip
    spec.worldbody.add_geom(
        name="table", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0.6, 0.6, 0.01],
        pos=[0.2, 0.0, TABLE_Z], material="table", friction=[1.0, 0.01, 0.001], contype=1,
        conaffinity=3,
    )  # fmt: skip
    spec.worldbody.add_light(
        name="sun", pos=[0.3, 0.2, 1.2], dir=[-0.1, -0.15, -1.0], diffuse=[0.6, 0.6, 0.6],
        castshadow=not fast,
    )  # fmt: skip

    for name in cameras:
        cam = CAMERAS[name]
        parent = spec.worldbody if cam.body is None else spec.body(cam.body)
        camera = parent.add_camera(name=name, pos=list(cam.pos), fovy=cam.fovy)
        camera.alt.type = mujoco.mjtOrientation.mjORIENTATION_XYAXES
        camera.alt.xyaxes = list(cam.xyaxes)
    task.build(spec)
    if randomization is not None:
        _add_randomized_surfaces(spec, randomization)
    return spec


def compile_scene(spec: mujoco.MjSpec, fps: int, substep_s: float = 0.002) -> mujoco.MjModel:
    """Compile with a physics step that divides one tick exactly (1/fps = n steps)."""
    model = spec.compile()
    substeps = max(1, round(1.0 / (fps * substep_s)))
    model.opt.timestep = 1.0 / (fps * substeps)
    return model


def substeps_per_tick(model: mujoco.MjModel, fps: int) -> int:
    return round(1.0 / (fps * model.opt.timestep))

"""Convert the MuJoCo node's SO-101 arm to USD for Isaac Lab 3.0 (Newton), with NVIDIA's converter.

    uv run python scripts/isaac_convert_so101.py [--out DIR]

Stock Isaac Lab assets live on NVIDIA's asset server, which offline machines cannot reach, so the
Isaac node's kit-less scene (:mod:`dora_sim_isaac.scene3`) spawns this conversion instead. It is
our own conversion of TheRobotStudio's ``so101_new_calib`` model (Apache-2.0, shipped in
``nodes/dora-sim-mujoco/dora_sim_mujoco/so101_model/``), made the way the MuJoCo node composes it:

- meshes decimated by the MuJoCo node's own cache (``dora_sim_mujoco.assets.decimated_mesh``):
  ``VISUAL_FACES`` per visual mesh, ``COLLISION_FACES`` per collision mesh;
- the two jaw hulls lose their collision geoms (they fill the space between the fingers and push
  objects away, see ``dora_sim_mujoco.scene._grip_with_pads``); the primitive fingertip pads
  collide in their place, with the MuJoCo node's pad friction;
- MuJoCo's position actuators are left out: Isaac Lab drives the joints itself (the node's
  ``ImplicitActuatorCfg`` carries the STS3215 gains), so the USD holds no second actuator;
- the sites are left out too (the converter makes visible spheres of them; the node gets the
  end-effector point from ``ISAAC_EE_OFFSET``).

The MJCF is written next to the decimated STL files, then ``mujoco_usd_converter`` (PyPI
``mujoco-usd-converter``, run through ``uvx`` unless ``--converter`` names another command) turns it
into one flat USD layer, ``<out>/so101_new_calib.usdc`` (default: the node's
``dora_sim_isaac/assets/``, where the committed copy lives). ``<out>/so101_kinematics.json``
holds the same arm's chain and tool centre point for the node's IK (``dora_sim_isaac.kinematics``);
``<out>/PROVENANCE.md`` records how.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mujoco
import numpy as np

from dora_sim import contract as c
from dora_sim.units import gripper_to_sim
from dora_sim_mujoco.assets import decimated_mesh, so101_model_dir
from dora_sim_mujoco.ik import ARM_JOINTS, find_tcp
from dora_sim_mujoco.scene import EE_SITE, JAW_MESHES

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "nodes/dora-sim-isaac/dora_sim_isaac/assets"
CONVERTER_PACKAGE = "mujoco-usd-converter==0.8.0"
CONVERTER = f"uvx --from {CONVERTER_PACKAGE} mujoco_usd_converter"
VISUAL_FACES, COLLISION_FACES = 1500, 1000
VISUAL_GROUP, COLLISION_GROUP = 2, 3
PAD_FRICTION = [1.5, 0.02, 0.002]  # as dora_sim_mujoco.scene._grip_with_pads


def arm_spec(assets: Path) -> mujoco.MjSpec:
    """The SO-101 arm alone, with decimated meshes copied into ``assets``, ready to convert."""
    model_dir = so101_model_dir()
    spec = mujoco.MjSpec.from_file(str(model_dir / "so101_new_calib.xml"))
    for element in [*spec.actuators, *spec.sites]:
        spec.delete(element)
    for geom in list(spec.geoms):
        if geom.type != mujoco.mjtGeom.mjGEOM_MESH:
            continue
        if geom.group == COLLISION_GROUP and geom.meshname in JAW_MESHES:
            spec.delete(geom)
    for name in ("fixed_jaw_pad", "moving_jaw_pad"):
        pad = spec.geom(name)
        pad.contype = pad.conaffinity = 1
        pad.friction = PAD_FRICTION
    for geom in spec.geoms:
        if geom.group == COLLISION_GROUP:
            geom.contype = geom.conaffinity = 1
    faces = {VISUAL_GROUP: VISUAL_FACES, COLLISION_GROUP: COLLISION_FACES}
    for mesh in list(spec.meshes):
        for group, budget in faces.items():
            source = decimated_mesh(model_dir / "assets" / mesh.file, budget)
            name = f"{mesh.name}_g{group}"
            shutil.copyfile(source, assets / f"{name}.stl")
            spec.add_mesh(name=name, file=f"{name}.stl").scale = mesh.scale
    for geom in spec.geoms:
        if geom.type == mujoco.mjtGeom.mjGEOM_MESH and geom.group in faces:
            geom.meshname = f"{geom.meshname}_g{geom.group}"
    for mesh in [m for m in spec.meshes if not m.name.endswith(("_g2", "_g3"))]:
        spec.delete(mesh)
    spec.meshdir = str(assets.resolve())
    return spec


def kinematics() -> dict:
    """The arm chain and the TCP for ``dora_sim_isaac.kinematics`` (IK of Cartesian targets):
    each arm joint's body pose in its parent, axis and range; the contract's TCP (found as the
    MuJoCo node finds it) in the gripper body's frame, position + quaternion wxyz."""
    model = mujoco.MjModel.from_xml_path(str(so101_model_dir() / "so101_new_calib.xml"))
    joints = []
    for name in ARM_JOINTS:
        joint = model.joint(name)
        body = int(joint.bodyid[0])
        joints.append({"name": name, "body": model.body(body).name,
                       "pos": model.body_pos[body].tolist(), "quat": model.body_quat[body].tolist(),
                       "axis": joint.axis.tolist(), "range": joint.range.tolist()})  # fmt: skip
    gripper = model.joint("gripper").range
    tcp = find_tcp(model, gripper_to_sim(c.TCP_GRIPPER, (float(gripper[0]), float(gripper[1]))))
    site = model.site(EE_SITE)
    site_rot = np.empty(9)
    mujoco.mju_quat2Mat(site_rot, site.quat)
    site_rot = site_rot.reshape(3, 3)
    rotation = site_rot @ tcp.rotation
    quat = np.empty(4)
    mujoco.mju_mat2Quat(quat, rotation.flatten())
    position = site.pos + site_rot @ tcp.offset
    return {"joints": joints, "tcp_body": model.body(int(site.bodyid[0])).name,
            "tcp": [*position.tolist(), *quat.tolist()]}  # fmt: skip


def convert(out: Path, converter: str) -> Path:
    with tempfile.TemporaryDirectory(prefix="so101-usd-") as tmp:
        return _convert(Path(tmp), out, converter)


def _convert(work: Path, out: Path, converter: str) -> Path:
    (work / "assets").mkdir(parents=True)
    spec = arm_spec(work / "assets")
    xml = work / "so101_new_calib.xml"
    # to_xml compiles (so MuJoCo itself must accept the model); the file names its meshes relative.
    xml.write_text(spec.to_xml().replace(f'meshdir="{spec.meshdir}"', 'meshdir="assets"'))
    mujoco.MjModel.from_xml_path(str(xml))  # refuse to convert a model MuJoCo itself rejects
    usd_dir = work / "usd"
    command = [*shlex.split(converter), "--no-layer-structure", "--no-physics-scene",
               "--comment", "dora-sim: SO-101 (TheRobotStudio, Apache-2.0), decimated, pads",
               str(xml), str(usd_dir)]  # fmt: skip
    subprocess.run(command, check=True)
    produced = sorted(usd_dir.glob("*.usd*"))
    if len(produced) != 1:
        raise RuntimeError(f"expected one USD layer from the converter, got {produced}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "so101_kinematics.json").write_text(json.dumps(kinematics(), indent=1) + "\n")
    target = out / "so101_new_calib.usdc"
    shutil.copyfile(produced[0], target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    (out / "PROVENANCE.md").write_text(
        "# so101_new_calib.usdc\n\n"
        "TheRobotStudio SO-101 `so101_new_calib` (Apache-2.0; source and license in\n"
        "`nodes/dora-sim-mujoco/dora_sim_mujoco/so101_model/`), converted by\n"
        "`scripts/isaac_convert_so101.py` (meshes decimated to"
        f" {VISUAL_FACES}/{COLLISION_FACES} faces per visual/collision mesh, jaw hull collisions\n"
        "replaced by the fingertip pads, actuators and sites left out) with PyPI's\n"
        f"`{CONVERTER_PACKAGE}`.\n\nsha256 `{digest}`, {target.stat().st_size} bytes.\n"
    )
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--converter", default=CONVERTER, help="command that runs the converter")
    args = parser.parse_args(argv)
    target = convert(args.out, args.converter)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

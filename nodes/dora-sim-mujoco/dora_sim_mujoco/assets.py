"""SO-101 model files and the cache of decimated visual meshes.

The TheRobotStudio ``so101_new_calib`` model (Apache-2.0) ships in this package, under
``so101_model/`` (provenance and checksums in its ``README.md``).

Rendering cost on a CPU rasteriser scales with triangles (the model has ~322k faces), so visual
meshes are decimated once, written as binary STL under a cache directory keyed by source content
and target size, and reused on every later start.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import fast_simplification
import numpy as np

_STL_HEADER = 80
_STL_FACE = np.dtype(
    [("normal", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")]
)  # 50 bytes per face


_CACHE_VERSION = 2  # bump when the decimation changes, so stale caches are not reused


class AssetError(RuntimeError):
    """The SO-101 model files cannot be found or read."""


def so101_model_dir() -> Path:
    """Directory holding ``so101_new_calib.xml`` and its ``assets/`` meshes."""
    path = Path(__file__).parent / "so101_model"
    if not (path / "so101_new_calib.xml").is_file():
        raise AssetError(f"so101_new_calib.xml is missing from {path}: reinstall dora-sim-mujoco")
    return path


def cache_dir() -> Path:
    root = os.environ.get("DORA_SIM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "dora-sim"
    )
    return Path(root) / "meshes"


def read_stl(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Binary STL -> (unique vertices float64[n,3], faces int64[m,3])."""
    raw = path.read_bytes()
    count = int(np.frombuffer(raw, "<u4", 1, _STL_HEADER)[0])
    faces = np.frombuffer(raw, _STL_FACE, count, _STL_HEADER + 4)
    corners = faces["v"].reshape(-1, 3).astype(np.float64)
    vertices, inverse = np.unique(corners, axis=0, return_inverse=True)
    return vertices, inverse.reshape(-1, 3).astype(np.int64)


def write_stl(path: Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    tri = vertices[faces].astype(np.float32)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    norms = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.divide(normals, norms, out=np.zeros_like(normals), where=norms > 0)
    records = np.zeros(len(faces), _STL_FACE)
    records["normal"], records["v"] = normals, tri
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        f.write(b"dora-sim decimated mesh".ljust(_STL_HEADER, b"\0"))
        f.write(np.uint32(len(faces)).tobytes())
        f.write(records.tobytes())
    tmp.replace(path)  # atomic: a concurrent start never reads a half-written file


def cluster_vertices(
    vertices: np.ndarray, faces: np.ndarray, cell: float
) -> tuple[np.ndarray, np.ndarray]:
    """Vertex-clustering decimation: merge vertices sharing a ``cell``-sized grid cell."""
    _, group = np.unique(np.floor(vertices / cell).astype(np.int64), axis=0, return_inverse=True)
    group = group.reshape(-1)
    merged = np.zeros((group.max() + 1, 3))
    np.add.at(merged, group, vertices)
    merged /= np.bincount(group)[:, None]
    tri = group[faces]
    tri = tri[(tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])]
    _, first = np.unique(np.sort(tri, axis=1), axis=0, return_index=True)
    return merged, tri[np.sort(first)]


def decimate(vertices: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, ...]:
    """Quadric simplification, then vertex clustering where quadrics stall.

    The CAD meshes are not manifold, and quadric simplification stops at about half their faces;
    clustering with a growing cell (1-8 mm) finishes the job.
    """
    if len(faces) > max_faces:
        vertices, faces = fast_simplification.simplify(
            vertices, faces, target_reduction=1.0 - max_faces / len(faces)
        )
    cell = 0.001
    while len(faces) > max_faces and cell <= 0.008:
        vertices, faces = cluster_vertices(vertices, faces, cell)
        cell *= 1.5
    return vertices, faces


def decimated_mesh(source: Path, max_faces: int) -> Path:
    """Path of a copy of ``source`` with at most ``max_faces`` faces (cached on disk)."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    out = cache_dir() / f"{source.stem}-{digest}-{max_faces}-{_CACHE_VERSION}.stl"
    if out.is_file():
        return out
    vertices, faces = decimate(*read_stl(source), max_faces)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_stl(out, vertices, faces)
    return out

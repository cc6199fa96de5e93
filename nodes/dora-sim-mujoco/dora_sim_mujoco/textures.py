"""A fixed bank of grey procedural textures for randomized surfaces.

Every texture is made once, when the scene is built, and uploaded to the GL context with the
model; a randomized surface then only switches its material's texture index and colour (the
colour tints the grey pattern), which costs nothing per frame. Uploading a fresh 256x256
texture costs ~0.4 ms here (measured), plus making its pixels: never done while running.
"""

from __future__ import annotations

import mujoco
import numpy as np

SIZE = 128
PLAIN = "plain"  # no texture: the material's colour alone


def _checker(y: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.where((x // (SIZE // 2) + y // (SIZE // 2)) % 2 == 0, 1.0, 0.8)


def _grain(y: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    wobble = 6 * np.sin(2 * np.pi * y / SIZE * 2 + rng.uniform(0, 2 * np.pi))
    return 0.82 + 0.18 * np.sin(2 * np.pi * (x + wobble) / SIZE * 6) ** 2


def _speckle(y: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.where(rng.random((SIZE, SIZE)) < 0.08, 0.6, 1.0)


def _marble(y: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A few random plane waves: smooth, tileable swirls."""
    field = np.zeros((SIZE, SIZE))
    for _ in range(5):
        kx, ky = rng.integers(1, 4, size=2)
        field += np.sin(2 * np.pi * (kx * x + ky * y) / SIZE + rng.uniform(0, 2 * np.pi))
    return 0.75 + 0.25 * np.abs(np.sin(field))


PATTERNS = {"checker": _checker, "grain": _grain, "speckle": _speckle, "marble": _marble}


def texture_name(pattern: str) -> str:
    return f"dr_{pattern}"


def add_bank(spec: mujoco.MjSpec) -> None:
    """Add every pattern as a 2D RGB texture named ``dr_<pattern>`` (the same pixels in every
    session: the patterns are seeded by their order)."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    for index, (pattern, make) in enumerate(PATTERNS.items()):
        grey = make(y, x, np.random.default_rng(index))
        pixels = np.repeat((np.clip(grey, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)
        texture = spec.add_texture(
            name=texture_name(pattern), type=mujoco.mjtTexture.mjTEXTURE_2D,
            width=SIZE, height=SIZE, nchannel=3,
        )  # fmt: skip
        texture.data = pixels.tobytes()

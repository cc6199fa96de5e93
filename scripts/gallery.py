"""Front-camera gallery of every task, without and with domain randomization.

    uv run python scripts/gallery.py                    # writes docs/gallery/<task>.png
    uv run python scripts/gallery.py --profile per-step --seeds 3 --out /tmp/gallery

One PNG per task, four frames side by side: the scene as it starts without randomization, the
same scene once the scripted expert has solved it, then the first frame of randomized episodes
(task k shows seeds k·n … k·n+n-1, so the gallery shows different looks). Everything is seeded: a
rerun writes the same images. The PNGs are saved with a palette of ``--colors`` colours (128:
~50 KB each instead of ~250 KB), which smooths away most of the profile's pixel noise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--profile", default="moderate", help="randomization profile or file")
    parser.add_argument("--seeds", type=int, default=2, help="randomized frames per task")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "gallery")
    parser.add_argument("--colors", type=int, default=128,
                        help="palette size of the PNGs (keeps docs/ small); 0: RGB")  # fmt: skip
    return parser


def labelled(image: np.ndarray, text: str) -> Image.Image:
    tile = Image.fromarray(image)
    draw = ImageDraw.Draw(tile)
    draw.rectangle((0, 0, 8 + 6 * len(text), 14), fill=(0, 0, 0))
    draw.text((4, 2), text, fill=(255, 255, 255))
    return tile


def task_frames(task: str, seeds: range, args: argparse.Namespace, profile) -> list[Image.Image]:
    from dora_sim_expert.planner import Expert
    from dora_sim_expert.rollout import run_episode
    from dora_sim_mujoco.simulator import SimConfig, Simulator

    def simulator(randomization=None) -> Simulator:
        config = SimConfig(task=task, cameras=("front",), height=args.height, width=args.width,
                           randomization=randomization)  # fmt: skip
        return Simulator(config)

    tiles = []
    sim = simulator()
    try:
        sim.reset(0)
        tiles.append(labelled(sim.render("front").copy(), f"{task}: start"))
        result = run_episode(sim, Expert(sim.config.fps), seed=0, episode_time_s=30.0)
        verdict = "solved" if result.success else "NOT solved"
        tiles.append(labelled(sim.render("front").copy(), f"{verdict} by the expert"))
    finally:
        sim.close()
    sim = simulator(profile)
    try:
        for seed in seeds:
            sim.reset(seed)
            name = Path(profile.source).stem
            tiles.append(labelled(sim.render("front").copy(), f"{name}, seed {seed}"))
    finally:
        sim.close()
    return tiles


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    import dora_sim_mujoco  # noqa: F401  (headless GL is chosen on import, before mujoco)
    from dora_sim_mujoco.randomization_config import load, resolve
    from dora_sim_mujoco.tasks import TASKS

    profile = load(resolve(args.profile, (Path.cwd(), REPO)))
    args.out.mkdir(parents=True, exist_ok=True)
    for index, task in enumerate(TASKS):
        seeds = range(index * args.seeds, (index + 1) * args.seeds)
        tiles = task_frames(task, seeds, args, profile)
        strip = Image.new("RGB", (args.width * len(tiles), args.height))
        for i, tile in enumerate(tiles):
            strip.paste(tile, (i * args.width, 0))
        if args.colors:  # max-coverage keeps the small, rare colours (a red cube) exact
            strip = strip.quantize(
                args.colors, Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE
            )
        path = args.out / f"{task}.png"
        strip.save(path, optimize=True)
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

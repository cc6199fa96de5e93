"""Test helper node: records what the simulator sent, to compare with what the rerun node logged.

Usage as a dora node: ``python witness_node.py OUT.npz``; inputs ``observation.state``,
``scene``, ``episode`` and ``observation.images.front`` from the simulator.
"""

from __future__ import annotations

import sys

import numpy as np
from dora import Node

from dora_sim import codec
from dora_sim import contract as c


def main(out: str) -> None:
    state_frames: list[int] = []
    states: list[np.ndarray] = []
    scene_frames: list[int] = []
    ee: list[np.ndarray] = []
    image_frames: list[int] = []
    images: list[np.ndarray] = []
    episode_frames: list[int] = []
    # pyarrow's first to_numpy imports pandas (seconds): do it before messages arrive.
    codec.decode_joints(codec.encode_joints(np.zeros(c.NUM_JOINTS, np.float32)))
    for event in Node():
        if event["type"] == "STOP":
            break
        if event["type"] != "INPUT":
            continue
        md, value = event["metadata"], event["value"]
        if event["id"] == c.STATE:
            state_frames.append(int(md[c.MD_FRAME]))
            states.append(codec.decode_joints(value, c.STATE).copy())
        elif event["id"] == c.SCENE:
            scene_frames.append(int(md[c.MD_FRAME]))
            ee.append(codec.decode_scene(value, md).ee[:3].copy())
        elif event["id"] == c.image_topic("front"):
            image_frames.append(int(md[c.MD_FRAME]))
            images.append(codec.decode_image(value, md).copy())
        elif event["id"] == c.EPISODE and codec.decode_text(value, c.EPISODE) == c.EPISODE_END:
            episode_frames.append(int(md[c.MD_NUM_FRAMES]))
    np.savez(
        out,
        state_frames=np.array(state_frames),
        states=np.array(states),
        scene_frames=np.array(scene_frames),
        ee=np.array(ee),
        image_frames=np.array(image_frames),
        images=np.array(images),
        episode_frames=np.array(episode_frames),
    )


if __name__ == "__main__":
    main(sys.argv[1])

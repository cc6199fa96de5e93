"""Test helper node: records what the simulator sent, to compare with what the rerun node logged.

Usage as a dora node: ``python witness_node.py OUT.npz``; inputs ``observation.state``,
``ee_state``, ``episode`` and ``observation.images.front`` from the simulator.
"""

from __future__ import annotations

import sys

import numpy as np
from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.link import INPUT, NodeLink


def main(out: str) -> None:
    state_frames: list[int] = []
    states: list[np.ndarray] = []
    ee_frames: list[int] = []
    ee: list[np.ndarray] = []
    image_frames: list[int] = []
    images: list[np.ndarray] = []
    episode_frames: list[int] = []
    # pyarrow's first to_numpy imports pandas (seconds): do it before messages arrive.
    codec.decode_joints(codec.encode_joints(np.zeros(c.NUM_JOINTS, np.float32)))
    for event in NodeLink(Node()).events():  # the sim's messages must carry the contract version
        if event.kind != INPUT:
            continue
        md, value = event.metadata, event.value
        if event.id == c.STATE:
            state_frames.append(int(md[c.MD_FRAME]))
            states.append(codec.decode_joints(value, c.STATE).copy())
        elif event.id == c.EE_STATE:
            ee_frames.append(int(md[c.MD_FRAME]))
            ee.append(codec.decode_ee_state(value).position.copy())
        elif event.id == c.image_topic("front"):
            image_frames.append(int(md[c.MD_FRAME]))
            images.append(codec.decode_image(value, md).copy())
        elif event.id == c.EPISODE:
            episode = codec.decode_episode(value, md)
            if isinstance(episode, codec.EpisodeEnd):
                episode_frames.append(episode.num_frames)
    np.savez(
        out,
        state_frames=np.array(state_frames),
        states=np.array(states),
        ee_frames=np.array(ee_frames),
        ee=np.array(ee),
        image_frames=np.array(image_frames),
        images=np.array(images),
        episode_frames=np.array(episode_frames),
    )


if __name__ == "__main__":
    main(sys.argv[1])

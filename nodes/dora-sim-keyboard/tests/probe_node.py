"""Test helper node: logs what it receives as JSON lines to $PROBE_OUT (one line per message)."""

from __future__ import annotations

import json
import os
import time

from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.link import INPUT, NodeLink


def record(input_id: str, value, metadata: dict) -> dict:
    line: dict = {"id": input_id, "t": time.monotonic(), "frame": metadata.get(c.MD_FRAME)}
    if input_id == c.SCENE:
        objects = codec.decode_scene(value, metadata)
        line["objects"] = {name: pose[:3].tolist() for name, pose in objects.items()}
    elif input_id == c.EE_STATE:
        line["ee"] = codec.decode_ee_state(value).position.tolist()
    elif input_id in (c.STATE, c.EE_DELTA):
        line["values"] = value.to_numpy().tolist()
    elif input_id == c.CONTROL:
        line["command"] = codec.decode_control(value)
    elif input_id == c.EPISODE:
        event = codec.decode_episode(value, metadata)
        line["episode"] = event.episode_index
        line["seed"] = event.seed
        if isinstance(event, codec.EpisodeEnd):
            line.update(event=c.EPISODE_END, reason=event.reason, num_frames=event.num_frames)
        else:
            line["event"] = c.EPISODE_START
    return line


def main() -> None:
    """Through NodeLink, as every dora-sim node reads: a sender that does not stamp the
    contract version on its messages fails the probe (and the test) at once."""
    with open(os.environ["PROBE_OUT"], "a", buffering=1) as out:
        for event in NodeLink(Node()).events():
            if event.kind == INPUT:
                out.write(json.dumps(record(event.id, event.value, event.metadata)) + "\n")


if __name__ == "__main__":
    main()

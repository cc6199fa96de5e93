"""Test helper node: logs what it receives as JSON lines to $PROBE_OUT (one line per message)."""

from __future__ import annotations

import json
import os
import time

from dora import Node

from dora_sim import codec
from dora_sim import contract as c


def record(input_id: str, value, metadata: dict) -> dict:
    line: dict = {"id": input_id, "t": time.monotonic(), "frame": metadata.get(c.MD_FRAME)}
    if input_id == c.SCENE:
        scene = codec.decode_scene(value, metadata)
        line["ee"] = scene.ee[:3].tolist()
        line["objects"] = {name: pose[:3].tolist() for name, pose in scene.objects.items()}
    elif input_id in (c.STATE, c.EE_DELTA):
        line["values"] = value.to_numpy().tolist()
    elif input_id == c.CONTROL:
        line["command"] = codec.decode_control(value)
    elif input_id == c.EPISODE:
        line["event"] = codec.decode_text(value, c.EPISODE)
        line["reason"] = metadata.get(c.MD_END_REASON)
        line["episode"] = metadata.get(c.MD_EPISODE)
        line["num_frames"] = metadata.get(c.MD_NUM_FRAMES)
    return line


def main() -> None:
    with open(os.environ["PROBE_OUT"], "a", buffering=1) as out:
        for event in Node():
            if event["type"] == "INPUT":
                out.write(json.dumps(record(event["id"], event["value"], event["metadata"])) + "\n")
            elif event["type"] == "STOP":
                break


if __name__ == "__main__":
    main()

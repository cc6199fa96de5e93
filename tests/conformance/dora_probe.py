"""Conformance probe for a real ``dora run``: drives a simulator node and records what it sends.

At frame 3 of each episode it sends an action (the state it just saw, shoulder_pan +10°, gripper
50) and at frame 8 a ``finish`` control; it records the counters of every per-tick input, the
episode events and the status messages, and writes them as JSON to $PROBE_OUT when its inputs
close. The sim does not wait for it, so a command may land a few frames later than sent.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

import numpy as np
from dora import Node

from dora_sim import codec
from dora_sim import contract as c

ACTION_AT, FINISH_AT = 3, 8


def main() -> None:
    node = Node()
    record: dict = {"frames": defaultdict(list), "episodes": [], "statuses": [], "actions": []}
    record["sent_actions"] = []
    for event in node:
        if event["type"] == "STOP":
            break
        if event["type"] != "INPUT":
            continue
        input_id, md, value = event["id"], event["metadata"], event["value"]
        if input_id == c.EPISODE:
            record["episodes"].append({"event": codec.decode_text(value, c.EPISODE), **md})
        elif input_id == c.STATUS:
            record["statuses"].append(json.loads(codec.decode_text(value, c.STATUS)))
        else:
            stamp = codec.FrameStamp.from_metadata(md)
            record["frames"][input_id].append([stamp.frame, stamp.episode_index, stamp.phase])
            if input_id.startswith(c.IMAGE_PREFIX):
                codec.decode_image(value, md)
            elif input_id == c.ACTION_APPLIED:
                record["actions"].append(codec.decode_joints(value).tolist())
            elif input_id == c.STATE and stamp.phase == c.PHASE_EPISODE:
                if stamp.episode_frame == ACTION_AT:
                    target = codec.decode_joints(value, c.STATE) + np.float32(0)
                    target[0] += 10.0
                    target[c.GRIPPER_INDEX] = 50.0
                    node.send_output(c.ACTION, codec.encode_joints(target))
                    record["sent_actions"].append(target.tolist())
                elif stamp.episode_frame == FINISH_AT:
                    node.send_output(c.CONTROL, codec.encode_control(c.CONTROL_FINISH))
    with open(os.environ["PROBE_OUT"], "w") as f:
        json.dump(record, f, default=str)  # dora adds a datetime to metadata


if __name__ == "__main__":
    main()

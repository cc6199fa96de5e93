"""Conformance probe for a real ``dora run``: drives a simulator node and records what it sends.

At frame 3 of each episode it sends an action (the state it just saw, shoulder_pan +10°, gripper
50) and at frame 8 a ``finish`` control; it records the counters of every per-tick input, the
episode events and the status messages, and writes them as JSON to $PROBE_OUT when its inputs
close. The sim does not wait for its commands, so a command may land a few frames later than
sent. It is a lossless consumer (contract credits): it acknowledges (``ack``) the newest frame
every per-tick input has delivered (again while idle: a lost ack must not hold the sim), and the
sim holds while it is behind, so it sees every frame.
It reads and sends through :class:`~dora_sim.link.NodeLink`, as every dora-sim node does.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

import numpy as np
from dora import Node

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.flow import Acker
from dora_sim.link import INPUT, NodeLink

ACTION_AT, FINISH_AT = 3, 8


def main() -> None:
    link = NodeLink(Node())
    acker = Acker(link)
    newest: dict[str, int] = {}  # per-tick input -> newest frame it delivered
    record: dict = {"frames": defaultdict(list), "episodes": [], "statuses": [], "actions": []}
    record["sent_actions"] = []
    for event in link.events(timeout=Acker.REFRESH_S):
        if event.kind != INPUT:
            acker.refresh()
            continue
        input_id, md, value = event.id, event.metadata, event.value
        if input_id == c.EPISODE:
            episode = codec.decode_episode(value, md)
            kind = c.EPISODE_START if isinstance(episode, codec.EpisodeStart) else c.EPISODE_END
            record["episodes"].append({"event": kind, **episode.to_metadata()})
        elif input_id == c.STATUS:
            record["statuses"].append(json.loads(codec.decode_text(value, c.STATUS)))
        else:
            stamp = codec.FrameStamp.from_metadata(md)
            record["frames"][input_id].append([stamp.frame, stamp.episode_index, stamp.phase])
            if input_id.startswith(c.IMAGE_PREFIX):
                codec.decode_image(value, md)
            elif input_id == c.APPLIED_ACTION:
                record["actions"].append(codec.decode_joints(value).tolist())
            elif input_id == c.EE_STATE:
                codec.decode_ee_state(value)
            elif input_id == c.SCENE:
                codec.decode_scene(value, md)
            elif input_id == c.STATE and stamp.phase == c.PHASE_EPISODE:
                if stamp.episode_frame == ACTION_AT:
                    target = codec.decode_joints(value, c.STATE) + np.float32(0)
                    target[0] += 10.0
                    target[c.GRIPPER_INDEX] = 50.0
                    link.send(c.ACTION, codec.encode_joints(target))
                    record["sent_actions"].append(target.tolist())
                elif stamp.episode_frame == FINISH_AT:
                    link.send(c.CONTROL, codec.encode_control(c.CONTROL_FINISH))
            newest[input_id] = stamp.frame
            acker.take(min(newest.values()))
    with open(os.environ["PROBE_OUT"], "w") as f:
        json.dump(record, f, default=str)  # dora adds a datetime to metadata


if __name__ == "__main__":
    main()

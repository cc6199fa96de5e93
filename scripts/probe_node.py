"""A measuring sink for benchmarks and tests: records arrival times and counters of what it gets.

Writes a JSON summary to $PROBE_OUT when the dataflow stops (and every 30 frames, so a killed run
still leaves numbers). Hop latency = arrival time - the sender's ``sent_at_ns`` metadata.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict

from dora import Node

from dora_sim import codec
from dora_sim import contract as c


def main() -> None:
    out = os.environ["PROBE_OUT"]
    arrivals: dict[str, list[float]] = defaultdict(list)
    frames: dict[str, list[int]] = defaultdict(list)
    hops_ms: dict[str, list[float]] = defaultdict(list)
    summary: dict = {"first_frame_wall": None, "status": None, "episodes": [], "image_errors": None}

    def dump() -> None:
        summary.update(arrivals=arrivals, frames=frames, hops_ms=hops_ms)
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(summary, f, default=str)
        os.replace(tmp, out)

    codec.warm_up()
    for event in Node():
        if event["type"] == "STOP":
            break
        if event["type"] != "INPUT":
            continue
        now_ns = time.time_ns()
        input_id, md = event["id"], event["metadata"]
        if input_id == c.STATUS:
            summary["status"] = json.loads(codec.decode_text(event["value"], c.STATUS))
            continue
        if input_id == c.EPISODE:
            summary["episodes"].append({"event": codec.decode_text(event["value"], "e"), **md})
            continue
        if summary["first_frame_wall"] is None:
            summary["first_frame_wall"] = now_ns / 1e9
        arrivals[input_id].append(now_ns / 1e9)
        frames[input_id].append(int(md.get(c.MD_FRAME, -1)))
        if input_id.startswith(c.IMAGE_PREFIX):
            try:
                codec.decode_image(event["value"], md)
            except codec.ContractError as err:
                summary["image_errors"] = f"{input_id}: {err}"
        if c.MD_SENT_AT in md:
            hops_ms[input_id].append((now_ns - int(md[c.MD_SENT_AT])) / 1e6)
        if input_id == c.STATE and len(frames[input_id]) % 30 == 0:
            dump()
    dump()


if __name__ == "__main__":
    main()

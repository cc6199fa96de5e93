"""A sink node that logs every input it receives to a JSON-lines file, for tests and benchmarks.

Each line: ``{"id", "recv_ns", "value", "metadata"}``; ``value`` is the list of numbers of a
numeric array or the text of a one-string array (wire only small topics: no images). Lines are
flushed as they come, so a killed graph still leaves its data. ``PROBE_OUT`` names the file.
Run it as ``path: python`` with ``args: -m dora_sim_leader.probe``.

It reads through :class:`dora_sim.link.NodeLink`, so every sender must stamp the contract version.
With an ``ack`` output it is a lossless consumer (contract credits): it acknowledges the newest
frame that every per-tick input has delivered (again while idle: a lost ack must not hold the
sim), and the simulators wired to its ``ack`` (see ``instrument(credits=…)``) hold while it is
behind, so nothing is dropped on the way to it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from dora_sim import contract as c


def to_json_value(value: Any) -> Any:
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if pa.types.is_string(value.type):
        return value[0].as_py() if len(value) == 1 else value.to_pylist()
    return value.to_pylist()


def instrument(
    dataflow: Path,
    out_dir: Path,
    inputs: dict[str, Any],
    env: dict[str, dict[str, Any]] | None = None,
    drop: tuple[str, ...] = (),
    credits: tuple[str, ...] = (),
) -> tuple[Path, Path]:
    """A copy of ``dataflow`` in ``out_dir`` with a probe node on ``inputs`` (probe input id ->
    ``node/output`` or a dora input mapping), per-node ``env`` overrides, and the nodes in
    ``drop`` removed with the inputs wired to them; returns (dataflow path, probe log path).

    The simulator nodes named in ``credits`` get the probe's ``ack`` (input ``ack.probe``): they
    hold while the probe is behind, so the probe sees every frame they send."""
    graph = yaml.safe_load(dataflow.read_text())
    graph["nodes"] = [node for node in graph["nodes"] if node["id"] not in drop]
    for node in graph["nodes"]:
        node["inputs"] = {
            name: source
            for name, source in node.get("inputs", {}).items()
            if _source_node(source) not in drop
        }
        node.setdefault("env", {}).update((env or {}).get(node["id"], {}))
        if node["id"] in credits:
            # acks are cumulative: a roomy queue keeps the sim's input channel wide (as shipped)
            node["inputs"][f"{c.ACK}.probe"] = {"source": f"probe/{c.ACK}", "queue_size": 100}
    log = out_dir / "probe.jsonl"
    probe: dict[str, Any] = {
        "id": "probe",
        "path": sys.executable,
        "args": "-m dora_sim_leader.probe",
        "inputs": inputs,
        "env": {"PROBE_OUT": str(log)},
    }
    if credits:
        probe["outputs"] = [c.ACK]
    graph["nodes"].append(probe)
    path = out_dir / dataflow.name
    path.write_text(yaml.safe_dump(graph, sort_keys=False))
    return path, log


def _source_node(source: str | dict[str, Any]) -> str:
    text = source["source"] if isinstance(source, dict) else source
    return text.split("/", 1)[0]


def read_log(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def main() -> int:
    from dora import Node

    out = os.environ.get("PROBE_OUT")
    if not out:
        print(
            "dora_sim_leader.probe: set PROBE_OUT to the JSON-lines file to write", file=sys.stderr
        )
        return 2
    from dora_sim.flow import Acker
    from dora_sim.link import INPUT, ContractVersionError, NodeLink

    link = NodeLink(Node())
    acker = Acker(link) if c.ACK in (link.node_config().get("outputs") or []) else None
    newest: dict[str, int] = {}  # per-tick input -> newest frame it delivered
    with open(out, "a", encoding="utf-8") as sink:
        try:
            for event in link.events(timeout=Acker.REFRESH_S):
                if event.kind != INPUT:
                    if acker is not None:
                        acker.refresh()
                    continue
                record = {
                    "id": event.id,
                    "recv_ns": time.time_ns(),
                    "value": to_json_value(event.value),
                    "metadata": {
                        k: v
                        for k, v in event.metadata.items()
                        if isinstance(v, (int, float, str, bool))
                    },
                }
                sink.write(json.dumps(record) + "\n")
                sink.flush()
                if acker is not None and c.MD_EPISODE_FRAME in event.metadata:  # a per-tick one
                    newest[event.id] = int(event.metadata[c.MD_FRAME])
                    acker.take(min(newest.values()))
        except ContractVersionError as err:
            print(f"dora_sim_leader.probe: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

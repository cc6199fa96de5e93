"""``dora-sim run <graph.yaml>``: ``dora run`` with a console a person can read.

``dora run`` shows every node's output and dora's own log lines, among them WARN lines that are
expected here: a ``queue_size: 1`` input (latest value wins, by design) discarding an older value
(``Discarding event for input tick``, or ``event channel full`` in a node whose inputs are all
latest-wins), and dora 1.1's temporary ``#2742 diagnostic`` lines about large sends, which
``RUST_LOG`` cannot lower and dora's ``--log-level`` cannot drop without also dropping the nodes'
own output. Which inputs are latest-wins is read from the graph file; a discard on any other
input (a lossless one) is shown. This wrapper runs ``dora run --log-format json`` and prints
the nodes' output, dora's errors and any warning that is not one of those known, expected lines.
Nothing is lost: dora writes every line of every node to
``<graph dir>/out/<dataflow id>/log_<node>.jsonl``, and the path is printed at the end. Options
after the graph go to ``dora run`` unchanged; Ctrl-C stops the graph as with ``dora run``. It
also sets dora-sim's zenoh overlay (:mod:`dora_sim.transport`) unless zenoh is configured
already.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from dora_sim.transport import with_overlay

# dora lines that say nothing is wrong wherever they come from: (target prefix, fragment).
EXPECTED = (
    ("dora_node_api", "dora-rs/dora#2742 diagnostic"),
    ("zenoh", ""),
)
DISCARD = re.compile(r"Discarding event for input `([^`]+)`")
CHANNEL_FULL = "event channel full"
SHOWN_DORA_INFO = ("all nodes are ready", "failed", "error")


@dataclass(frozen=True)
class Inputs:
    """A node's inputs, and those that keep only their newest message (latest wins)."""

    all: frozenset[str]
    latest: frozenset[str]


def graph_inputs(graph: dict[str, Any]) -> dict[str, Inputs]:
    """Per node of a dataflow descriptor: its inputs (timers and ``queue_size: 1`` are latest)."""
    found = {}
    for node in graph.get("nodes") or []:
        inputs = node.get("inputs") or {}
        latest = {
            name
            for name, spec in inputs.items()
            if (isinstance(spec, dict) and int(spec.get("queue_size", 10)) <= 1)
            or str(spec).startswith("dora/timer/")
        }
        found[str(node.get("id"))] = Inputs(frozenset(inputs), frozenset(latest))
    return found


def is_expected(entry: dict[str, Any], inputs: dict[str, Inputs]) -> bool:
    target, message = entry.get("target") or "", entry.get("message") or ""
    if any(target.startswith(t) and fragment in message for t, fragment in EXPECTED):
        return True
    node = inputs.get(str(entry.get("node_id")))
    if node is None:
        return False
    discard = DISCARD.search(message)
    if discard is not None:
        return discard.group(1) in node.latest
    # "event channel full" names no input: expected only when every input is latest-wins
    return CHANNEL_FULL in message and node.all == node.latest


def render(entry: dict[str, Any], inputs: dict[str, Inputs] | None = None) -> str | None:
    """The console line for one dora log entry, or None when it is noise."""
    inputs = inputs or {}
    level = str(entry.get("level", "")).upper()
    node = entry.get("node_id") or "dora"
    message = str(entry.get("message", "")).rstrip()
    if level == "STDOUT":  # what the node itself printed (dora's node API may print JSON logs)
        nested = _nested_log(message)
        if nested is None:
            return f"{node:<10}| {message}"
        entry = {**nested, "node_id": node}
        level, message = str(entry["level"]).upper(), str(entry["message"])
    if level == "ERROR" or (level == "WARN" and not is_expected(entry, inputs)):
        return f"{node:<10}| {level}: {message}"
    if level == "INFO" and node == "dora" and any(s in message for s in SHOWN_DORA_INFO):
        return f"{node:<10}| {message}"
    return None


def _nested_log(message: str) -> dict[str, Any] | None:
    """A tracing record (JSON) that a node printed on its own output, as a log entry."""
    if not message.startswith("{"):
        return None
    try:
        record = json.loads(message)
    except ValueError:
        return None
    fields = record.get("fields") if isinstance(record, dict) else None
    if not isinstance(fields, dict) or "level" not in record:
        return None
    return {
        "level": record["level"],
        "message": fields.get("message", ""),
        "target": record.get("target", ""),
    }


def relay(lines: TextIO, out: TextIO, inputs: dict[str, Inputs]) -> str | None:
    """Print the readable part of dora's JSON log; returns the dataflow id seen."""
    dataflow = None
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:  # dora's own plain-text lines (build, exit): errors only
            if "error" in line.lower():
                out.write(line)
            continue
        dataflow = dataflow or entry.get("dataflow_id")
        text = render(entry, inputs)
        if text is not None:
            out.write(text + "\n")
            out.flush()
    return dataflow


def find_dora() -> str | None:
    """The dora CLI: beside this interpreter (a venv) or on PATH; None when not installed."""
    beside = Path(sys.executable).parent / "dora"
    return str(beside) if beside.exists() else shutil.which("dora")


def dora_executable() -> str:
    found = find_dora()
    if found is None:
        raise SystemExit("dora-sim: the `dora` command is not installed (pip install dora-rs-cli)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dora-sim",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a dataflow with a readable console")
    run.add_argument("graph", type=Path, help="the dataflow YAML file")
    args, dora_args = parser.parse_known_args(argv)
    if not args.graph.is_file():
        parser.error(f"no dataflow file at {args.graph}")
    command = [dora_executable(), "run", str(args.graph), "--log-format", "json", *dora_args]
    # Ctrl-C reaches dora too (same process group): it stops the graph; we keep reading.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env=with_overlay(dict(os.environ)),
    )
    assert process.stdout is not None
    dataflow = relay(
        process.stdout, sys.stdout, graph_inputs(yaml.safe_load(args.graph.read_text()))
    )
    status = process.wait()
    if dataflow:
        logs = args.graph.resolve().parent / "out" / dataflow
        print(f"dora-sim: full log in {logs}/ (one JSONL file per node)", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

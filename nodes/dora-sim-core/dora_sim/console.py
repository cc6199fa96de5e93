"""``dora-sim run <graph.yaml>``: ``dora run`` with a console a person can read.

``dora run`` shows every node's output and dora's own log lines, among them WARN lines that are
expected here: ``Discarding event for input tick`` (a ``queue_size: 1`` input keeps only the
newest value, by design) and dora 1.1's temporary ``#2742 diagnostic`` lines about large sends,
which ``RUST_LOG`` cannot lower and dora's ``--log-level`` cannot drop without also dropping the
nodes' own output. This wrapper runs ``dora run --log-format json`` and prints the nodes' output,
dora's errors and any warning that is not one of those known, expected lines. Nothing is lost:
dora writes every line of every node to ``<graph dir>/out/<dataflow id>/log_<node>.jsonl``, and
the path is printed at the end. Options after the graph go to ``dora run`` unchanged; Ctrl-C
stops the graph as with ``dora run``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

# dora lines that say nothing is wrong: (target prefix, message fragment).
EXPECTED = (
    ("dora_node_api::event_stream::scheduler", "Discarding event for input"),
    ("dora_node_api", "dora-rs/dora#2742 diagnostic"),
    ("zenoh", ""),
)
SHOWN_DORA_INFO = ("all nodes are ready", "failed", "error")


def is_expected(entry: dict[str, Any]) -> bool:
    target, message = entry.get("target") or "", entry.get("message") or ""
    return any(target.startswith(t) and fragment in message for t, fragment in EXPECTED)


def render(entry: dict[str, Any]) -> str | None:
    """The console line for one dora log entry, or None when it is noise."""
    level = str(entry.get("level", "")).upper()
    node = entry.get("node_id") or "dora"
    message = str(entry.get("message", "")).rstrip()
    if level == "STDOUT":  # what the node itself printed
        return f"{node:<10}| {message}"
    if level == "ERROR" or (level == "WARN" and not is_expected(entry)):
        return f"{node:<10}| {level}: {message}"
    if level == "INFO" and node == "dora" and any(s in message for s in SHOWN_DORA_INFO):
        return f"{node:<10}| {message}"
    return None


def relay(lines: TextIO, out: TextIO) -> str | None:
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
        text = render(entry)
        if text is not None:
            out.write(text + "\n")
            out.flush()
    return dataflow


def dora_executable() -> str:
    beside = Path(sys.executable).parent / "dora"
    found = str(beside) if beside.exists() else shutil.which("dora")
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
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert process.stdout is not None
    dataflow = relay(process.stdout, sys.stdout)
    status = process.wait()
    if dataflow:
        logs = args.graph.resolve().parent / "out" / dataflow
        print(f"dora-sim: full log in {logs}/ (one JSONL file per node)", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

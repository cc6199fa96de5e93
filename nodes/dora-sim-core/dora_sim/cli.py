"""The start-up every dora-sim node shares: ``--help`` from its docstring, console logging.

dora shows a node's stdout in the dataflow's log, so messages go to stdout, prefixed by the node.
"""

from __future__ import annotations

import argparse
import logging
import sys

LOG_FORMAT = "%(name)s: %(levelname)s: %(message)s"


def node_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """A parser whose ``--help`` prints the node's module docstring (configuration included)."""
    return argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def start_node(
    prog: str,
    doc: str | None,
    argv: list[str] | None = None,
    level: int = logging.INFO,
) -> argparse.Namespace:
    """Parse a node's (option-less) command line and set up console logging."""
    args = node_parser(prog, doc).parse_args(argv)
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stdout)
    return args

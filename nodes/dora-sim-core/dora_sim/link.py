"""A node's link to dora: the one event loop and send path every dora-sim node shares.

dora 1.1 hands Python nodes dict events of several shapes: ``INPUT``, ``INPUT_CLOSED``, ``STOP``
(also sent, with id ``ALL_INPUTS_CLOSED``, once every input has closed), ``ERROR`` (which
``next(timeout=…)`` also returns on a timeout, where the docs say ``None``) and ``None`` when the
stream ends. :class:`NodeLink` turns them into one :class:`Event` type, so each node handles
them the same way, and it stamps and checks the contract version:

- every message sent through :meth:`NodeLink.send` / :meth:`NodeLink.send_raw` carries
  ``contract`` = :data:`~dora_sim.contract.CONTRACT_VERSION`;
- the first message on each input is checked: a sender of another contract version (or of none)
  raises :class:`ContractVersionError`, which the node reports and exits on, so a graph mixing
  node versions fails at once with a clear message instead of misreading fields.

Timer inputs (``tick``) come from dora itself and are exempt.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dora_sim import contract as c

log = logging.getLogger("dora-sim")

INPUT = "input"
CLOSED = "closed"  # one input closed (its source finished)
STOP = "stop"  # dora asks the node to stop (Ctrl-C, `dora stop`)
ALL_CLOSED = "all_closed"  # every input closed: the graph upstream is done
TIMEOUT = "timeout"
ERROR = "error"

DORA_ALL_CLOSED = "ALL_INPUTS_CLOSED"


class ContractVersionError(RuntimeError):
    """A message from a node that speaks another version of the contract."""


@dataclass(frozen=True)
class Event:
    kind: str  # INPUT, CLOSED, STOP, ALL_CLOSED, TIMEOUT or ERROR
    id: str = ""  # the input id (INPUT, CLOSED)
    value: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def ends(self) -> bool:
        """The node should finish: dora said STOP, or nothing more can arrive."""
        return self.kind in (STOP, ALL_CLOSED)


def check_version(input_id: str, metadata: dict[str, Any]) -> None:
    """Raise :class:`ContractVersionError` unless ``metadata`` carries this contract version."""
    version = metadata.get(c.MD_CONTRACT)
    if str(version) != c.CONTRACT_VERSION:
        spoken = f"contract {version}" if version is not None else "no dora-sim contract version"
        raise ContractVersionError(
            f"input {input_id!r} comes from a node that speaks {spoken}; this node speaks "
            f"contract {c.CONTRACT_VERSION}. Run nodes of one dora-sim version together "
            f"(a foreign node must set metadata {c.MD_CONTRACT}={c.CONTRACT_VERSION!r} "
            "and follow docs/architecture.md)"
        )


class NodeLink:
    """Wraps a dora ``Node`` (or ``dora.testing.MockNode``) for one dora-sim node."""

    def __init__(self, node: Any):
        self.node = node
        self._checked: set[str] = {c.TICK}

    # --- receiving ---------------------------------------------------------------------------
    def next(self, timeout: float | None = None) -> Event:
        """The next event; TIMEOUT when nothing came within ``timeout`` seconds."""
        raw = self.node.next(timeout=timeout) if timeout is not None else self.node.next()
        if raw is None:
            return Event(TIMEOUT if timeout is not None else ALL_CLOSED)
        kind = raw.get("type")
        if kind == "INPUT":
            input_id = raw["id"]
            metadata = raw.get("metadata") or {}
            if input_id not in self._checked:
                check_version(input_id, metadata)
                self._checked.add(input_id)
            return Event(INPUT, input_id, raw.get("value"), metadata)
        if kind == "INPUT_CLOSED":
            return Event(CLOSED, raw.get("id", ""))
        if kind == "STOP":
            return Event(ALL_CLOSED if raw.get("id") == DORA_ALL_CLOSED else STOP)
        error = str(raw.get("error", raw))
        if kind == "ERROR" and "timeout" in error.lower():
            return Event(TIMEOUT)
        return Event(ERROR, error=error)

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Events until the node should finish (the ending event is yielded too).

        With ``timeout``, TIMEOUT events come when nothing arrived for that long, so a node can
        do periodic work. ERROR events are logged here and not yielded.
        """
        while True:
            event = self.next(timeout)
            if event.kind == ERROR:
                log.warning("dora reported an error: %s", event.error)
                continue
            yield event
            if event.ends:
                return

    # --- sending -----------------------------------------------------------------------------
    def send(self, output_id: str, value: Any, metadata: dict[str, Any] | None = None) -> None:
        md = dict(metadata or {})
        md[c.MD_CONTRACT] = c.CONTRACT_VERSION
        self.node.send_output(output_id, value, md)

    @contextmanager
    def send_raw(self, output_id: str, nbytes: int, metadata: dict[str, Any]) -> Iterator[Any]:
        """A writable dora shared-memory buffer of ``nbytes``, sent when the block ends.

        Yields None where the node has no shared memory (``dora.testing.MockNode``): the caller
        then sends with :meth:`send`.
        """
        md = {**metadata, c.MD_CONTRACT: c.CONTRACT_VERSION}
        try:
            sample = self.node.send_output_raw(output_id, nbytes, md)
        except NotImplementedError:
            yield None
            return
        with sample as buffer:
            yield buffer

    def node_config(self) -> dict[str, Any]:
        """The node's inputs and outputs as dora passed them (empty where it cannot tell)."""
        config = getattr(self.node, "node_config", None)
        return (config() if callable(config) else None) or {}

"""Keeping up without backing up: newest-value slots and frame-gap drop counting.

Every per-tick message carries the sim's ``frame`` counter (+1 per tick, never repeats), so the
frames this node never logged — whether dora discarded them at a full ``queue_size: 1`` input or
a newer image replaced them in a :class:`LatestSlots` before the logging thread got to them —
show up as gaps between the frames it did log. One counter per stream covers both.
"""

from __future__ import annotations

import threading


class GapCounter:
    """Frames logged and frames skipped on one stream, from the frame counters it saw."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.logged = 0
        self.dropped = 0

    def accept(self, frame: int) -> bool:
        """Record ``frame`` as logged; False (and nothing recorded) for a repeated frame.

        Per-stream delivery is in order, so a counter that goes back means the simulator was
        restarted: counting carries on from there (drops so far are kept).
        """
        if self.last is not None:
            if frame == self.last:
                return False
            self.dropped += max(0, frame - self.last - 1)
        self.last = frame
        self.logged += 1
        return True

    @property
    def seen(self) -> int:
        """Frames the stream spanned so far: logged + dropped."""
        return self.logged + self.dropped


class LatestSlots[T]:
    """One slot per key holding only the newest item; a consumer thread takes them all at once.

    ``put`` never blocks (the dora event loop must keep draining); an item replaced before it was
    taken is simply gone, and the consumer sees the gap in the frame counters.
    """

    def __init__(self) -> None:
        self._items: dict[str, T] = {}
        self._closed = False
        self._cond = threading.Condition()

    def put(self, key: str, item: T) -> None:
        with self._cond:
            self._items[key] = item
            self._cond.notify()

    def take(self, timeout: float | None = None) -> dict[str, T] | None:
        """Wait for items and take them all; None once closed and empty (or on timeout: {})."""
        with self._cond:
            self._cond.wait_for(lambda: self._items or self._closed, timeout)
            if not self._items:
                return None if self._closed else {}
            items, self._items = self._items, {}
            return items

    def close(self) -> None:
        """Wake the consumer; items already in the slots are still handed out."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

"""Credit-based flow control: lossless delivery over dora's zero-copy default path.

dora 1.1's ``queue_policy: backpressure`` is not flow control: it pins the output to the daemon
path (a copy each way, no shared memory) and still drops, with an ERROR, past 10 x queue_size.
Instead, a lossless consumer acknowledges the frames it has taken (:class:`Acker`, output
``ack``), and the simulator holds its tick while any consumer is more than ``window`` frames
behind (:class:`CreditGate`). At most ``window + 1`` frames are then in flight to each consumer,
so an input queue of :data:`~dora_sim.contract.CREDIT_QUEUE_SIZE` never overflows: nothing is
dropped, sim time pauses instead, and the pause is reported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dora_sim import codec
from dora_sim import contract as c
from dora_sim.link import NodeLink


@dataclass
class CreditGate:
    """The simulator's side: may frame ``n`` be produced, given the consumers' acks?"""

    window: int = c.CREDIT_WINDOW
    acked: dict[str, int] = field(default_factory=dict)  # consumer input -> newest frame taken

    def expect(self, consumer: str) -> None:
        """A consumer wired at start: it holds the sim from its first frame on."""
        self.acked.setdefault(consumer, -1)

    def ack(self, consumer: str, frame: int) -> None:
        self.acked[consumer] = max(self.acked.get(consumer, -1), frame)

    def closed(self, consumer: str) -> None:
        """A consumer that finished no longer holds the sim."""
        self.acked.pop(consumer, None)

    def behind(self, frame: int) -> dict[str, int]:
        """Consumers that have not taken frame ``frame - window - 1``: how far behind each is."""
        return {
            consumer: frame - 1 - taken
            for consumer, taken in self.acked.items()
            if frame - taken > self.window + 1
        }


class Acker:
    """A lossless consumer's side: acknowledge each frame once it is taken.

    An ack can be lost on its way (dora drops an input when the receiver's ingress channel is
    full, e.g. while the simulator is starved of CPU); acks are cumulative, so only the last one
    before a hold matters, and :meth:`refresh` sends it again while nothing newer is sent.
    """

    REFRESH_S = 0.5

    def __init__(self, link: NodeLink, output: str = c.ACK):
        self.link = link
        self.output = output
        self.taken = -1
        self.sent_at = 0.0

    def take(self, frame: int) -> None:
        """Frame ``frame`` (and every earlier one) is safe with this consumer."""
        if frame > self.taken:
            self.taken = frame
            self._send()

    def refresh(self) -> None:
        """Repeat the newest ack if none was sent for ``REFRESH_S`` (call it when idle)."""
        if self.taken >= 0 and time.monotonic() - self.sent_at >= self.REFRESH_S:
            self._send()

    def _send(self) -> None:
        self.sent_at = time.monotonic()
        self.link.send(self.output, codec.encode_ack(self.taken), {c.MD_FRAME: self.taken})

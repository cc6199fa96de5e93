"""Episode boundaries of ``lerobot-record``, heard the only way a robot can hear them.

LeRobot 0.6 gives a robot no episode hook: ``lerobot-record`` calls ``get_observation`` and
``send_action`` alike in its episode loop and in its reset loop, and keeps its keyboard events
(→ ← Esc) to itself. What it does at every boundary is announce it through
``lerobot.utils.utils.log_say``, which logs the text at INFO on the root logger (before speaking
it): ``Recording episode N`` (N is the dataset's episode index, so a re-recorded episode repeats
its N), ``Reset the environment``, ``Re-record episode`` and ``Stop recording``. A logging handler
hears them in the recording thread, before that loop's next frame.

That is not a documented API, so :func:`check_lerobot_record` reads the installed lerobot-record's
source (without importing it) when the robot connects, and fails loudly if a LeRobot upgrade
changed the announcements.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Final

RECORD_MODULE: Final = "lerobot.scripts.lerobot_record"
EPISODE_START: Final = re.compile(r"Recording episode (\d+)")
RESET_PHASE: Final = "Reset the environment"
RERECORD: Final = "Re-record episode"
STOP: Final = "Stop recording"
# What lerobot-record 0.6's source must contain for the above to hold.
_RECORD_SOURCE_MARKERS: Final = (
    'log_say(f"Recording episode {dataset.num_episodes}"',
    f'log_say("{RESET_PHASE}"',
    f'log_say("{RERECORD}"',
    f'log_say("{STOP}"',
)
_LOG_SAY_MARKER: Final = "logging.info(text)"


@dataclass(frozen=True)
class Announcement:
    kind: str  # "start" | "reset" | "rerecord" | "stop"
    episode: int | None = None  # for "start": the dataset episode index about to be recorded


def parse(text: str) -> Announcement | None:
    if match := EPISODE_START.fullmatch(text):
        return Announcement("start", int(match.group(1)))
    return {
        RESET_PHASE: Announcement("reset"),
        RERECORD: Announcement("rerecord"),
        STOP: Announcement("stop"),
    }.get(text)


class AnnouncementListener(logging.Handler):
    """Collects lerobot-record's announcements from the root logger; :meth:`drain` hands them
    over in order. Attach with :meth:`attach`, detach with :meth:`detach`."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self._heard: deque[Announcement] = deque()

    def emit(self, record: logging.LogRecord) -> None:
        announcement = parse(record.getMessage())
        if announcement is not None:
            self._heard.append(announcement)

    def drain(self) -> list[Announcement]:
        heard = []
        while self._heard:
            heard.append(self._heard.popleft())
        return heard

    def attach(self) -> None:
        logging.getLogger().addHandler(self)

    def detach(self) -> None:
        logging.getLogger().removeHandler(self)


def check_lerobot_record() -> None:
    """Make sure the installed lerobot-record still announces its episodes the way
    :class:`AnnouncementListener` expects (its source is read, not imported: importing it costs
    seconds)."""
    from lerobot.utils.utils import log_say

    spec = importlib.util.find_spec(RECORD_MODULE)
    source = Path(spec.origin).read_text() if spec and spec.origin else ""
    missing = [marker for marker in _RECORD_SOURCE_MARKERS if marker not in source]
    if _LOG_SAY_MARKER not in inspect.getsource(log_say):
        missing.append(f"log_say: {_LOG_SAY_MARKER}")
    if missing:
        raise RuntimeError(
            "dora_sim_so101 resets its scene at each lerobot-record episode by listening to the"
            " episode announcements of LeRobot 0.6's lerobot-record, and this LeRobot's"
            f" lerobot-record no longer makes them ({'; '.join(missing)}). Install lerobot 0.6.x"
            " or a lerobot-robot-dora-sim made for this LeRobot."
        )

"""dora transport settings that dora-sim graphs need: the zenoh overlay against silent drops.

dora 1.1 publishes outputs on zenoh with ``CongestionControl::Drop``, a real-time queue of one
batch and a 1 ms wait before dropping: on a busy machine a burst of one frame's messages loses
some, silently (seen: 2 of 4 recorded episodes discarded for a lost ``applied_action`` at load 8
on 2 cores). ``zenoh-lossless.json5`` (applied through dora's ``DORA_ZENOH_CONFIG_OVERLAY``,
which keeps dora's own zenoh plan) lengthens that queue and wait, turning the drops into short
stalls; the contract's credits bound how much is in flight. ``dora-sim run`` and the test and
benchmark environments set it; for plain ``dora run`` export it (docs/architecture.md).
"""

from __future__ import annotations

from pathlib import Path

OVERLAY_ENV = "DORA_ZENOH_CONFIG_OVERLAY"
FULL_CONFIG_ENV = "ZENOH_CONFIG"  # a whole zenoh config: dora refuses it beside an overlay
OVERLAY = Path(__file__).with_name("zenoh-lossless.json5")


def with_overlay(env: dict[str, str]) -> dict[str, str]:
    """``env`` with dora-sim's zenoh overlay, unless the user configures zenoh already."""
    if OVERLAY_ENV not in env and FULL_CONFIG_ENV not in env:
        env[OVERLAY_ENV] = str(OVERLAY)
    return env

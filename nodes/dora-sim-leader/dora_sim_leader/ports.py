"""Which serial ports could be the leader arm, and what to tell a user whose port does not work."""

from __future__ import annotations

import os
from pathlib import Path

from dora_sim_leader.config import VIRTUAL_ARM_LINK

FIND_PORT_HINT = (
    "Find the arm's port with `lerobot-find-port` (it asks you to unplug the USB cable and reports"
    " the port that disappeared), then set LEADER_PORT to it."
)
VIRTUAL_HINT = (
    f"No arm at hand? Run `dora-sim-virtual-arm` in another terminal and use"
    f" LEADER_PORT={VIRTUAL_ARM_LINK} LEADER_ID=virtual_arm."
)


def candidate_ports() -> list[tuple[str, str]]:
    """(path, description) of serial ports an SO-101 controller board could be on."""
    from serial.tools import list_ports

    found = [(p.device, p.description or "") for p in sorted(list_ports.comports())]
    by_id = Path("/dev/serial/by-id")
    if by_id.is_dir():  # stable names that survive re-plugging: the best LEADER_PORT values
        found += [
            (str(p), f"stable name of {os.path.realpath(p)}") for p in sorted(by_id.iterdir())
        ]
    if os.path.exists(VIRTUAL_ARM_LINK):
        found.append((VIRTUAL_ARM_LINK, "dora-sim-virtual-arm"))
    return found


def describe_candidates() -> str:
    ports = candidate_ports()
    if not ports:
        return "No serial ports found: is the arm's USB cable plugged in?"
    lines = [
        f"  {path}" + (f"  ({what})" if what and what != "n/a" else "") for path, what in ports
    ]
    return "Serial ports on this machine:\n" + "\n".join(lines)


def port_unset_message() -> str:
    return "\n".join(
        ["LEADER_PORT is not set.", describe_candidates(), FIND_PORT_HINT, VIRTUAL_HINT]
    )


def port_missing_message(port: str) -> str:
    return "\n".join(
        [
            f"Serial port {port!r} does not exist (arm unplugged or wrong port).",
            describe_candidates(),
            FIND_PORT_HINT,
            VIRTUAL_HINT,
        ]
    )


def connect_failure_message(port: str, err: BaseException) -> str:
    """Explain a failed ``SOLeader.connect``: permissions, silent motors or a wrong device."""
    chain = []
    cause: BaseException | None = err
    while cause is not None:
        chain.append(str(cause).strip())
        cause = cause.__cause__
    detail = " / ".join(part for part in chain if part)
    if any("Permission denied" in part for part in chain):
        return (
            f"Cannot open {port}: permission denied. On Linux add yourself to the 'dialout'"
            " group (`sudo usermod -aG dialout $USER`, then log in again) or, for this session"
            f" only, `sudo chmod 666 {port}`."
        )
    return "\n".join(
        [
            f"Opened {port} but the SO-101 leader did not answer as expected: {detail}",
            "Is the arm's power supply plugged in? Is this the leader's port (not the follower's or"
            " another device's)? Were the motor ids set with `lerobot-setup-motors`?",
            describe_candidates(),
            FIND_PORT_HINT,
        ]
    )

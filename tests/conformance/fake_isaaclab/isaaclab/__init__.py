"""Fake ``isaaclab`` (Isaac Lab 2.3 interfaces) for dora-sim's tests; see ../README.md."""

"""LeRobot's CLIs on the simulated SO-101 (a package, so its conftest and helpers keep their own
module names beside ``tests/conftest.py``)."""

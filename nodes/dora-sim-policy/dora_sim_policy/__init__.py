"""dora-sim-policy: runs a LeRobot policy closed loop against the dora-sim contract."""

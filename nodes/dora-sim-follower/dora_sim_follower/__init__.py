"""dora-sim-follower: a real SO-101 follower arm speaking the dora-sim contract."""

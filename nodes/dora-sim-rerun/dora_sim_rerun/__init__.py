"""dora-sim-rerun: live view and recording of a dora-sim graph in Rerun (display_data)."""

"""dora-sim-keyboard: keyboard Cartesian jog and episode control for dora-sim (docs/keyboard.md)."""

"""dora-sim-recorder: the simulator's frames into a crash-safe LeRobot v3 dataset.

Modules, in data order: :mod:`.assembler` (per-tick messages → whole frames), :mod:`.sequencer`
(frames + episode events → writer commands), :mod:`.writer` (LeRobot's writer), :mod:`.store`
(atomic commits into the dataset); :mod:`.main` is the dora node. See ``docs/recorder.md``.
"""

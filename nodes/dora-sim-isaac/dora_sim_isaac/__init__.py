"""dora-sim-isaac: the Isaac Lab SO-101 simulator node of dora-sim.

Runs in the Python that runs Isaac Lab, not in the workspace venv: Isaac Lab 3.0 kit-less (Python
3.12, Newton physics and camera, any recent NVIDIA GPU or the CPU) or Isaac Sim 5.1 + Isaac Lab 2.3
(Python 3.11, RTX). Nothing here imports torch, gymnasium or isaaclab at module import: on 2.3,
Isaac Sim must be started (:func:`dora_sim_isaac.isaac_env.launch_app`) before Isaac Lab's
simulation modules import.
"""

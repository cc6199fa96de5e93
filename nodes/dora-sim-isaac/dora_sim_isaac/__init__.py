"""dora-sim-isaac: the Isaac Lab SO-101 simulator node of dora-sim.

Runs in the Python that runs Isaac Lab (numpy 1.26, its own torch), not in the workspace venv.
Nothing here imports torch, gymnasium or isaaclab at module import: Isaac Sim must be started
(:func:`dora_sim_isaac.isaac_env.launch_app`) before Isaac Lab's simulation modules import.
"""

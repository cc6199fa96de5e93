"""LeRobot EnvHub file: put it at the root of a Hub repository (``<user>/<repo>``) and load with
``lerobot.envs.factory.make_env("<user>/<repo>", trust_remote_code=True)`` from a process that
already runs Isaac Sim, in a Python where ``dora-sim-isaac`` is installed (docs/isaac.md).
"""

from dora_sim_isaac.envhub import make_env

__all__ = ["make_env"]

"""LeRobot EnvHub file: put it at the root of a Hub repository (``<user>/<repo>``) and load with
``lerobot.envs.factory.make_env("<user>/<repo>@<commit>", trust_remote_code=True)`` (LeRobot 0.4.4
or 0.6.1; pinning a commit is LeRobot's advice for remote code) from a process that already runs
Isaac Sim, in a Python where ``dora-sim-isaac`` is installed (docs/isaac.md).
"""

from dora_sim_isaac.envhub import make_env

__all__ = ["make_env"]

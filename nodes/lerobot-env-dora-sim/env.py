"""LeRobot EnvHub file for the dora sim's SO-101 scene.

Put it at the root of a Hub repository (``<user>/<repo>``) and load it, in a Python where
``lerobot-env-dora-sim`` is installed, with
``lerobot.envs.factory.make_env("<user>/<repo>@<commit>", trust_remote_code=True)`` (pinning a
commit is LeRobot's advice for remote code). See docs/lerobot-cli.md.
"""

from lerobot_env_dora_sim.envhub import make_env

__all__ = ["make_env"]

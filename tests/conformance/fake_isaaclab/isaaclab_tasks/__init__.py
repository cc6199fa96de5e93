"""Fake ``isaaclab_tasks`` (Isaac Lab's task package): only ``utils.parse_env_cfg`` is used."""

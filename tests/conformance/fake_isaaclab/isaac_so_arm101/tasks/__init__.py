"""Importing the tasks registers them with gymnasium, as the real extension does."""

from isaac_so_arm101.tasks import lift  # noqa: F401

"""Fake of the community ``isaac_so_arm101`` extension (SO-101 robot and lift task)."""

"""dora-sim core: the message contract shared by every dora-sim node.

Import what you need from the submodules: :mod:`dora_sim.contract` (names, units, metadata keys),
:mod:`dora_sim.codec` (Arrow encode/decode with validation), :mod:`dora_sim.units` (so101 units <->
simulator radians), :mod:`dora_sim.config` (env-var configuration). Nothing here imports torch
or lerobot.
"""

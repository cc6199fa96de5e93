#!/bin/sh
# Starts the dora-sim-isaac node in the Python that runs Isaac Lab (docs/isaac.md). The Isaac
# dataflows point their sim node here, because that Python is not the workspace venv's: set
# ISAAC_PYTHON to it (the python of the env where isaacsim/isaaclab are pip-installed, or
# Isaac Sim's python.sh), with dora-sim-core and dora-sim-isaac pip-installed into it.
exec "${ISAAC_PYTHON:?set ISAAC_PYTHON to the Python that runs Isaac Lab (docs/isaac.md)}" \
    -m dora_sim_isaac.main "$@"

"""Adapters that expose vlenvs envs to other RL frameworks.

Each adapter is its own module and imports its framework only when that module is imported:

- :mod:`vlenvs_train.integrations.skyrl_gym`: every vlenvs env as a SkyRL ``skyrl_gym`` text env
  (needs ``pip install 'skyrl-gym>=0.4'``).
"""

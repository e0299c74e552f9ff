"""Wrappers that plug vlenvs envs into other RL libraries."""

from vlenvs.wrappers.image_only import ImageOnly

__all__ = ["ImageOnly"]

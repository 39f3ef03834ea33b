"""cupyx.scipy in the stand-in."""

from . import special

__all__ = ["special"]

"""Staff pages (server-rendered HTML): the reviewer page and the dashboard."""

from . import auth, dashboard, present, review  # noqa: F401  (their views register on bp)
from .blueprint import bp

__all__ = ["bp"]

"""Staff pages (server-rendered HTML): the reviewer page and the dashboard."""

from triage.web.pages import auth, dashboard, present, review  # noqa: F401  (their views register on bp)
from triage.web.pages.blueprint import bp

__all__ = ["bp"]

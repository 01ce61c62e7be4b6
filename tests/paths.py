"""Where the checkout's own files are, for tests that read them directly."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

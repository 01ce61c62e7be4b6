"""The key that signs the staff pages' session cookies: from TRIAGE_SECRET_KEY, else a file
in the instance folder made once. Here, not in the web package, so that `triage serve` can
make or refuse it before the workers start without importing Flask or the metrics."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from triage.errors import BadInput

if TYPE_CHECKING:
    from triage.settings import Settings

__all__ = ["MIN_SECRET_KEY", "secret_key"]

MIN_SECRET_KEY = 32  # characters: secrets.token_hex(16), 128 bits


def secret_key(conf: Settings) -> str:
    """TRIAGE_SECRET_KEY, else the instance folder's key file, made once if missing."""
    if conf.secret_key:
        key, source = conf.secret_key.strip(), "TRIAGE_SECRET_KEY"
    else:
        path = Path(conf.instance_dir) / "secret_key"
        if not path.exists():
            _write_new_key(path)
        key, source = path.read_text(encoding="utf-8").strip(), str(path)
    if len(key) < MIN_SECRET_KEY:
        raise BadInput(
            f"The secret key in {source} is {'empty' if not key else 'too short'}: it needs at least "
            f"{MIN_SECRET_KEY} characters (delete the file to have a new one made, or set TRIAGE_SECRET_KEY)."
        )
    return key


def _write_new_key(path: Path) -> None:
    """A random key, readable by this user only from the first byte, published atomically:
    written in full to a private temporary file, then linked into place, which fails if
    another worker got there first (then its key is the one every worker reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)

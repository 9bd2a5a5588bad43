"""Deployment settings, read once at the edge (the app factory, the CLI)."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: bytes
    var_dir: Path
    max_body_bytes: int = 4 * 1024 * 1024
    max_upload_bytes: int = 2 * 1024**3

    @property
    def upload_dir(self) -> Path:
        """Where uploaded channel exports are kept while (and after) they are imported."""
        return self.var_dir / "imports"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """``DATABANK_DATABASE_URL``, ``DATABANK_SECRET_KEY``, ``DATABANK_VAR_DIR``,
        ``DATABANK_MAX_BODY_BYTES``, ``DATABANK_MAX_UPLOAD_BYTES`` (an import's file).

        Without a database URL the embedded SQLite file ``<var>/databank.sqlite`` is used;
        without a secret one is generated once and kept in ``<var>/secret_key``.
        """
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("DATABANK_VAR_DIR", "var")).resolve()
        url = env.get("DATABANK_DATABASE_URL") or f"sqlite:///{var_dir / 'databank.sqlite'}"
        secret = env.get("DATABANK_SECRET_KEY")
        key = secret.encode() if secret else _embedded_secret(var_dir)
        max_body = int(env.get("DATABANK_MAX_BODY_BYTES", 4 * 1024 * 1024))
        max_upload = int(env.get("DATABANK_MAX_UPLOAD_BYTES", 2 * 1024**3))
        return cls(url, key, var_dir, max_body, max_upload)


def _embedded_secret(var_dir: Path) -> bytes:
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        log.warning(
            "DATABANK_SECRET_KEY is not set: generated a keyed-hash secret in %s. "
            "Keep it: phone and email hashes cannot be matched without it.",
            path,
        )
    return path.read_text().strip().encode()

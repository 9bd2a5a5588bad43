"""Uploads streamed straight to ``DATABANK_VAR_DIR/imports/`` under their own size limit.

Werkzeug writes each file part of a multipart body through the request's file stream
factory; :class:`DatabankRequest` points that at the upload directory for the views
marked :func:`accepts_upload`, so a 2 GiB export is never held in memory nor copied
twice. Files a request leaves unclaimed (a refused mapping, a cut-off upload) are removed.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import IO, Any, TypeVar

from flask import Request, current_app, request
from werkzeug.datastructures import FileStorage

from identity.errors import InvalidInput

__all__ = ["DatabankRequest", "accepts_upload", "keep_upload", "the_upload"]

F = TypeVar("F", bound=Callable[..., Any])


class DatabankRequest(Request):
    upload_dir: Path | None = None
    uploads: list[Path]

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        if self.upload_dir is None:
            return super()._get_file_stream(total_content_length, content_type, filename,
                                            content_length)  # fmt: skip
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        stream = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the request closes it
            "wb+", dir=self.upload_dir, prefix="upload-", suffix=".part", delete=False
        )
        self.uploads.append(Path(stream.name))
        return stream  # type: ignore[return-value]


def accepts_upload(view: F) -> F:
    """Let this view's request body be as large as ``DATABANK_MAX_UPLOAD_BYTES`` and
    stream its files to the upload directory; remove the ones the view did not keep."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settings = current_app.extensions["databank"].settings
        upload_request: DatabankRequest = request  # type: ignore[assignment]
        upload_request.max_content_length = settings.max_upload_bytes
        upload_request.upload_dir = settings.upload_dir
        upload_request.uploads = []
        try:
            return view(*args, **kwargs)
        finally:
            for path in upload_request.uploads:
                path.unlink(missing_ok=True)

    return wrapper  # type: ignore[return-value]


def the_upload() -> FileStorage:
    """The request's one file part, ``file``; anything else is refused."""
    files = request.files
    problems = {name: "Unknown field." for name in files if name != "file"}
    if "file" not in files:
        problems["file"] = "Missing data for required field."
    if problems:
        raise InvalidInput("the upload needs one file part named 'file'", problems)
    return files["file"]


def keep_upload(upload: FileStorage, suffix: str) -> Path:
    """Close the uploaded file and give it its lasting name; it is no longer removed."""
    upload.stream.close()
    source = Path(upload.stream.name)  # type: ignore[union-attr]
    target = source.with_name(f"{secrets.token_hex(12)}.{suffix}")
    os.replace(source, target)
    uploads: list[Path] = request.uploads  # type: ignore[attr-defined]
    uploads.remove(source)
    return target

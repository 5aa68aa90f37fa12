"""Blob storage for evidence files: content-addressed by SHA-256, a folder by default."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    content_type: str

    @property
    def key(self) -> str:
        return self.sha256


class BlobTooLargeError(ValueError):
    """Raised when content exceeds the limit it was written with."""


class BlobStore(Protocol):
    def put(self, data: bytes, content_type: str) -> StoredBlob: ...

    def get(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...


class FolderBlobStore:
    """Blobs as files `<root>/<aa>/<sha256>`; writes are atomic (temp file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            msg = f"not a SHA-256 hex digest: {sha256!r}"
            raise ValueError(msg)
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, content_type: str) -> StoredBlob:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(path)
        return StoredBlob(digest, len(data), content_type)

    def get(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

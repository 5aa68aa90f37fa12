"""Content sniffing: does a file's declared type match its bytes? Evidence is checked, not trusted.

Only the types the hub accepts as evidence are known: a type not listed here never
matches, so an unknown declared type is refused rather than waved through.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
# ISO base media (MP4, MOV): a box whose type is one of these comes first.
_MEDIA_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def base_type(declared: str) -> str:
    """`Text/CSV; charset=utf-8` -> `text/csv`."""
    return declared.split(";", 1)[0].strip().lower()


def _pdf(data: bytes) -> bool:
    # Readers accept a header within the first KiB; producers put it first.
    return b"%PDF-" in data[:1024]


def _png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n")


def _jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff")


def _gif(data: bytes) -> bool:
    return data[:6] in (b"GIF87a", b"GIF89a")


def _webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _media(data: bytes) -> bool:
    return len(data) >= 8 and data[4:8] in _MEDIA_BOXES


def _utf8_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text


def _json(data: bytes) -> bool:
    if not _utf8_text(data):
        return False
    try:
        json.loads(data.decode("utf-8-sig"))
    except ValueError:
        return False
    return True


def _zip_names(data: bytes) -> list[str] | None:
    """The member names (read from the central directory only: nothing is inflated)."""
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


def _office(folder: str) -> Callable[[bytes], bool]:
    def check(data: bytes) -> bool:
        names = _zip_names(data)
        return (
            names is not None
            and "[Content_Types].xml" in names
            and any(name.startswith(folder) for name in names)
        )

    return check


def _opendocument(data: bytes) -> bool:
    names = _zip_names(data)
    return names is not None and "mimetype" in names


def _zip(data: bytes) -> bool:
    return _zip_names(data) is not None


_CHECKS: dict[str, Callable[[bytes], bool]] = {
    "application/pdf": _pdf,
    "image/png": _png,
    "image/jpeg": _jpeg,
    "image/jpg": _jpeg,
    "image/pjpeg": _jpeg,
    "image/gif": _gif,
    "image/webp": _webp,
    "video/mp4": _media,
    "video/quicktime": _media,
    "video/x-m4v": _media,
    "audio/mp4": _media,
    "text/plain": _utf8_text,
    "text/csv": _utf8_text,
    "text/markdown": _utf8_text,
    "text/x-markdown": _utf8_text,
    "application/json": _json,
    "application/zip": _zip,
    _OOXML + "wordprocessingml.document": _office("word/"),
    _OOXML + "spreadsheetml.sheet": _office("xl/"),
    _OOXML + "presentationml.presentation": _office("ppt/"),
    _ODF + "text": _opendocument,
    _ODF + "spreadsheet": _opendocument,
    _ODF + "presentation": _opendocument,
}


def is_known(declared_type: str) -> bool:
    """Whether the hub knows how to check this type at all."""
    return base_type(declared_type) in _CHECKS


def matches(declared_type: str, data: bytes) -> bool:
    """Whether `data` is what `declared_type` says it is (False for an unknown type)."""
    check = _CHECKS.get(base_type(declared_type))
    return check is not None and check(data)


def known_types() -> list[str]:
    return sorted(_CHECKS)

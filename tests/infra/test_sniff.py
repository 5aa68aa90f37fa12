"""Content sniffing: each accepted type against its own bytes and another type's."""

from __future__ import annotations

import io
import zipfile

import pytest

from infra.sniff import base_type, is_known, matches


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


SAMPLES = {
    "application/pdf": b"%PDF-1.4\n...",
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "image/gif": b"GIF89a\x01\x00",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "video/mp4": b"\x00\x00\x00\x18ftypmp42",
    "video/quicktime": b"\x00\x00\x00\x14ftypqt  ",
    "text/plain": "Essay: photosynthèse\n".encode(),
    "text/csv": b"a,b\n1,2\n",
    "text/markdown": b"# Title\n",
    "application/json": b'{"a": 1}',
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _zip(
        "[Content_Types].xml", "word/document.xml"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _zip(
        "[Content_Types].xml", "xl/workbook.xml"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _zip(
        "[Content_Types].xml", "ppt/presentation.xml"
    ),
    "application/vnd.oasis.opendocument.text": _zip("mimetype", "content.xml"),
    "application/zip": _zip("a.txt"),
}


@pytest.mark.parametrize("declared", sorted(SAMPLES))
def test_each_type_matches_its_own_bytes(declared: str) -> None:
    assert is_known(declared)
    assert matches(declared, SAMPLES[declared])


@pytest.mark.parametrize("declared", sorted(SAMPLES))
def test_an_executable_matches_no_type(declared: str) -> None:
    assert not matches(declared, b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00")


def test_a_pdf_is_not_a_png_and_a_docx_needs_its_folder() -> None:
    assert not matches("image/png", SAMPLES["application/pdf"])
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert not matches(
        docx, SAMPLES["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    )
    assert not matches(docx, b"PK\x03\x04 not really a zip")


def test_text_must_be_utf8_without_nul_and_json_must_parse() -> None:
    assert not matches("text/plain", b"\xff\xfe\x00a")
    assert not matches("text/csv", b"a\x00b")
    assert not matches("application/json", b"{not json")


def test_parameters_and_case_are_ignored_and_unknown_types_never_match() -> None:
    assert base_type("Text/CSV; charset=utf-8") == "text/csv"
    assert matches("Text/CSV; charset=utf-8", b"a,b\n")
    assert not is_known("application/x-msdownload")
    assert not matches("application/x-msdownload", b"MZ")

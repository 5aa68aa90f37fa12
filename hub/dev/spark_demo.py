"""The Spark simulator's demo data: courses whose assignments cover every pillar, and files.

Assignment titles are chosen so that the seed's pillar rule (`hub.domain.rules`) puts
each course's work in a different pillar, and estimated hours span the XP rule's range
(50 at least, 500 at most).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

MIB = 1024 * 1024


def _assignment(
    id_: str, title: str, kind: str, hours: float, description: str = ""
) -> dict[str, Any]:
    return {
        "id": id_,
        "title": title,
        "description": description or f"{title} (demo assignment)",
        "assignment_type": kind,
        "estimated_hours": hours,
        "max_points": 100,
    }


def _course(
    id_: str, title: str, category: str, hours: float, assignments: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": id_,
        "title": title,
        "description": f"{title}: a demo course of the Spark simulator",
        "category": category,
        "grade_level": "9-12",
        "duration_hours": hours,
        "assignments": assignments,
    }


def demo_catalogue() -> list[dict[str, Any]]:
    """Courses with their assignments inline (the API lists assignment ids per course)."""
    return [
        _course(
            "course_bio",
            "Biology - Photosynthesis Unit",
            "science",
            20,
            [
                _assignment("assignment_bio_lab", "Biology Lab: Leaf Chromatography", "lab", 2),
                _assignment(
                    "assignment_bio_essay", "Essay: How Plants Convert Sunlight", "essay", 3
                ),
            ],
        ),
        _course(
            "course_writing",
            "Creative Writing Workshop",
            "language arts",
            12,
            [
                _assignment("assignment_story", "Write a Short Story", "essay", 4),
                _assignment("assignment_poetry", "Read and Respond: Poetry Journal", "journal", 1),
            ],
        ),
        _course(
            "course_art",
            "Digital Art Studio",
            "arts",
            15,
            [
                _assignment("assignment_portrait", "Draw a Self-Portrait", "project", 2),
                _assignment("assignment_poster", "Design a Concert Poster", "project", 1.5),
            ],
        ),
        _course(
            "course_wellness",
            "Health and Wellness",
            "health",
            10,
            [
                _assignment("assignment_mindful", "Mindfulness Journal", "journal", 0.5),
                _assignment("assignment_exercise", "Weekly Exercise Plan", "plan", 12),
            ],
        ),
        _course(
            "course_civics",
            "Civics and Society",
            "social studies",
            18,
            [
                _assignment("assignment_interview", "Local Government Interview", "interview", 3),
                _assignment("assignment_debate", "Society and Citizenship Debate", "debate", 2),
            ],
        ),
    ]


@dataclass(frozen=True)
class DemoFile:
    """A file the simulator serves at `/files/{name}`.

    `content_type` is what the response declares (it may lie, on purpose); `size` pads
    the content with zeros up to that many bytes, streamed, without a length when
    `chunked`.
    """

    content: bytes
    content_type: str
    size: int | None = None
    chunked: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return max(self.size or 0, len(self.content))


def pdf_bytes(text: str = "Spark simulator demo evidence") -> bytes:
    """A small, valid one-page PDF showing `text`."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def png_bytes(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (90, 60, 200)) -> bytes:
    """A valid PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """The smallest well-formed JPEG header and end marker (enough for type checks)."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xd9"


def demo_files() -> dict[str, DemoFile]:
    pdf, png = pdf_bytes(), png_bytes()
    return {
        "essay.pdf": DemoFile(pdf, "application/pdf"),
        "diagram.png": DemoFile(png, "image/png"),
        "photo.jpg": DemoFile(jpeg_bytes(), "image/jpeg"),
        "notes.txt": DemoFile(b"Notes from the lab, by the demo learner.\n", "text/plain"),
        # Declared as a PDF, but the bytes are a PNG: the hub must refuse it.
        "wrong-type.pdf": DemoFile(png, "application/pdf"),
        # Larger than the hub's default evidence limit (25 MiB): with and without a length.
        "huge.pdf": DemoFile(pdf, "application/pdf", size=32 * MIB),
        "huge-chunked.pdf": DemoFile(pdf, "application/pdf", size=32 * MIB, chunked=True),
    }

"""Learning rules from the Spark plan: pillars and XP."""

from __future__ import annotations

from enum import StrEnum


class Pillar(StrEnum):
    STEM = "stem"
    COMMUNICATION = "communication"
    ART = "art"
    WELLNESS = "wellness"
    CIVICS = "civics"


# Checked in this order; the first pillar with a matching word wins (seed 000).
_PILLAR_WORDS: tuple[tuple[Pillar, tuple[str, ...]], ...] = (
    (Pillar.STEM, ("math", "science", "physics", "chemistry", "biology", "code", "programming")),
    (Pillar.COMMUNICATION, ("essay", "write", "read", "story", "language")),
    (Pillar.ART, ("art", "draw", "design", "music", "create")),
    (Pillar.WELLNESS, ("health", "wellness", "exercise", "mindfulness")),
    (Pillar.CIVICS, ("history", "civics", "government", "society")),
)


def detect_pillar(title: str, assignment_type: str | None = None) -> Pillar:
    """The pillar of an assignment from its title (then its type); STEM when nothing matches."""
    for text in (title, assignment_type or ""):
        lowered = text.lower()
        for pillar, words in _PILLAR_WORDS:
            if any(word in lowered for word in words):
                return pillar
    return Pillar.STEM


def calculate_xp(estimated_hours: float | None) -> int:
    """50 XP per estimated hour, at least 50 and at most 500; 2 hours when unknown."""
    hours = 2.0 if estimated_hours is None else estimated_hours
    return max(50, min(500, int(hours * 100 / 2)))

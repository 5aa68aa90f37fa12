"""What the badges admin API takes and answers: badge definitions and badges as stored."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

PillarName = Literal["stem", "communication", "art", "wellness", "civics"]
BadgeKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9-]*$"),
]
KEY_RULE = "1-60 lowercase letters, digits or '-'"


class CourseRef(BaseModel):
    """A required course (quest) as its source names it: a Spark course id, an LTI context…"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["spark", "lti", "oneroster", "hub"] = "spark"
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        examples=["course_minecraft_biology"]
    )
    title: Annotated[str, StringConstraints(max_length=200)] = Field(
        default="", examples=["Minecraft Biology"], description="How progress names it."
    )


class BadgeRuleFields(BaseModel):
    """A badge's rule: `pillar` kind (min_quests quests of the pillar and min_xp XP in it)
    or `courses` kind (every required course, and min_xp XP in the badge's pillar)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
    description: Annotated[str, StringConstraints(max_length=1000)] = ""
    pillar: PillarName
    kind: Literal["pillar", "courses"]
    min_quests: int = Field(default=0, ge=0, le=1000)
    min_xp: int = Field(default=0, ge=0, le=10_000_000)
    required_courses: list[CourseRef] = Field(default_factory=list, max_length=100)


class BadgeDefinition(BadgeRuleFields):
    """A new badge: its key (unique in the tenant, kept for good) and its rule."""

    key: BadgeKey = Field(examples=["stem-scholar"], description=KEY_RULE)


class BadgeView(BaseModel):
    """A badge as stored; `position` is the log position of the change just made, if any."""

    id: str
    key: str
    name: str
    description: str
    pillar: str
    kind: str
    min_quests: int
    min_xp: int
    required_courses: list[CourseRef]
    retired: bool
    position: int | None = None

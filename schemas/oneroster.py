"""OneRoster 1.2 CSV binding: files, columns, formats, vocabularies and references, as data.

The columns come from the 1EdTech OneRoster 1.2 CSV binding (Final) as tabulated in
`shared/data/oneroster-v1p2/csv-columns.json`. Every file starts with `sourcedId`,
`status` and `dateLastModified` (the last two required in delta files only); the
rest is written `name:kind`, with `?` after an optional column's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SPEC_VERSION: Final = "1.2"
MANIFEST_VERSION: Final = "1.0"
MANIFEST_HEADER: Final = ("propertyName", "value")
COMMON: Final = ("sourcedId", "status", "dateLastModified")
STATUSES: Final = frozenset({"active", "tobedeleted"})
MODES: Final = frozenset({"absent", "bulk", "delta"})
ID_LIMIT: Final = 255
# Files new in 1.2: a manifest that predates them may leave their row out (absent).
NEW_IN_1P2: Final = frozenset(
    {
        "lineItemLearningObjectiveIds",
        "lineItemScoreScales",
        "resultLearningObjectiveIds",
        "resultScoreScales",
        "roles",
        "scoreScales",
        "userProfiles",
        "userResources",
    }
)

# In dependency order: a file refers only to files before it (and to itself).
_COLUMNS: Final = {
    "orgs": "name:string type:enum identifier?:string parentSourcedId?:ref",
    "academicSessions": (
        "title:string type:enum startDate:date endDate:date parentSourcedId?:ref schoolYear:year"
    ),
    "categories": "title:string weight?:int",
    "users": (
        "enabledUser:bool username:string userIds?:strings givenName:string "
        "familyName:string middleName?:string identifier?:string email?:string "
        "sms?:string phone?:string agentSourcedIds?:refs grades?:string password?:string "
        "userMasterIdentifier?:string resourceSourcedIds?:refs preferredGivenName?:string "
        "preferredMiddleName?:string preferredFamilyName?:string primaryOrgSourcedId?:ref "
        "pronouns?:string"
    ),
    "demographics": (
        "birthDate?:date sex?:enum americanIndianOrAlaskaNative?:enum asian?:enum "
        "blackOrAfricanAmerican?:enum nativeHawaiianOrOtherPacificIslander?:enum "
        "white?:enum demographicRaceTwoOrMoreRaces?:enum hispanicOrLatinoEthnicity?:enum "
        "countryOfBirthCode?:string stateOfBirthAbbreviation?:string cityOfBirth?:string "
        "publicSchoolResidenceStatus?:string"
    ),
    "userProfiles": (
        "userSourcedId:guid profileType:string vendorId:string applicationId?:string "
        "description?:string credentialType:string username:string password?:string"
    ),
    "roles": (
        "userSourcedId:ref roleType:enum role:enum beginDate?:date endDate?:date "
        "orgSourcedId:ref userProfileSourcedId?:ref"
    ),
    "courses": (
        "schoolYearSourcedId?:ref title:string courseCode?:string grades?:strings "
        "orgSourcedId:ref subjects?:strings subjectCodes?:strings"
    ),
    "classes": (
        "title:string grades?:strings courseSourcedId:ref classCode?:string "
        "classType:enum location?:string schoolSourcedId:ref termSourcedIds:refs "
        "subjects?:strings subjectCodes?:strings periods?:strings"
    ),
    "enrollments": (
        "classSourcedId:ref schoolSourcedId:ref userSourcedId:ref role:enum primary?:enum "
        "beginDate?:date endDate?:date"
    ),
    "resources": (
        "vendorResourceId:string title?:string roles?:enums importance?:enum "
        "vendorId?:string applicationId?:string"
    ),
    "classResources": "title?:string classSourcedId:ref resourceSourcedId:ref",
    "courseResources": "title?:string courseSourcedId:ref resourceSourcedId:ref",
    "userResources": (
        "userSourcedId:ref orgSourcedId?:ref classSourcedId?:ref resourceSourcedId:ref"
    ),
    "scoreScales": (
        "title:string type:string orgSourcedId:ref courseSourcedId:ref classSourcedId:ref "
        "scoreScaleValue:strings"
    ),
    "lineItems": (
        "title:string description?:string assignDate:date dueDate:date classSourcedId:ref "
        "categorySourcedId:ref academicSessionSourcedId:ref resultValueMin?:float "
        "resultValueMax?:float schoolSourcedId:ref"
    ),
    "lineItemLearningObjectiveIds": "lineItemSourcedId:ref source:enum learningObjectiveId:string",
    "lineItemScoreScales": "title?:string lineItemSourcedId:ref scoreScaleSourcedId:ref",
    "results": (
        "lineItemSourcedId:ref studentSourcedId:ref scoreStatus:enum score?:float "
        "scoreDate:date comment?:string textScore?:string classSourcedId?:ref "
        "inProgress?:bool incomplete?:bool late?:bool missing?:bool"
    ),
    "resultLearningObjectiveIds": (
        "resultSourcedId:ref source:enum learningObjectiveId:string score?:float textScore?:string"
    ),
    "resultScoreScales": "title?:string resultSourcedId:ref scoreScaleSourcedId:ref",
}

_TRUE_FALSE = frozenset({"true", "false"})
_ROLES = frozenset(
    {
        "aide",
        "counselor",
        "districtAdministrator",
        "guardian",
        "parent",
        "principal",
        "proctor",
        "relative",
        "siteAdministrator",
        "student",
        "systemAdministrator",
        "teacher",
    }
)
_RACES = (
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
)
# Values of enumerations we check (`ext:` values are accepted where the binding allows
# extension); other enumerations are free text.
VOCABULARIES: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("orgs", "type"): frozenset({"department", "district", "local", "national", "school", "state"}),
    ("academicSessions", "type"): frozenset({"gradingPeriod", "semester", "schoolYear", "term"}),
    ("classes", "classType"): frozenset({"homeroom", "scheduled"}),
    ("enrollments", "role"): frozenset({"administrator", "proctor", "student", "teacher"}),
    ("enrollments", "primary"): _TRUE_FALSE,
    ("roles", "roleType"): frozenset({"primary", "secondary"}),
    ("roles", "role"): _ROLES,
    ("resources", "roles"): _ROLES | {"administrator"},
    ("resources", "importance"): frozenset({"primary", "secondary"}),
    ("demographics", "sex"): frozenset({"female", "male", "other", "unspecified"}),
    **{("demographics", race): _TRUE_FALSE for race in _RACES},
    ("results", "scoreStatus"): frozenset(
        {"exempt", "fully graded", "not submitted", "partially graded", "submitted"}
    ),
}
EXTENSIBLE: Final = frozenset(
    {
        ("orgs", "type"),
        ("academicSessions", "type"),
        ("classes", "classType"),
        ("enrollments", "role"),
        ("roles", "role"),
        ("resources", "roles"),
    }
)

# (file, column) -> the file whose sourcedIds it names.
REFERENCES: Final[dict[tuple[str, str], str]] = {
    ("orgs", "parentSourcedId"): "orgs",
    ("academicSessions", "parentSourcedId"): "academicSessions",
    ("users", "agentSourcedIds"): "users",
    ("users", "resourceSourcedIds"): "resources",
    ("users", "primaryOrgSourcedId"): "orgs",
    ("userProfiles", "userSourcedId"): "users",
    ("roles", "userSourcedId"): "users",
    ("roles", "orgSourcedId"): "orgs",
    ("roles", "userProfileSourcedId"): "userProfiles",
    ("courses", "schoolYearSourcedId"): "academicSessions",
    ("courses", "orgSourcedId"): "orgs",
    ("classes", "courseSourcedId"): "courses",
    ("classes", "schoolSourcedId"): "orgs",
    ("classes", "termSourcedIds"): "academicSessions",
    ("enrollments", "classSourcedId"): "classes",
    ("enrollments", "schoolSourcedId"): "orgs",
    ("enrollments", "userSourcedId"): "users",
    ("classResources", "classSourcedId"): "classes",
    ("classResources", "resourceSourcedId"): "resources",
    ("courseResources", "courseSourcedId"): "courses",
    ("courseResources", "resourceSourcedId"): "resources",
    ("userResources", "userSourcedId"): "users",
    ("userResources", "orgSourcedId"): "orgs",
    ("userResources", "classSourcedId"): "classes",
    ("userResources", "resourceSourcedId"): "resources",
    ("scoreScales", "orgSourcedId"): "orgs",
    ("scoreScales", "courseSourcedId"): "courses",
    ("scoreScales", "classSourcedId"): "classes",
    ("lineItems", "classSourcedId"): "classes",
    ("lineItems", "categorySourcedId"): "categories",
    ("lineItems", "academicSessionSourcedId"): "academicSessions",
    ("lineItems", "schoolSourcedId"): "orgs",
    ("lineItemLearningObjectiveIds", "lineItemSourcedId"): "lineItems",
    ("lineItemScoreScales", "lineItemSourcedId"): "lineItems",
    ("lineItemScoreScales", "scoreScaleSourcedId"): "scoreScales",
    ("results", "lineItemSourcedId"): "lineItems",
    ("results", "studentSourcedId"): "users",
    ("results", "classSourcedId"): "classes",
    ("resultLearningObjectiveIds", "resultSourcedId"): "results",
    ("resultScoreScales", "resultSourcedId"): "results",
    ("resultScoreScales", "scoreScaleSourcedId"): "scoreScales",
}


@dataclass(frozen=True)
class Column:
    """One column of a file: its name, whether every row needs a value, and its format.

    `required` is "yes", "delta" (status and dateLastModified) or "no"; `kind` one of
    guid, ref, refs, string, strings, enum, enums, date, datetime, bool, int, float, year.
    """

    name: str
    required: str
    kind: str
    vocabulary: frozenset[str] | None = None
    extensible: bool = False
    references: str | None = None


@dataclass(frozen=True)
class FileSpec:
    """A data file of the bundle: its name without `.csv`, and its columns in order."""

    name: str
    columns: tuple[Column, ...]

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def data_columns(self) -> tuple[Column, ...]:
        """The columns after sourcedId, status and dateLastModified."""
        return self.columns[3:]


def _column(file: str, text: str) -> Column:
    name, kind = text.split(":")
    optional = name.endswith("?")
    name = name.rstrip("?")
    return Column(
        name=name,
        required="no" if optional else "yes",
        kind=kind,
        vocabulary=VOCABULARIES.get((file, name)),
        extensible=(file, name) in EXTENSIBLE,
        references=REFERENCES.get((file, name)),
    )


def _file(name: str, columns: str) -> FileSpec:
    common = (
        Column("sourcedId", "yes", "guid"),
        Column("status", "delta", "enum", vocabulary=STATUSES),
        Column("dateLastModified", "delta", "datetime"),
    )
    return FileSpec(name, common + tuple(_column(name, text) for text in columns.split()))


FILES: Final[dict[str, FileSpec]] = {name: _file(name, cols) for name, cols in _COLUMNS.items()}
"""Every data file of a 1.2 bundle, in dependency order."""
ORDER: Final = tuple(FILES)

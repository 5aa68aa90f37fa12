"""The IRIs of what the hub describes in Caliper, and the deterministic ids of its events.

Everything is a `urn:hub:<tenant>:...` URN: stable, tenant-scoped, and free of any
host name a deployment may change. A person's IRI is built from their hub learner id,
or, for a pseudonymous tenant, from their pseudonym (see `People`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote
from uuid import NAMESPACE_URL, uuid5

from hub.caliper.settings import pseudonym
from schemas.caliper import Person, SoftwareApplication, SystemIdentifier


def hex_of(aggregate_id: str) -> str:
    """The uuid hex of a hub aggregate id (`<tenant>.<Type>.<hex>`)."""
    return aggregate_id.rsplit(".", 1)[-1]


def caliper_event_id(tenant: str, source_event: str, kind: str) -> str:
    """`urn:uuid:` uuid5 over the tenant, the source event (`<aggregate id>@<version>`) and
    which Caliper event it gave (`GradeEvent.Graded`): a replay gives the same id."""
    key = "\x1f".join((tenant, source_event, kind))
    return f"urn:uuid:{uuid5(NAMESPACE_URL, key)}"


@dataclass(frozen=True)
class Iris:
    """IRIs of one tenant's things. With `key` (a pseudonymous tenant's), the ids of
    attempts, scores and sessions are keyed hashes too: the hub's own ids are uuid5 over
    external ids, which anyone who knows those could recompute and link."""

    tenant: str
    key: str | None = None

    def _token(self, aggregate_id: str) -> str:
        if self.key is None:
            return hex_of(aggregate_id)
        return pseudonym(self.key, self.tenant, aggregate_id)[:32]

    @property
    def base(self) -> str:
        return f"urn:hub:{self.tenant}"

    def app(self, source: str) -> str:
        return f"{self.base}:app:{source}"

    def course(self, source: str, key: str) -> str:
        return f"{self.base}:course:{source}:{_part(key)}"

    def assignment(self, source: str, key: str) -> str:
        return f"{self.base}:assignment:{source}:{_part(key)}"

    def link(self, aggregate_id: str) -> str:
        """A platform's resource link that launches the hub (the hub as a tool)."""
        return f"{self.base}:link:{hex_of(aggregate_id)}"

    def platform_link(self, link_id: str) -> str:
        """A resource link of the hub's, to an external tool (the hub as a platform)."""
        return f"{self.base}:platform-link:{_part(link_id)}"

    def tool(self, client_id: str) -> str:
        """An external tool the hub launches, by the client id the hub gave it."""
        return f"{self.base}:tool:{_part(client_id)}"

    def attempt(self, aggregate_id: str) -> str:
        return f"{self.base}:attempt:{self._token(aggregate_id)}"

    def score(self, source_event: str) -> str:
        aggregate_id, _, version = source_event.partition("@")
        return f"{self.base}:score:{self._token(aggregate_id)}:{version}"

    def session(self, aggregate_id: str) -> str:
        return f"{self.base}:session:{self._token(aggregate_id)}"

    def page(self, kind: str, owner: str = "") -> str:
        """A page: `dashboard`, or `portfolio` of `owner` (the last part of a person's IRI)."""
        return f"{self.base}:page:{kind}" + (f":{owner}" if owner else "")

    def membership(self, course: str, person: str) -> str:
        return f"{course}:member:{person.rsplit(':', 1)[-1]}"

    def sensor(self) -> str:
        return f"{self.base}:sensor:caliper"


def _part(key: str) -> str:
    """An external key as one URN part (an LTI context key holds a URL and `|`)."""
    return quote(key, safe="-._~")


APP_NAMES = {"hub": "Education integration hub", "spark": "Spark LMS"}


def application(iris: Iris, source: str) -> SoftwareApplication:
    return SoftwareApplication(id=iris.app(source), name=APP_NAMES.get(source, source))


@dataclass(frozen=True)
class People:
    """Persons as a tenant shows them: by hub learner id with name and source ids, or, when
    `pseudonym_key` is set, by a keyed hash of the learner id alone (no name, no ids)."""

    iris: Iris
    pseudonym_key: str | None = None

    @property
    def pseudonymous(self) -> bool:
        return self.pseudonym_key is not None

    def iri(self, learner_id: str) -> str:
        if self.pseudonym_key is not None:
            hashed = pseudonym(self.pseudonym_key, self.iris.tenant, learner_id)
            return f"{self.iris.base}:pseudonym:{hashed}"
        return f"{self.iris.base}:person:{hex_of(learner_id)}"

    def person(
        self, learner_id: str, *, name: str = "", source: str = "", external_id: str = ""
    ) -> Person:
        if self.pseudonymous:
            return Person(id=self.iri(learner_id))
        identifiers = None
        if source and external_id:
            identifiers = [
                SystemIdentifier(
                    identifier=external_id,
                    identifierType="SystemId",
                    source=self.iris.app(source),
                )
            ]
        return Person(id=self.iri(learner_id), name=name or None, otherIdentifiers=identifiers)

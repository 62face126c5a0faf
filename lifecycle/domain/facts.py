"""Facts: immutable, past-tense events about one subject, validated at the edge (SPEC §2).

A fact as read from a file or the command line is one of the models below. Once stored,
the ledger wraps it in a `RecordedFact` that adds its `event_id`, `recorded_at` and place
in the log. Identity (and so `event_id`) is derived from the fact's normalised content, so
recording the same fact twice stores it once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from lifecycle.domain.streams import LEDGER_NAMESPACE
from lifecycle.domain.timeutil import TimeError, format_instant, parse_instant

PERSON = "person"
ACCOUNT = "account"
OPPORTUNITY = "opportunity"
#: Every subject type, in the order reports list them.
SUBJECT_TYPES = (PERSON, ACCOUNT, OPPORTUNITY)
_ARTICLE = {PERSON: "a person", ACCOUNT: "an account", OPPORTUNITY: "an opportunity"}
_PLURAL = {PERSON: "persons", ACCOUNT: "accounts", OPPORTUNITY: "opportunities"}


def plural(subject_type: str) -> str:
    """`persons`, `accounts`, `opportunities`: the subject type counted in a caption."""
    return _PLURAL.get(subject_type, f"{subject_type}s")


#: No NUL character: PostgreSQL cannot keep one in text, so it is a bad row on every store.
NO_NUL = r"^[^\x00]*$"
SubjectId = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)]


class Subject(NamedTuple):
    """A person, an account or an opportunity, by the id it has in the source system."""

    type: str
    id: str

    @property
    def stream_id(self) -> uuid.UUID:
        """The event-store stream that holds this subject's facts."""
        return _stream_id(self.type, self.id)


@lru_cache(maxsize=200_000)
def _stream_id(kind: str, subject_id: str) -> uuid.UUID:
    return uuid.uuid5(LEDGER_NAMESPACE, json.dumps([kind, subject_id]))


class FactInputError(ValueError):
    """A fact that does not validate; `field` names the culprit when there is one."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field


def _lower_trim(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class FactModel(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", coerce_numbers_to_str=True, str_max_length=10_000
    )

    person_id: SubjectId | None = None
    account_id: SubjectId | None = None
    occurred_at: datetime
    #: Declared after `occurred_at`, which older facts' canonical JSON has before their
    #: optional fields: a fact without an opportunity keeps its identity.
    opportunity_id: SubjectId | None = None
    source: Text | None = None
    source_id: Text | None = None
    actor: Text | None = None
    campaign: Text | None = None
    #: Source-specific details kept with the fact (e.g. HubSpot's sourceType).
    attributes: dict[str, Text] = Field(default_factory=dict)

    #: Which subject kinds the fact may name: the subject field is checked against this.
    subject_kinds: ClassVar[tuple[str, ...]] = SUBJECT_TYPES

    if TYPE_CHECKING:
        #: The fact's type tag: a Literal field of each model. Not declared here, where it
        #: would come first in the canonical JSON that identities are hashed from.
        type: str

        def __getattr__(self, name: str) -> Any:
            """A field of one type (`value`, `kind`...), read once the type is known."""

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _instant(cls, value: Any, info: Any) -> datetime:
        assume_tz = (info.context or {}).get("assume_tz")
        if not isinstance(value, str | datetime):
            raise PydanticCustomError("timestamp", "expected an ISO 8601 timestamp")
        try:
            return parse_instant(value, assume_tz)
        except TimeError as exc:
            raise PydanticCustomError("timestamp", str(exc)) from None

    @field_validator("attributes")
    @classmethod
    def _sorted(cls, value: dict[str, str]) -> dict[str, str]:
        """Sorted, so the canonical form does not depend on the input's key order."""
        return dict(sorted(value.items()))

    @field_serializer("occurred_at")
    def _utc(self, value: datetime) -> str | None:
        return format_instant(value)

    @model_validator(mode="after")
    def _one_subject(self) -> FactModel:
        self._check_subject()
        return self

    def _check_subject(self) -> None:
        named = [kind for kind in SUBJECT_TYPES if getattr(self, f"{kind}_id") is not None]
        if len(named) != 1:
            fields = [f"{kind}_id" for kind in self.subject_kinds]
            listed = (" or ".join(fields) if len(fields) <= 2
                      else ", ".join(fields[:-1]) + " or " + fields[-1])
            raise PydanticCustomError(
                "subject",
                f"exactly one of {listed} must name the subject",
                {"field": f"{named[-1]}_id" if named else fields[0]},
            )
        kind = named[0]
        if kind not in self.subject_kinds:
            allowed = " or ".join(_ARTICLE[k] for k in self.subject_kinds)
            raise PydanticCustomError(
                "subject",
                f"a {self.type} fact is about {allowed}, not {_ARTICLE[kind]}",
                {"field": f"{kind}_id"},
            )

    @property
    def subject(self) -> Subject:
        for kind in SUBJECT_TYPES:
            subject_id = getattr(self, f"{kind}_id")
            if subject_id is not None:
                return Subject(kind, subject_id)
        raise AssertionError("a validated fact names its subject")  # pragma: no cover

    def _check_pair(self, own: str, other: str) -> None:
        """For facts naming two subjects: both given, nothing else."""
        for kind in (own, other):
            if getattr(self, f"{kind}_id") is None:
                raise PydanticCustomError(
                    "subject", f"a {self.type} fact needs both {own}_id and {other}_id",
                    {"field": f"{kind}_id"})
        for kind in SUBJECT_TYPES:
            if kind not in (own, other) and getattr(self, f"{kind}_id") is not None:
                raise PydanticCustomError(
                    "subject", f"a {self.type} fact names {_ARTICLE[own]} and "
                    f"{_ARTICLE[other]}, not {_ARTICLE[kind]}", {"field": f"{kind}_id"})

    def canonical(self) -> dict[str, Any]:
        """The normalised content: UTC instants, defaults filled, empty fields dropped."""
        data = self.model_dump(mode="json", exclude_none=True)
        if not data.get("attributes"):
            data.pop("attributes", None)
        return data

    def canonical_json(self) -> str:
        """The canonical content as compact JSON.

        Serialised by pydantic-core in the model's declared field order: the same fields
        always give the same text, whatever order the input had them in. Callers that
        need it several times (identity, chain, stored state) keep it.
        """
        exclude = None if self.attributes else {"attributes"}
        return self.__pydantic_serializer__.to_json(
            self, exclude_none=True, exclude=exclude).decode()

    def content_hash(self, canonical: str | None = None) -> str:
        return hashlib.sha256((canonical or self.canonical_json()).encode()).hexdigest()

    def identity(self, canonical: str | None = None) -> str:
        """`source` + `source_id` when both are given, else a hash of the content."""
        if self.source is not None and self.source_id is not None:
            return json.dumps(["source", self.source, self.source_id])
        return json.dumps(["content", self.content_hash(canonical)])

    def event_id(self, canonical: str | None = None) -> uuid.UUID:
        return uuid.uuid5(LEDGER_NAMESPACE, self.identity(canonical))


class StatusChanged(FactModel):
    """A status field changed to `value` (`""` means it was cleared)."""

    type: Literal["status_changed"] = "status_changed"
    field: Annotated[str, StringConstraints(
        min_length=1, max_length=256, pattern=NO_NUL)] = "lifecycle_stage"
    value: Text
    previous: Text | None = None


class HandRaised(FactModel):
    """A person asked for contact: a demo request, a contact-sales form."""

    type: Literal["hand_raised"] = "hand_raised"
    subject_kinds: ClassVar[tuple[str, ...]] = (PERSON,)
    kind: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=NO_NUL)]
    fit: Literal["high", "medium", "low"] | None = None

    _fit = field_validator("fit", mode="before")(_lower_trim)


class Disqualified(FactModel):
    """Sales or marketing ruled the subject out."""

    type: Literal["disqualified"] = "disqualified"
    reason: Text | None = None


class RenewalFlagged(FactModel):
    """A renewal, upgrade or at-risk flag was raised or cleared on an account."""

    type: Literal["renewal_flagged"] = "renewal_flagged"
    subject_kinds: ClassVar[tuple[str, ...]] = (ACCOUNT,)
    flag: Literal["renewal", "upgrade", "at_risk"]
    state: Literal["raised", "cleared"]

    _norm = field_validator("flag", "state", mode="before")(_lower_trim)


class PersonLinked(FactModel):
    """From `occurred_at` on, the person belongs to `account_id`."""

    type: Literal["person_linked"] = "person_linked"
    subject_kinds: ClassVar[tuple[str, ...]] = (PERSON,)

    def _check_subject(self) -> None:
        self._check_pair(PERSON, ACCOUNT)

    @property
    def subject(self) -> Subject:
        assert self.person_id is not None
        return Subject(PERSON, self.person_id)


class PersonLeft(FactModel):
    """The person no longer works at their account."""

    type: Literal["person_left"] = "person_left"
    subject_kinds: ClassVar[tuple[str, ...]] = (PERSON,)


class OpportunityLinked(FactModel):
    """From `occurred_at` on, the opportunity belongs to `account_id` and has `kind` (the
    opportunity's type: `Renewal`, `newbusiness`...; SPEC §7)."""

    type: Literal["opportunity_linked"] = "opportunity_linked"
    subject_kinds: ClassVar[tuple[str, ...]] = (OPPORTUNITY,)
    kind: Text | None = None

    def _check_subject(self) -> None:
        self._check_pair(OPPORTUNITY, ACCOUNT)

    @property
    def subject(self) -> Subject:
        assert self.opportunity_id is not None
        return Subject(OPPORTUNITY, self.opportunity_id)


class ContactRole(FactModel):
    """From `occurred_at` on, the person holds (`added`) or no longer holds (`removed`) a
    role on the opportunity (SPEC §7)."""

    type: Literal["contact_role"] = "contact_role"
    subject_kinds: ClassVar[tuple[str, ...]] = (OPPORTUNITY,)
    state: Literal["added", "removed"] = "added"
    role: Text | None = None

    _state = field_validator("state", mode="before")(_lower_trim)

    def _check_subject(self) -> None:
        self._check_pair(OPPORTUNITY, PERSON)

    @property
    def subject(self) -> Subject:
        assert self.opportunity_id is not None
        return Subject(OPPORTUNITY, self.opportunity_id)


class Merged(FactModel):
    """`merged_id` turned out to be the same subject as this one: a converted lead, a merged
    duplicate. Its facts derive as this subject's (SPEC §8)."""

    type: Literal["merged"] = "merged"
    merged_id: SubjectId

    @model_validator(mode="after")
    def _not_itself(self) -> Merged:
        if self.merged_id == self.subject.id:
            raise PydanticCustomError(
                "merge", f"{self.subject.type} {self.merged_id!r} cannot be merged into itself",
                {"field": "merged_id"})
        return self

    @property
    def alias(self) -> Subject:
        """The subject merged away."""
        return Subject(self.subject.type, self.merged_id)


class FactRetracted(FactModel):
    """The fact `target_event_id` is to be ignored by every derivation from now on."""

    type: Literal["retracted"] = "retracted"
    target_event_id: uuid.UUID
    reason: Text | None = None


Fact = Annotated[
    StatusChanged | HandRaised | Disqualified | RenewalFlagged | PersonLinked | PersonLeft
    | OpportunityLinked | ContactRole | Merged | FactRetracted,
    Field(discriminator="type"),
]
FACT_TYPES: dict[str, type[FactModel]] = {
    cls.model_fields["type"].default: cls
    for cls in (StatusChanged, HandRaised, Disqualified, RenewalFlagged, PersonLinked,
                PersonLeft, OpportunityLinked, ContactRole, Merged, FactRetracted)
}
_FACT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Fact)
FIELD_DEFAULTS: dict[type[FactModel], dict[str, Any]] = {
    cls: {name: None if name == "attributes" else info.get_default(call_default_factory=True)
          for name, info in cls.model_fields.items() if not info.is_required()}
    for cls in FACT_TYPES.values()}


def parse_fact(data: dict[str, Any], assume_tz: ZoneInfo | None = None) -> FactModel:
    """Validate one fact given as a mapping of its canonical field names."""
    if not isinstance(data, dict):
        raise FactInputError("a fact must be an object of field names and values")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in FACT_TYPES:  # a list or object is unhashable
        known = ", ".join(FACT_TYPES)
        shown = kind if isinstance(kind, str) else json.dumps(kind)
        raise FactInputError(
            f"unknown fact type {shown!r} (expected one of: {known})"
            if kind is not None else "missing fact type",
            "type",
        )
    try:
        return _FACT_ADAPTER.validate_python(data, context={"assume_tz": assume_tz})
    except ValidationError as exc:
        raise _input_error(exc) from None


def _input_error(exc: ValidationError) -> FactInputError:
    error = exc.errors(include_url=False)[0]
    loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
    # The discriminated union puts the type tag first; the field is what follows.
    if loc and loc[0] in FACT_TYPES:
        loc = loc[1:]
    field = ".".join(loc) or (error.get("ctx") or {}).get("field")
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "required field is missing"
    elif error["type"] == "string_pattern_mismatch":
        message = "contains a NUL character (\\u0000), which cannot be stored"
    return FactInputError(message, field)

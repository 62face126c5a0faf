"""Definitions: which stages exist and which facts move a subject into which (SPEC §3).

`load_definitions` is the one pure function that turns YAML text into a validated,
immutable `Definitions`; reading files is the caller's business.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from lifecycle.domain.timeutil import parse_duration

#: Keys end up in the read-model tables: no NUL character (PostgreSQL cannot keep one).
Key = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
FIT_ORDER = {"low": 1, "medium": 2, "high": 3}
FLAGS = ("renewal", "upgrade", "at_risk")
#: Keys added after definitions were first published: left out of the canonical form while
#: at their defaults, so that definitions which do not use them keep their content hash.
_LATER_DEFAULTS: dict[str, Any] = {"opportunity_cascade": "none", "opportunity_closed": [],
                                   "opportunity_flags": {}}


class DefinitionsError(ValueError):
    """Definitions that do not validate; the message names the offending key."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)


class Stage(_Model):
    key: Key
    label: str = ""
    kind: Literal["path", "off_path", "exit"]
    rank: int | None = None

    @model_validator(mode="after")
    def _label_and_rank(self) -> Stage:
        if not self.label:
            object.__setattr__(self, "label", self.key)
        if self.kind == "exit" and self.rank is not None:
            raise ValueError(f"stage {self.key!r} is an exit stage and takes no rank")
        if self.kind != "exit" and self.rank is None:
            raise ValueError(f"stage {self.key!r} is a {self.kind} stage and needs a rank")
        return self


class HandRaisedMap(_Model):
    kinds: list[Key]
    to: Key
    min_fit: Literal["high", "medium", "low"] | None = None

    @field_validator("min_fit", mode="before")
    @classmethod
    def _fit(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class StageMap(_Model):
    status: dict[str, dict[str, Key]] = Field(default_factory=dict)
    hand_raised: HandRaisedMap | None = None
    disqualified: Key | None = None
    person_left: Key | None = None


class Sla(_Model):
    name: Key
    stage: Key
    within: str

    @field_validator("within")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def duration(self) -> timedelta:
        return parse_duration(self.within)


class Definitions(_Model):
    """A versioned definition of the stages and of what moves a subject between them."""

    version: Key
    stages: list[Stage] = Field(min_length=1)
    map: StageMap = Field(default_factory=StageMap)
    account_rollup: Literal["most_advanced", "none"] = "most_advanced"
    stamp_skipped: bool = True
    #: SPEC §7: persons take the stages of the opportunities they hold a role on.
    opportunity_cascade: Literal["contact_roles", "none"] = "none"
    #: Stages in which an opportunity is no longer open.
    opportunity_closed: list[Key] = Field(default_factory=list)
    #: Flags an account has while an open opportunity of a listed kind belongs to it.
    opportunity_flags: dict[Literal["renewal", "upgrade", "at_risk"], list[Key]] = Field(
        default_factory=dict)
    sla: list[Sla] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Definitions:
        keys: set[str] = set()
        path_ranks: dict[int, str] = {}
        for stage in self.stages:
            if stage.key in keys:
                raise ValueError(f"stages: stage {stage.key!r} is listed twice")
            keys.add(stage.key)
            if stage.kind == "path":
                assert stage.rank is not None
                if stage.rank in path_ranks:
                    raise ValueError(
                        f"stages: path stages {path_ranks[stage.rank]!r} and {stage.key!r} "
                        f"share rank {stage.rank}"
                    )
                path_ranks[stage.rank] = stage.key
        for stage in self.stages:
            if stage.kind == "off_path" and stage.rank not in path_ranks:
                raise ValueError(
                    f"stages: off_path stage {stage.key!r} has rank {stage.rank}, "
                    "which no path stage has"
                )
        for where, key in self._stage_references():
            if key not in keys:
                raise ValueError(f"{where}: unknown stage {key!r}")
        self._check_status_values()
        return self

    def _stage_references(self) -> list[tuple[str, str]]:
        refs = [
            (f"map.status.{field}.{value}", stage)
            for field, values in self.map.status.items()
            for value, stage in values.items()
        ]
        if self.map.hand_raised is not None:
            refs.append(("map.hand_raised.to", self.map.hand_raised.to))
        if self.map.disqualified is not None:
            refs.append(("map.disqualified", self.map.disqualified))
        if self.map.person_left is not None:
            refs.append(("map.person_left", self.map.person_left))
        refs += [(f"sla.{sla.name}.stage", sla.stage) for sla in self.sla]
        refs += [("opportunity_closed", stage) for stage in self.opportunity_closed]
        return refs

    def _check_status_values(self) -> None:
        for field, values in self.map.status.items():
            seen: dict[str, str] = {}
            for value, stage in values.items():
                norm = normalise(value)
                if not norm:
                    raise ValueError(
                        f"map.status.{field}: an empty value means 'cleared' and cannot map"
                    )
                if norm in seen and seen[norm] != stage:
                    raise ValueError(
                        f"map.status.{field}: values {value!r} and another spelling map to "
                        f"different stages ({seen[norm]!r}, {stage!r}); values match "
                        "case-insensitively"
                    )
                seen[norm] = stage

    # ---- derived lookups, used by derivation -------------------------------------------

    @cached_property
    def stage_by_key(self) -> dict[str, Stage]:
        return {stage.key: stage for stage in self.stages}

    @cached_property
    def order(self) -> dict[str, int]:
        """Each stage's position in the definitions (the report order)."""
        return {stage.key: index for index, stage in enumerate(self.stages)}

    @cached_property
    def status_lookup(self) -> dict[str, dict[str, str]]:
        return {
            field: {normalise(value): stage for value, stage in values.items()}
            for field, values in self.map.status.items()
        }

    @cached_property
    def hand_raise_kinds(self) -> frozenset[str]:
        hand = self.map.hand_raised
        return frozenset(normalise(kind) for kind in hand.kinds) if hand else frozenset()

    @cached_property
    def flag_kinds(self) -> dict[str, str]:
        """Opportunity kind (normalised) -> the flag an open opportunity of it raises."""
        return {normalise(kind): flag for flag, kinds in self.opportunity_flags.items()
                for kind in kinds}

    def is_open(self, stage: str | None) -> bool:
        """An opportunity in `stage` is open: it has a stage, neither an exit nor closed."""
        return (stage is not None and not self.is_exit(stage)
                and stage not in self.opportunity_closed)

    @cached_property
    def path_stages(self) -> list[Stage]:
        """Path stages by rank, lowest first."""
        return sorted((s for s in self.stages if s.kind == "path"), key=lambda s: s.rank or 0)

    def rank(self, key: str | None) -> int | None:
        return None if key is None else self.stage_by_key[key].rank

    def is_exit(self, key: str | None) -> bool:
        return key is not None and self.stage_by_key[key].kind == "exit"

    def label(self, key: str) -> str:
        return self.stage_by_key[key].label

    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def canonical_json(self) -> str:
        return json.dumps(self.document(), sort_keys=True, separators=(",", ":"))

    def document(self) -> dict[str, Any]:
        """The content as plain data, keys added in later releases left out while at their
        defaults (so a document published before them reads and hashes the same)."""
        data = self.model_dump(mode="json")
        for key, default in _LATER_DEFAULTS.items():
            if data.get(key) == default:
                del data[key]
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def normalise(value: str) -> str:
    """How values, kinds and fits are matched: trimmed, case-insensitive."""
    return value.strip().casefold()


class _Yaml11WithoutYesNo(yaml.SafeLoader):
    """Safe YAML where only true/false are booleans: `on`, `no`, `yes` stay strings, and a
    key given twice in one mapping is an error (PyYAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                        key_node, yaml.ScalarNode):
                    continue  # `<<` merges may override; complex keys fail below anyway
                key = self.construct_object(key_node)
                if key in first:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {first[key]})",
                        key_node.start_mark)
                first[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_Yaml11WithoutYesNo.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml11WithoutYesNo.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_definitions(text: str) -> Definitions:
    """Parse and validate definitions from YAML text."""
    try:
        data = yaml.load(text, Loader=_Yaml11WithoutYesNo)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DefinitionsError(f"not valid YAML{where}: {problem}") from None
    except RecursionError:  # PyYAML composes recursively
        raise DefinitionsError("not valid YAML: nested too deeply") from None
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        # PyYAML's constructors fail this way on bad scalars (`version: 2024-13-45`).
        raise DefinitionsError(f"not valid YAML: a value cannot be read ({exc})") from None
    return definitions_from_data(data)


def definitions_from_data(data: Any) -> Definitions:
    if not isinstance(data, dict):
        raise DefinitionsError("definitions must be a mapping with version, stages and map")
    try:
        return Definitions.model_validate(data)
    except ValidationError as exc:
        raise DefinitionsError(_describe(exc, data)) from None


def _describe(exc: ValidationError, data: Any) -> str:
    messages = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        path = _path(loc, data)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] == "string_pattern_mismatch":
            message = "contains a NUL character (\\u0000)"
        messages.append(f"{path}: {message}" if path else message)
    return "; ".join(messages)


def _path(loc: tuple[Any, ...], data: Any) -> str:
    """`stages[3] (mql).rank` from a pydantic location, naming stages by their key."""
    text = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("key"), str):
                text += f" ({node['key']})"
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text

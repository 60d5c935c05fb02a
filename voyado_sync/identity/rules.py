"""The identity rules file (``data/identity_rules.yaml``) as a typed model.

Every field has a default so an empty file is a valid, conservative configuration; the shipped file
spells the defaults out with comments. A bad file fails at load with the offending field named."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voyado_sync.settings import PACKAGE_DATA, ConfigError

# Identifier types the extractor emits, strongest first.
DEFAULT_PRIORITY = [
    "ct_customer_id", "voyado_contact_id", "member_number", "customer_number",
    "external_id", "card_id", "email", "phone",
]
SOURCES = ("ct_customer", "ct_order", "pos_receipt", "voyado_contact")


class BlockedValue(BaseModel):
    """A value that is never an identifier. ``types`` restricts it (None = every type)."""

    model_config = ConfigDict(extra="forbid")
    match: Literal["exact", "regex"]
    value: str
    types: list[str] | None = None
    reason: str = "blocked"

    @field_validator("value")
    @classmethod
    def _compiles(cls, v: str, info) -> str:  # a broken regex must fail at load, not mid-run
        if info.data.get("match") == "regex":
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"blocked regex {v!r} does not compile: {exc}") from exc
        return v


class ProviderFolding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dots: bool = False            # a.b@gmail.com == ab@gmail.com
    plus: bool = False            # ab+shop@gmail.com == ab@gmail.com
    canonical_domain: str | None = None   # googlemail.com -> gmail.com


class EmailFolding(BaseModel):
    """Provider-specific address folding. Off by default: folding merges addresses that some
    providers treat as different mailboxes, so it is an explicit opt-in."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    providers: dict[str, ProviderFolding] = Field(default_factory=dict)


class Unmerge(BaseModel):
    """A manual correction. Either ``records`` (record keys ``source:record_id`` that must never share
    a profile) or ``id_type`` + ``value`` (an identifier that must never link anything)."""

    model_config = ConfigDict(extra="forbid")
    records: list[str] | None = None
    id_type: str | None = None
    value: str | None = None
    reason: str = "manual unmerge"

    @model_validator(mode="after")
    def _one_form(self) -> "Unmerge":
        by_records = bool(self.records)
        by_value = self.id_type is not None and self.value is not None
        if by_records == by_value:
            raise ValueError("an unmerge entry needs either `records` (>= 2 record keys) or `id_type` + `value`")
        if by_records and len(set(self.records or [])) < 2:
            raise ValueError("an unmerge `records` entry needs at least two distinct record keys")
        return self


class IdentityRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: list[str] = Field(default_factory=lambda: list(DEFAULT_PRIORITY))
    # Types whose values count as "strong ids" for the shared-identifier rule; each needs a limit <= shared_threshold.
    strong_types: list[str] = Field(default_factory=lambda: ["ct_customer_id", "voyado_contact_id", "member_number"])
    limits: dict[str, int] = Field(default_factory=lambda: {
        "ct_customer_id": 2, "voyado_contact_id": 1, "member_number": 1, "email": 3, "phone": 3})
    shared_threshold: int = 3
    # A value of type T (key) may not bridge two profiles that each already hold a value of one of the
    # listed types: a phone does not join two people who have different emails.
    no_bridge: dict[str, list[str]] = Field(default_factory=lambda: {"phone": ["email"]})
    blocked: list[BlockedValue] = Field(default_factory=list)
    unmerge: list[Unmerge] = Field(default_factory=list)
    email_folding: EmailFolding = Field(default_factory=EmailFolding)
    default_region: str = "SE"
    source_priority: list[str] = Field(default_factory=lambda: ["ct_customer", "voyado_contact", "pos_receipt", "ct_order"])
    giant_profile_identifiers: int = 50
    # How two source fields are interpreted (installations differ).
    ct_customer_number_as: str = "customer_number"
    voyado_external_id_as: str = "external_id"

    @model_validator(mode="after")
    def _consistent(self) -> "IdentityRules":
        if len(set(self.priority)) != len(self.priority):
            raise ValueError("priority lists a type twice")
        known = set(self.priority)
        bridged = set(self.no_bridge) | {u for us in self.no_bridge.values() for u in us}
        for name, types in (("limits", self.limits), ("strong_types", self.strong_types), ("no_bridge", bridged)):
            unknown = set(types) - known
            if unknown:
                raise ValueError(f"{name} names types not in priority: {sorted(unknown)}")
        if any(v < 1 for v in self.limits.values()):
            raise ValueError("limits must be >= 1")
        for t in self.strong_types:
            if t not in self.limits or self.limits[t] > self.shared_threshold:
                # One person's own values must never make an identifier look shared.
                raise ValueError(f"strong type {t!r} needs a limit of at most shared_threshold "
                                 f"({self.shared_threshold}); it has {self.limits.get(t, 'none')}")
        if self.shared_threshold < 1:
            raise ValueError("shared_threshold must be >= 1")
        if set(self.source_priority) != set(SOURCES):
            raise ValueError(f"source_priority must list exactly {sorted(SOURCES)}")
        for e in self.unmerge:
            if e.id_type is not None and e.id_type not in known:
                raise ValueError(f"unmerge names unknown id_type {e.id_type!r}")
        return self

    @cached_property
    def type_rank(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.priority)}

    @cached_property
    def source_rank(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.source_priority)}

    def blocked_for(self, id_type: str) -> tuple[set[str], list[tuple[re.Pattern[str], str]], dict[str, str]]:
        """(exact values, compiled regexes with reasons, exact value -> reason) that apply to a type."""
        exact: dict[str, str] = {}
        regexes: list[tuple[re.Pattern[str], str]] = []
        for b in self.blocked:
            if b.types is not None and id_type not in b.types:
                continue
            if b.match == "exact":
                exact[b.value.strip().lower()] = b.reason
            else:
                regexes.append((re.compile(b.value, re.IGNORECASE), b.reason))
        return set(exact), regexes, exact


def default_rules_path(config_dir: str | Path | None = None) -> Path:
    """The rules file of a configuration folder (default: the repository's ``data/``; the Dagster shell
    passes ``Settings.config_dir``)."""
    return Path(config_dir or PACKAGE_DATA) / "identity_rules.yaml"


def load_rules(path: str | Path | None = None, *, config_dir: str | Path | None = None) -> IdentityRules:
    """Read and validate ``path``, else the rules file of ``config_dir``, where a missing file means
    built-in defaults."""
    p = Path(path) if path is not None else default_rules_path(config_dir)
    if not p.exists():
        if path is not None:
            raise ConfigError(f"identity rules file {p} does not exist")
        return IdentityRules()
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"identity rules file {p} is not valid YAML: {exc}") from exc
    try:
        return IdentityRules.model_validate(data)
    except ValueError as exc:
        raise ConfigError(f"identity rules file {p} is invalid: {exc}") from exc

"""Jurisdiction policy packs: the legal contact limits of one country, as data.

A pack is plain YAML under `policies/packs/<code>.yaml` (one per jurisdiction: mx, co, pe, cl,
ar, es, us), validated by the `PolicyPack` schema below. It holds contact windows in the
debtor's local time, the holiday calendar, frequency caps and spacing, the third-party rule,
consent requirements, forbidden practices, required disclosures, opt-out words and stop
conditions. Every rule carries its provenance (`source`, `url`, `verified`), as researched in
`reference/regulation.md`; where no law was found, the pack holds a conservative house default
marked `unverified`.

When several packs could apply (or the debtor's location is ambiguous) `strictest()` folds
them into one pack where the strictest rule wins.

This module is pure: it only reads YAML (and the `holidays` package's calendars).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_T = TypeVar("_T", bound=BaseModel)

PACKS_DIR = Path(__file__).resolve().parent / "packs"

Verified = Literal["official", "secondary", "unverified"]
Channel = Literal["whatsapp", "sms", "email", "call"]
ChannelOrAny = Literal["whatsapp", "sms", "email", "call", "any"]
Period = Literal["day", "week", "rolling_7d"]
ThirdPartyPolicy = Literal["forbidden", "locate_only", "allowed_with_consent"]
ThirdPartyRole = Literal[
    "guarantor", "co_debtor", "spouse", "parent_of_minor", "guardian", "executor", "attorney"
]
StopConditionId = Literal[
    "dispute_open",
    "debtor_has_lawyer",
    "lawsuit_served",
    "insolvency",
    "deceased",
    "vulnerable_recipient",
]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FLAGS = (
    "allow_true_legal_consequence_statement",
    "count_inbound_replies",
    "replies_outside_window",
)

# Lower rank = weaker evidence; a merged rule is only as verified as its weakest source.
_VERIFIED_RANK: dict[str, int] = {"unverified": 0, "secondary": 1, "official": 2}
_THIRD_PARTY_RANK: dict[str, int] = {"forbidden": 2, "locate_only": 1, "allowed_with_consent": 0}


class PackError(ValueError):
    """A pack file is missing, is not valid YAML, or breaks the schema."""


class UnknownPackError(PackError):
    """No pack exists for the code or country asked for."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Provenance(_Strict):
    """Where a rule comes from and how sure we are of it (see regulation.md's status column)."""

    source: str = Field(min_length=1)  # law / article, or "house default (...)"
    url: str | None = None
    see_also: tuple[str, ...] = ()
    verified: Verified
    note: str | None = None


# -- contact windows -------------------------------------------------------------------------

_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def _minutes(text: str) -> int:
    match = _HHMM.match(text)
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise ValueError(f"expected a time 'HH:MM' (00:00..24:00), got {text!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class TimeRange(_Strict):
    """A local-time range [start, end) in minutes after midnight; YAML: ["07:00", "22:00"]."""

    start: int = Field(ge=0, lt=24 * 60)
    end: int = Field(gt=0, le=24 * 60)

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            if len(value) != 2 or not all(isinstance(v, str) for v in value):
                raise ValueError(f'a range is ["HH:MM", "HH:MM"], got {value!r}')
            return {"start": _minutes(value[0]), "end": _minutes(value[1])}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.start >= self.end:
            raise ValueError(f"range {self} ends before it starts")
        return self

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


Ranges = tuple[TimeRange, ...]


def _normalise(ranges: Iterable[TimeRange]) -> Ranges:
    """Sorted, with overlapping or touching ranges merged."""
    out: list[TimeRange] = []
    for r in sorted(ranges, key=lambda r: r.start):
        if out and r.start <= out[-1].end:
            out[-1] = TimeRange(start=out[-1].start, end=max(out[-1].end, r.end))
        else:
            out.append(r)
    return tuple(out)


def intersect_ranges(a: Ranges, b: Ranges) -> Ranges:
    """The local times that are inside both `a` and `b`."""
    overlaps = (
        TimeRange(start=max(x.start, y.start), end=min(x.end, y.end))
        for x in a
        for y in b
        if max(x.start, y.start) < min(x.end, y.end)
    )
    return _normalise(overlaps)


class ContactWindows(Provenance):
    """When contact is allowed, in the debtor's local time, per weekday and on holidays.

    On a holiday the allowed times are the weekday's ranges intersected with `holiday`, so a
    holiday can only narrow a day, never open one.
    """

    id: str
    mon: Ranges
    tue: Ranges
    wed: Ranges
    thu: Ranges
    fri: Ranges
    sat: Ranges
    sun: Ranges
    holiday: Ranges

    @field_validator(*WEEKDAYS, "holiday")
    @classmethod
    def _no_overlap(cls, value: Ranges) -> Ranges:
        if _normalise(value) != tuple(sorted(value, key=lambda r: r.start)):
            raise ValueError("ranges must not overlap or touch; merge them")
        return value

    def for_weekday(self, weekday: int) -> Ranges:
        """Ranges of a weekday, Monday = 0 (as `date.weekday()`)."""
        return getattr(self, WEEKDAYS[weekday])

    def for_day(self, weekday: int, holiday: bool) -> Ranges:
        ranges = self.for_weekday(weekday)
        return intersect_ranges(ranges, self.holiday) if holiday else ranges


# -- holidays --------------------------------------------------------------------------------


class HolidayCalendar(Provenance):
    """A calendar of the `holidays` package: country, optional subdivision, categories."""

    country: str = Field(pattern=r"^[A-Z]{2}$")
    subdivision: str | None = None
    categories: tuple[str, ...] = ("public",)

    @model_validator(mode="after")
    def _supported(self) -> HolidayCalendar:
        supported = holidays.list_supported_countries()
        if self.country not in supported:
            raise ValueError(f"the holidays package has no calendar for {self.country}")
        if self.subdivision is not None and self.subdivision not in supported[self.country]:
            raise ValueError(f"{self.country} has no holiday subdivision {self.subdivision!r}")
        return self


class HolidayOverride(Provenance):
    """One date added to or removed from a calendar, with the decree that says so."""

    date: date
    name: str = Field(min_length=1)


class HolidayOverrides(_Strict):
    """Dates to add to or remove from the package's calendar (e.g. a decree's bridge day)."""

    add: tuple[HolidayOverride, ...] = ()
    remove: tuple[HolidayOverride, ...] = ()

    @model_validator(mode="after")
    def _disjoint(self) -> HolidayOverrides:
        both = {o.date for o in self.add} & {o.date for o in self.remove}
        if both:
            raise ValueError(f"dates both added and removed: {sorted(both)}")
        return self


class HolidaySource(_Strict):
    calendar: HolidayCalendar
    overrides: HolidayOverrides = HolidayOverrides()

    def is_holiday(self, day: date, country: str | None, subdivision: str | None) -> bool:
        if any(o.date == day for o in self.overrides.add):
            return True
        if any(o.date == day for o in self.overrides.remove):
            return False
        subdiv = self.calendar.subdivision
        if subdiv is None and country == self.calendar.country:
            subdiv = subdivision  # the debtor's region adds its own holidays
        cal = self.calendar
        return day in _calendar_dates(cal.country, subdiv, cal.categories, day.year)


@lru_cache(maxsize=1024)
def _calendar_dates(
    country: str, subdivision: str | None, categories: tuple[str, ...], year: int
) -> frozenset[date]:
    calendar = holidays.country_holidays(
        country, subdiv=subdivision, years=year, categories=categories
    )
    return frozenset(calendar.keys())


# -- frequency -------------------------------------------------------------------------------


def _expand(channels: Iterable[ChannelOrAny]) -> frozenset[Channel]:
    out: set[Channel] = set()
    for c in channels:
        if c == "any":
            out.update(CHANNELS)
        else:
            out.add(c)
    return frozenset(out)


class FrequencyCap(Provenance):
    """At most `max` business-initiated contacts (or distinct channels) per period.

    `channels` lists the channels counted together; the cap applies when the channel asked for
    is one of them. Periods: `day` (local calendar day), `week` (local calendar week starting
    Monday), `rolling_7d` (the last 7 x 24 hours).
    """

    id: str
    channels: tuple[ChannelOrAny, ...] = Field(min_length=1)
    period: Period
    max: int = Field(ge=0)
    counts: Literal["contacts", "distinct_channels"] = "contacts"

    @property
    def channel_set(self) -> frozenset[Channel]:
        return _expand(self.channels)

    def summary(self) -> str:
        what = "distinct channel" if self.counts == "distinct_channels" else "contact"
        what += "" if self.max == 1 else "s"
        per = {"day": "calendar day", "week": "calendar week", "rolling_7d": "rolling 7 days"}
        return f"at most {self.max} {what} per {per[self.period]} on {'/'.join(self.channels)}"


class SpacingRule(Provenance):
    """At least `min_days` local calendar days between two contacts on these channels.

    `after: conversation` measures from the last record that was a live conversation (US Reg F
    1006.14(b)(2)), whoever started it; `after: contact` from the last counted contact.
    """

    id: str
    channels: tuple[ChannelOrAny, ...] = Field(min_length=1)
    min_days: int = Field(ge=1)
    after: Literal["contact", "conversation"] = "contact"

    @property
    def channel_set(self) -> frozenset[Channel]:
        return _expand(self.channels)

    def summary(self) -> str:
        after = "a live conversation" if self.after == "conversation" else "the last contact"
        return f"at least {self.min_days} days after {after} on {'/'.join(self.channels)}"


# -- parties, consent, content ---------------------------------------------------------------


class ThirdPartyRule(Provenance):
    """Contact with anyone but the debtor. Exceptions are treated as the debtor."""

    id: str
    policy: ThirdPartyPolicy
    exceptions: tuple[ThirdPartyRole, ...] = ()
    locate_max_contacts: int | None = Field(default=None, ge=1)  # locate_only: contacts allowed

    def summary(self) -> str:
        text = self.policy.replace("_", " ")
        if self.policy == "locate_only":
            text += " (no debt disclosure"
            if self.locate_max_contacts:
                text += f", at most {self.locate_max_contacts} contact(s)"
            text += ")"
        return text + f"; exceptions: {', '.join(self.exceptions) or 'none'}"


class ConsentRule(Provenance):
    """What a business-initiated contact on these channels needs from the debtor."""

    id: str
    channels: tuple[ChannelOrAny, ...] = Field(min_length=1)
    requirement: Literal["platform_opt_in", "channel_authorization"]

    @property
    def channel_set(self) -> frozenset[Channel]:
        return _expand(self.channels)


class PracticeRule(Provenance):
    """A forbidden practice or kind of language; `guard_rules` names the guard's rule ids."""

    id: str
    description: str = Field(min_length=1)
    guard_rules: tuple[str, ...] = ()


class DisclosureRule(Provenance):
    id: str
    description: str = Field(min_length=1)


class Disclosures(_Strict):
    """What a message must say: the very first contact, every new contact, every message."""

    first_contact: tuple[DisclosureRule, ...] = ()
    every_contact: tuple[DisclosureRule, ...] = ()
    every_message: tuple[DisclosureRule, ...] = ()


class OptOutRule(Provenance):
    id: str
    keywords: tuple[str, ...] = Field(min_length=1)
    honor_any_wording: bool = True
    effect: Literal["stop_channel", "stop_all"] = "stop_all"


class StopCondition(Provenance):
    id: StopConditionId
    description: str = Field(min_length=1)


# -- the pack --------------------------------------------------------------------------------


def _unique_ids(items: Iterable[Any], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"duplicate {what} id {item.id!r}")
        seen.add(item.id)


class PolicyPack(_Strict):
    """The legal contact limits of one jurisdiction (or, from `strictest`, of several)."""

    code: str = Field(pattern=r"^[a-z0-9_+-]+$")
    version: str = Field(min_length=1)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    name: str = Field(min_length=1)
    default_timezone: str
    timezones: tuple[str, ...] = Field(min_length=1)  # candidates when the debtor's is unknown
    holiday_calendar: HolidayCalendar
    holiday_overrides: HolidayOverrides = HolidayOverrides()
    extra_holiday_sources: tuple[HolidaySource, ...] = ()  # filled by strictest()
    contact_windows: ContactWindows
    frequency_caps: tuple[FrequencyCap, ...] = ()
    spacing: tuple[SpacingRule, ...] = ()
    consent: tuple[ConsentRule, ...] = ()
    third_party: ThirdPartyRule
    forbidden_practices: tuple[PracticeRule, ...] = Field(min_length=1)
    required_disclosures: Disclosures
    opt_out: OptOutRule
    stop_conditions: tuple[StopCondition, ...] = Field(min_length=1)
    allow_true_legal_consequence_statement: bool
    count_inbound_replies: bool = False
    replies_outside_window: bool = False
    flag_sources: dict[str, Provenance]

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        _check_zone(value)
        return value

    @field_validator("timezones")
    @classmethod
    def _zones(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for zone in value:
            _check_zone(zone)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PolicyPack:
        if self.default_timezone not in self.timezones:
            raise ValueError(f"default_timezone {self.default_timezone} is not in timezones")
        if set(self.flag_sources) != set(FLAGS):
            raise ValueError(f"flag_sources must give the source of exactly: {', '.join(FLAGS)}")
        _unique_ids((*self.frequency_caps, *self.spacing, *self.consent), "cap/spacing/consent")
        _unique_ids(self.forbidden_practices, "forbidden practice")
        _unique_ids(self.stop_conditions, "stop condition")
        d = self.required_disclosures
        for level in (d.first_contact, d.every_contact, d.every_message):
            _unique_ids(level, "disclosure")
        return self

    # -- lookups -------------------------------------------------------------------------------

    def holiday_sources(self) -> tuple[HolidaySource, ...]:
        own = HolidaySource(calendar=self.holiday_calendar, overrides=self.holiday_overrides)
        return (own, *self.extra_holiday_sources)

    def is_holiday(
        self, day: date, *, country: str | None = None, subdivision: str | None = None
    ) -> bool:
        """True when any of the pack's calendars has `day` as a holiday.

        `subdivision` (the debtor's region, e.g. ES "MD") adds regional holidays of calendars
        of `country` that do not fix a subdivision themselves.
        """
        return any(s.is_holiday(day, country, subdivision) for s in self.holiday_sources())

    def stop_condition(self, condition: str) -> StopCondition | None:
        return next((s for s in self.stop_conditions if s.id == condition), None)


def _check_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


# -- loading ---------------------------------------------------------------------------------

_CODE = re.compile(r"^[a-z0-9_-]+$")


def available_packs() -> list[str]:
    """The codes of the packs under policies/packs/, sorted."""
    return sorted(p.stem for p in PACKS_DIR.glob("*.yaml"))


def load_pack(code: str) -> PolicyPack:
    """Load and validate a pack by code ("mx", "CO" ...; case-insensitive). Cached.

    Raises UnknownPackError (listing the valid codes) for an unknown code, PackError for an
    invalid file.
    """
    return _load_cached(code.strip().lower())


@lru_cache(maxsize=64)
def _load_cached(code: str) -> PolicyPack:
    path = PACKS_DIR / f"{code}.yaml"
    if not _CODE.match(code) or not path.is_file():
        raise UnknownPackError(
            f"no policy pack {code!r} (valid codes: {', '.join(available_packs()) or 'none'})"
        )
    pack = load_pack_file(path)
    if pack.code != code:
        raise PackError(f"pack file {path} declares code {pack.code!r}, expected {code!r}")
    return pack


def load_pack_file(path: Path) -> PolicyPack:
    """Load and validate a pack from any file (not cached). Raises PackError with every problem."""
    if not path.is_file():
        raise PackError(f"pack file {path} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PackError(f"pack file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PackError(f"pack file {path} must hold a mapping, got {type(data).__name__}")
    try:
        return PolicyPack.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(
            f"  - {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise PackError(f"pack file {path} is invalid:\n{problems}") from exc


def pack_for_country(country_code: str) -> PolicyPack:
    """The pack whose `country` is this ISO 3166-1 alpha-2 code (case-insensitive)."""
    country = country_code.strip().upper()
    for code in available_packs():
        pack = load_pack(code)
        if pack.country == country:
            return pack
    countries = ", ".join(load_pack(c).country for c in available_packs())
    raise UnknownPackError(f"no policy pack for country {country_code!r} (packs for: {countries})")


def pack_code_for(country_code: str | None) -> str | None:
    """The pack code for a jurisdiction, or None when no pack covers it."""
    try:
        return pack_for_country(country_code or "").code
    except UnknownPackError:
        return None


# -- strictest -------------------------------------------------------------------------------


def _merged_provenance(rules: Sequence[Provenance]) -> dict[str, Any]:
    """Sources joined; verified is the weakest; url the first given."""
    urls = [r.url for r in rules if r.url]
    return {
        "source": " | ".join(dict.fromkeys(r.source for r in rules)),
        "url": urls[0] if urls else None,
        "see_also": tuple(dict.fromkeys([*urls[1:], *(u for r in rules for u in r.see_also)])),
        "verified": min((r.verified for r in rules), key=_VERIFIED_RANK.__getitem__),
        "note": " | ".join(dict.fromkeys(r.note for r in rules if r.note)) or None,
    }


def _union_by_id(groups: Iterable[Iterable[_T]]) -> tuple[_T, ...]:
    out: dict[str, _T] = {}
    for group in groups:
        for item in group:
            out.setdefault(getattr(item, "id"), item)  # noqa: B009 - _T is any rule with an id
    return tuple(out.values())


def _merge_windows(packs: Sequence[PolicyPack]) -> ContactWindows:
    windows = [p.contact_windows for p in packs]
    days: dict[str, Ranges] = {}
    for key in (*WEEKDAYS, "holiday"):
        ranges = getattr(windows[0], key)
        for w in windows[1:]:
            ranges = intersect_ranges(ranges, getattr(w, key))
        days[key] = ranges
    ids = "+".join(w.id for w in windows)
    return ContactWindows(id=ids, **days, **_merged_provenance(windows))


def _merge_caps(packs: Sequence[PolicyPack]) -> tuple[FrequencyCap, ...]:
    best: dict[tuple[frozenset[str], str, str], FrequencyCap] = {}
    for cap in (c for p in packs for c in p.frequency_caps):
        key = (cap.channel_set, cap.period, cap.counts)
        if key not in best or cap.max < best[key].max:
            best[key] = cap
    return tuple(best.values())


def _merge_spacing(packs: Sequence[PolicyPack]) -> tuple[SpacingRule, ...]:
    best: dict[tuple[frozenset[str], str], SpacingRule] = {}
    for rule in (s for p in packs for s in p.spacing):
        key = (rule.channel_set, rule.after)
        if key not in best or rule.min_days > best[key].min_days:
            best[key] = rule
    return tuple(best.values())


def _merge_third_party(packs: Sequence[PolicyPack]) -> ThirdPartyRule:
    rules = [p.third_party for p in packs]
    strictest_rule = max(rules, key=lambda r: _THIRD_PARTY_RANK[r.policy])
    exceptions = [e for e in rules[0].exceptions if all(e in r.exceptions for r in rules)]
    limits = [r.locate_max_contacts for r in rules if r.locate_max_contacts]
    return ThirdPartyRule(
        id="+".join(r.id for r in rules),
        policy=strictest_rule.policy,
        exceptions=tuple(exceptions),
        locate_max_contacts=min(limits) if limits else None,
        **_merged_provenance(rules),
    )


def _merge_opt_out(packs: Sequence[PolicyPack]) -> OptOutRule:
    rules = [p.opt_out for p in packs]
    return OptOutRule(
        id="+".join(r.id for r in rules),
        keywords=tuple(dict.fromkeys(k for r in rules for k in r.keywords)),
        honor_any_wording=any(r.honor_any_wording for r in rules),
        effect="stop_all" if any(r.effect == "stop_all" for r in rules) else "stop_channel",
        **_merged_provenance(rules),
    )


def _merge_flags(packs: Sequence[PolicyPack]) -> dict[str, Any]:
    """AND the permissive flags, OR the strict one; cite a pack that set the winning value."""
    out: dict[str, Any] = {}
    sources: dict[str, Provenance] = {}
    for flag, strict_value in (
        ("allow_true_legal_consequence_statement", False),
        ("count_inbound_replies", True),
        ("replies_outside_window", False),
    ):
        deciding = next((p for p in packs if getattr(p, flag) == strict_value), packs[0])
        out[flag] = getattr(deciding, flag)
        sources[flag] = deciding.flag_sources[flag]
    return out | {"flag_sources": sources}


def strictest(packs: Sequence[PolicyPack]) -> PolicyPack:
    """One pack where, of all `packs`, the strictest rule wins.

    Windows are intersected per weekday (and on holidays), holidays are the union of every
    pack's calendars, caps take the minimum (spacing the maximum), the third-party policy is
    the strictest with only the exceptions all packs share, disclosures, opt-out words, stop
    conditions, consent rules and forbidden practices are the union, and
    `allow_true_legal_consequence_statement` is AND-ed. Time zones are the union, so a debtor
    whose zone is unknown must be inside the window in every candidate zone.
    """
    unique = list({p.code: p for p in packs}.values())
    if not unique:
        raise ValueError("strictest() needs at least one pack")
    if len(unique) == 1:
        return unique[0]
    first = unique[0]
    disclosures = Disclosures(
        **{
            level: _union_by_id(getattr(p.required_disclosures, level) for p in unique)
            for level in ("first_contact", "every_contact", "every_message")
        }
    )
    return PolicyPack(
        code="+".join(p.code for p in unique),
        version="+".join(p.version for p in unique),
        country=first.country,
        name=" + ".join(p.name for p in unique),
        default_timezone=first.default_timezone,
        timezones=tuple(dict.fromkeys(z for p in unique for z in p.timezones)),
        holiday_calendar=first.holiday_calendar,
        holiday_overrides=first.holiday_overrides,
        extra_holiday_sources=tuple(s for p in unique for s in p.holiday_sources())[1:],
        contact_windows=_merge_windows(unique),
        frequency_caps=_merge_caps(unique),
        spacing=_merge_spacing(unique),
        consent=_union_by_id(p.consent for p in unique),
        third_party=_merge_third_party(unique),
        forbidden_practices=_union_by_id(p.forbidden_practices for p in unique),
        required_disclosures=disclosures,
        opt_out=_merge_opt_out(unique),
        stop_conditions=_union_by_id(p.stop_conditions for p in unique),
        **_merge_flags(unique),
    )


# -- describing ------------------------------------------------------------------------------


class RuleRow(NamedTuple):
    """One printable rule: what it says and where it comes from."""

    section: str
    rule_id: str
    summary: str
    verified: str
    source: str
    url: str | None
    note: str | None = None


def _row(section: str, rule_id: str, summary: str, p: Provenance) -> RuleRow:
    return RuleRow(section, rule_id, summary, p.verified, p.source, p.url, p.note)


def _ranges_text(ranges: Ranges) -> str:
    return ", ".join(str(r) for r in ranges) or "closed"


def _window_rows(pack: PolicyPack) -> Iterator[RuleRow]:
    w = pack.contact_windows
    days = "; ".join(f"{d} {_ranges_text(getattr(w, d))}" for d in (*WEEKDAYS, "holiday"))
    yield _row("Contact windows (debtor's local time)", w.id, days, w)


def _holiday_rows(pack: PolicyPack) -> Iterator[RuleRow]:
    for source in pack.holiday_sources():
        cal = source.calendar
        summary = f"holidays package {cal.country}"
        summary += f"-{cal.subdivision}" if cal.subdivision else ""
        summary += f" ({', '.join(cal.categories)})"
        yield _row("Holidays", f"holidays.{cal.country.lower()}", summary, cal)
        for o in source.overrides.add:
            yield _row("Holidays", "holidays.add", f"{o.date} {o.name}", o)
        for o in source.overrides.remove:
            yield _row("Holidays", "holidays.remove", f"not a holiday: {o.date} {o.name}", o)


def _frequency_rows(pack: PolicyPack) -> Iterator[RuleRow]:
    for cap in pack.frequency_caps:
        yield _row("Frequency", cap.id, cap.summary(), cap)
    for rule in pack.spacing:
        yield _row("Frequency", rule.id, rule.summary(), rule)


def _party_rows(pack: PolicyPack) -> Iterator[RuleRow]:
    for c in pack.consent:
        text = f"{c.requirement.replace('_', ' ')} required on {'/'.join(c.channels)}"
        yield _row("Consent", c.id, text, c)
    tp = pack.third_party
    yield _row("Third parties", tp.id, tp.summary(), tp)


def _content_rows(pack: PolicyPack) -> Iterator[RuleRow]:
    for f in pack.forbidden_practices:
        yield _row("Forbidden practices", f"forbidden.{f.id}", f.description, f)
    d = pack.required_disclosures
    for level in ("first_contact", "every_contact", "every_message"):
        for rule in getattr(d, level):
            text = f"{level.replace('_', ' ')}: {rule.description}"
            yield _row("Required disclosures", f"disclosure.{rule.id}", text, rule)
    o = pack.opt_out
    text = f"{o.effect.replace('_', ' ')}; words: {', '.join(o.keywords)}"
    text += "; any wording honoured" if o.honor_any_wording else ""
    yield _row("Opt-out", o.id, text, o)
    for s in pack.stop_conditions:
        yield _row("Stop conditions", f"stop.{s.id}", s.description, s)


def _flag_rows(pack: PolicyPack) -> Iterator[RuleRow]:
    for flag in FLAGS:
        text = f"{flag} = {str(getattr(pack, flag)).lower()}"
        yield _row("Flags", f"flag.{flag}", text, pack.flag_sources[flag])


def describe(pack: PolicyPack) -> list[RuleRow]:
    """Every rule of the pack, in display order, with its source and verified status."""
    return [
        *_window_rows(pack),
        *_holiday_rows(pack),
        *_frequency_rows(pack),
        *_party_rows(pack),
        *_content_rows(pack),
        *_flag_rows(pack),
    ]


def render_pack(pack: PolicyPack, *, notes: bool = False) -> str:
    """The pack as readable plain text: grouped by section, one line per rule.

    Each line reads `id: what the rule says [official|secondary|unverified] source <url>`;
    with `notes`, a rule's caveat follows on an indented `note:` line.
    """
    lines = [
        f"Policy pack {pack.version} ({pack.code}): {pack.name}",
        f"Time zones: {', '.join(pack.timezones)} (default {pack.default_timezone})",
    ]
    section = ""
    for row in describe(pack):
        if row.section != section:
            section = row.section
            lines += ["", section]
        url = f" <{row.url}>" if row.url else ""
        lines.append(f"  {row.rule_id}: {row.summary} [{row.verified}] {row.source}{url}")
        if notes and row.note:
            lines.append(f"      note: {row.note}")
    return "\n".join(lines) + "\n"

"""Contact rules: may we contact this person on this channel now, and if not, when?

`can_contact` applies a jurisdiction's policy pack (see `policies/packs.py`) in the order of
regulation.md 8.4:

1. consent: the WhatsApp platform opt-in and, where the law asks (CO), channel authorisation;
2. opt-out, stop conditions (dispute, lawyer, lawsuit, insolvency, death, vulnerable person)
   and the third-party rule;
3. the contact window and holidays, in the debtor's local time (all candidate zones when the
   debtor's zone is unknown);
4. frequency caps and spacing.

Steps 1-2 are permanent (`next_allowed_at` is None); steps 3-4 pass with time, and the decision
gives the earliest moment, in UTC, when a contact would be allowed.

Replies (`initiated_by="consumer"`: answering a debtor who just wrote to us):
- skip consent (the debtor opened the conversation) but respect opt-out and stop conditions;
- skip the caps when the pack's `count_inbound_replies` is false (every pack today);
- respect the contact window unless the pack's `replies_outside_window` is true. Every pack
  sets it false: Colombia's Ley 2300 bars "any type of contact" on Sundays and holidays, and
  the other packs take the same strict reading, so a debtor writing at 23:00 is answered when
  the window opens;
- to a third party (wrong person) they are allowed, flagged `contact.third_party.no_disclosure`.

Counting: only outbound records count, and only business-initiated ones unless
`count_inbound_replies` is true. `history` should hold every contact with this person across
their debts (stricter than the per-debt counting some laws use) and only contacts actually
made (attempts, not just effective contacts: stricter than Colombia's wording).

This module is pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator, model_validator

from policies.packs import (
    CHANNELS,
    Channel,
    FrequencyCap,
    PolicyPack,
    SpacingRule,
    ThirdPartyRole,
    load_pack,
    pack_for_country,
    strictest,
)

Initiator = Literal["business", "consumer"]

HORIZON = timedelta(days=60)  # how far ahead next_allowed_at is searched
ROLLING = timedelta(days=7)


class Reason:
    """Stable rule ids of contact decisions (the `reason`, first of `rule_ids`)."""

    OK = "contact.ok"
    NO_OPTIN = "contact.no_optin"
    NOT_AUTHORIZED = "contact.channel_not_authorized"
    OPTED_OUT = "contact.opted_out"
    STOP_DISPUTE = "contact.stop.dispute_open"
    STOP_LAWYER = "contact.stop.has_lawyer"
    STOP_LAWSUIT = "contact.stop.lawsuit_served"
    STOP_INSOLVENCY = "contact.stop.insolvency"
    STOP_DECEASED = "contact.stop.deceased"
    STOP_VULNERABLE = "contact.stop.vulnerable_recipient"
    THIRD_PARTY = "contact.third_party"
    THIRD_PARTY_LOCATE = "contact.third_party.locate_only"  # allowed, but never mention the debt
    THIRD_PARTY_NO_DISCLOSURE = "contact.third_party.no_disclosure"  # reply, no debt mention
    WINDOW = "contact.window"
    HOLIDAY = "contact.holiday"
    CAP_DAILY = "contact.cap.daily"
    CAP_WEEK = "contact.cap.week"
    CAP_ROLLING = "contact.cap.rolling_7d"
    CAP_CHANNELS = "contact.cap.channels"
    SPACING = "contact.spacing"


# stop condition id in packs -> (ContactSubject flag, decision reason)
STOP_FLAGS: dict[str, tuple[str, str]] = {
    "dispute_open": ("dispute_open", Reason.STOP_DISPUTE),
    "debtor_has_lawyer": ("has_lawyer", Reason.STOP_LAWYER),
    "lawsuit_served": ("lawsuit_served", Reason.STOP_LAWSUIT),
    "insolvency": ("insolvency", Reason.STOP_INSOLVENCY),
    "deceased": ("deceased", Reason.STOP_DECEASED),
    "vulnerable_recipient": ("vulnerable_recipient", Reason.STOP_VULNERABLE),
}

_CAP_REASONS = {"day": Reason.CAP_DAILY, "week": Reason.CAP_WEEK, "rolling_7d": Reason.CAP_ROLLING}

_MESSAGES = {
    Reason.OK: "contact allowed",
    Reason.NO_OPTIN: "no recorded WhatsApp opt-in for a business-initiated message",
    Reason.NOT_AUTHORIZED: "the debtor has not authorised this channel",
    Reason.OPTED_OUT: "the person opted out of this channel",
    Reason.STOP_DISPUTE: "the debt is disputed: collection is stopped",
    Reason.STOP_LAWYER: "the debtor is represented by a lawyer: contact the lawyer instead",
    Reason.STOP_LAWSUIT: "a collection lawsuit was served: extrajudicial contact is stopped",
    Reason.STOP_INSOLVENCY: "insolvency proceedings are open: collection is stopped",
    Reason.STOP_DECEASED: "the debtor has died",
    Reason.STOP_VULNERABLE: "the person reached is a minor or an older adult",
    Reason.THIRD_PARTY: "third-party contact is not allowed",
    Reason.THIRD_PARTY_LOCATE: "allowed to locate the debtor only: do not mention the debt",
    Reason.THIRD_PARTY_NO_DISCLOSURE: "reply to a third party: do not mention the debt",
    Reason.WINDOW: "outside the contact window in the debtor's local time",
    Reason.HOLIDAY: "no contact on a holiday in the debtor's location",
    Reason.CAP_DAILY: "daily contact cap reached",
    Reason.CAP_WEEK: "weekly contact cap reached",
    Reason.CAP_ROLLING: "cap for the last 7 days reached",
    Reason.CAP_CHANNELS: "too many channels used this period",
    Reason.SPACING: "too soon after the previous contact",
}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContactSubject(_Strict):
    """The person we would contact, as far as contact rules care."""

    country: str  # ISO 3166-1 alpha-2 of the debtor's jurisdiction
    timezone: str | None = None  # IANA; None = unknown: every zone of the pack must be open
    subdivision: str | None = None  # region for holidays (e.g. ES "MD"); None = national only
    pack_codes: tuple[str, ...] = ()  # override: these packs, strictest wins
    whatsapp_opt_in: bool = False
    authorized_channels: frozenset[Channel] | None = None  # None = none recorded
    opted_out: bool | frozenset[Channel] = False  # True: every channel
    dispute_open: bool = False
    has_lawyer: bool = False
    lawsuit_served: bool = False
    insolvency: bool = False
    deceased: bool = False
    vulnerable_recipient: bool = False  # the person reached is a minor or an older adult
    is_third_party: bool = False  # not the debtor (wrong party, reference, relative...)
    third_party_role: ThirdPartyRole | None = None  # e.g. guarantor: treated as the debtor

    @field_validator("country")
    @classmethod
    def _iso2(cls, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 2 or not value.isalpha():
            raise ValueError(f"country must be an ISO 3166-1 alpha-2 code, got {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _known_subdivision(self) -> ContactSubject:
        supported = holidays.list_supported_countries().get(self.country)
        if self.subdivision and supported is not None and self.subdivision not in supported:
            raise ValueError(f"{self.country} has no holiday subdivision {self.subdivision!r}")
        return self

    def is_opted_out(self, channel: Channel) -> bool:
        if isinstance(self.opted_out, bool):
            return self.opted_out
        return channel in self.opted_out


class ContactRecord(_Strict):
    """One past message or call with this person."""

    at: AwareDatetime
    channel: Channel
    initiated_by: Initiator = "business"
    direction: Literal["outbound", "inbound"] = "outbound"
    conversation: bool = False  # a live conversation took place (US 7-days-after rule)

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # Aware arithmetic in a local zone is wall-clock arithmetic: keep UTC so +7 days is 168 h.
        return value.astimezone(UTC)


class ContactDecision(_Strict):
    allowed: bool
    reason: str  # a Reason id
    message: str
    pack_version: str
    # The reason first, then the pack rules that decided (when allowed: those checked).
    rule_ids: tuple[str, ...]
    next_allowed_at: datetime | None = None  # UTC; None when allowed or never


# -- evaluation context ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Timed:
    """Everything the time-dependent checks (window, caps, spacing) need."""

    pack: PolicyPack
    zones: tuple[ZoneInfo, ...]
    channel: Channel
    country: str
    subdivision: str | None
    check_window: bool
    check_caps: bool
    counted: tuple[ContactRecord, ...]  # outbound contacts that count toward caps
    conversations: tuple[ContactRecord, ...]  # records that were live conversations


def resolve_pack(subject: ContactSubject) -> PolicyPack:
    """The subject's packs (strictest wins) or, by default, the pack of its country."""
    if subject.pack_codes:
        return strictest([load_pack(code) for code in subject.pack_codes])
    return pack_for_country(subject.country)


def candidate_zones(subject: ContactSubject, pack: PolicyPack) -> tuple[ZoneInfo, ...]:
    """The debtor's zone, or every zone of the pack when it is unknown."""
    if subject.timezone:
        return (ZoneInfo(subject.timezone),)
    return tuple(ZoneInfo(z) for z in pack.timezones)


def can_contact(
    account: ContactSubject,
    channel: str,
    now: datetime,
    history: Sequence[ContactRecord],
    *,
    pack: PolicyPack | None = None,
    initiated_by: Initiator = "business",
) -> ContactDecision:
    """Decide whether `account` may be contacted on `channel` at `now` (timezone-aware).

    See the module docstring for the order of checks and how replies are treated. Raises
    ValueError for a naive `now` or an unknown channel.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
    now = now.astimezone(UTC)
    pack = pack or resolve_pack(account)
    ch: Channel = channel  # type: ignore[assignment]
    reply = initiated_by == "consumer"
    blocked = _permanent_block(account, ch, pack, history, reply)
    if blocked is not None:
        return _decision(pack, False, blocked)
    extra = _third_party_note(account, pack, reply)
    timed = _timed(account, ch, pack, history, reply)
    block = _timed_block(timed, now)
    if block is None:
        return _decision(pack, True, (Reason.OK, *extra, *_applied(timed)))
    return _decision(pack, False, block, next_allowed_at=_next_allowed(timed, now))


def _decision(
    pack: PolicyPack,
    allowed: bool,
    rule_ids: tuple[str, ...],
    next_allowed_at: datetime | None = None,
) -> ContactDecision:
    reason = rule_ids[0]
    message = _MESSAGES[reason]
    if len(rule_ids) > 1 and rule_ids[1] in _MESSAGES:
        message += f"; {_MESSAGES[rule_ids[1]]}"
    return ContactDecision(
        allowed=allowed,
        reason=reason,
        message=message,
        pack_version=pack.version,
        rule_ids=rule_ids,
        next_allowed_at=next_allowed_at.astimezone(UTC) if next_allowed_at else None,
    )


# -- permanent checks ------------------------------------------------------------------------


def _permanent_block(
    subject: ContactSubject,
    channel: Channel,
    pack: PolicyPack,
    history: Sequence[ContactRecord],
    reply: bool,
) -> tuple[str, ...] | None:
    if not reply:
        consent = _consent_block(subject, channel, pack)
        if consent is not None:
            return consent
    if subject.is_opted_out(channel):
        return (Reason.OPTED_OUT, pack.opt_out.id)
    for stop in pack.stop_conditions:
        flag, reason = STOP_FLAGS[stop.id]
        if getattr(subject, flag):
            return (reason, f"stop.{stop.id}")
    if not reply:
        return _third_party_block(subject, pack, history)
    return None


def _consent_block(
    subject: ContactSubject, channel: Channel, pack: PolicyPack
) -> tuple[str, ...] | None:
    for rule in pack.consent:
        if channel not in rule.channel_set:
            continue
        if rule.requirement == "platform_opt_in" and not subject.whatsapp_opt_in:
            return (Reason.NO_OPTIN, rule.id)
        authorized = subject.authorized_channels or frozenset()
        if rule.requirement == "channel_authorization" and channel not in authorized:
            return (Reason.NOT_AUTHORIZED, rule.id)
    return None


def _is_third_party(subject: ContactSubject, pack: PolicyPack) -> bool:
    """A third party whose role the pack does not treat as the debtor."""
    role = subject.third_party_role
    return subject.is_third_party and (role is None or role not in pack.third_party.exceptions)


def _third_party_block(
    subject: ContactSubject, pack: PolicyPack, history: Sequence[ContactRecord]
) -> tuple[str, ...] | None:
    if not _is_third_party(subject, pack):
        return None
    rule = pack.third_party
    if rule.policy == "forbidden":
        return (Reason.THIRD_PARTY, rule.id)
    if rule.policy == "locate_only" and rule.locate_max_contacts is not None:
        made = sum(1 for r in history if r.direction == "outbound" and r.initiated_by == "business")
        if made >= rule.locate_max_contacts:
            return (Reason.THIRD_PARTY, rule.id)
    return None


def _third_party_note(subject: ContactSubject, pack: PolicyPack, reply: bool) -> tuple[str, ...]:
    """Rule ids an allowed decision carries when the person is a third party."""
    if not _is_third_party(subject, pack):
        return ()
    if reply:
        return (Reason.THIRD_PARTY_NO_DISCLOSURE, pack.third_party.id)
    if pack.third_party.policy == "locate_only":
        return (Reason.THIRD_PARTY_LOCATE, pack.third_party.id)
    return (pack.third_party.id,)


# -- time-dependent checks -------------------------------------------------------------------


def _timed(
    subject: ContactSubject,
    channel: Channel,
    pack: PolicyPack,
    history: Sequence[ContactRecord],
    reply: bool,
) -> _Timed:
    counts_replies = pack.count_inbound_replies
    counted = tuple(
        r
        for r in history
        if r.direction == "outbound" and (r.initiated_by == "business" or counts_replies)
    )
    return _Timed(
        pack=pack,
        zones=candidate_zones(subject, pack),
        channel=channel,
        country=subject.country,
        subdivision=subject.subdivision,
        check_window=not (reply and pack.replies_outside_window),
        check_caps=not (reply and not counts_replies),
        counted=counted,
        conversations=tuple(r for r in history if r.conversation),
    )


def _applied(t: _Timed) -> tuple[str, ...]:
    """Ids of the pack's timed rules that were checked (for the audit log)."""
    ids = [t.pack.contact_windows.id] if t.check_window else []
    if t.check_caps:
        rules = (*t.pack.frequency_caps, *t.pack.spacing)
        ids += [r.id for r in rules if t.channel in r.channel_set]
    return tuple(ids)


def _timed_block(t: _Timed, at: datetime) -> tuple[str, ...] | None:
    if t.check_window:
        block = _window_block(t, at)
        if block is not None:
            return block
    if t.check_caps:
        return _caps_block(t, at)
    return None


def _window_block(t: _Timed, at: datetime) -> tuple[str, ...] | None:
    windows = t.pack.contact_windows
    for zone in t.zones:
        local = at.astimezone(zone)
        holiday = t.pack.is_holiday(local.date(), country=t.country, subdivision=t.subdivision)
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        ranges = windows.for_day(local.weekday(), holiday)
        if any(r.start * 60 <= seconds < r.end * 60 for r in ranges):
            continue
        weekday_open = any(
            r.start * 60 <= seconds < r.end * 60 for r in windows.for_weekday(local.weekday())
        )
        reason = Reason.HOLIDAY if holiday and weekday_open else Reason.WINDOW
        return (reason, windows.id)
    return None


def _caps_block(t: _Timed, at: datetime) -> tuple[str, ...] | None:
    for cap in t.pack.frequency_caps:
        if t.channel in cap.channel_set and _cap_exceeded(t, cap, at):
            reason = Reason.CAP_CHANNELS if cap.counts == "distinct_channels" else None
            return (reason or _CAP_REASONS[cap.period], cap.id)
    for rule in t.pack.spacing:
        if t.channel in rule.channel_set and _too_soon(t, rule, at):
            return (Reason.SPACING, rule.id)
    return None


def _same_period(cap: FrequencyCap, record: ContactRecord, at: datetime, zone: ZoneInfo) -> bool:
    if cap.period == "rolling_7d":
        return at - ROLLING < record.at <= at
    if record.at > at:
        return False
    mine, theirs = at.astimezone(zone).date(), record.at.astimezone(zone).date()
    if cap.period == "day":
        return mine == theirs
    return mine.isocalendar()[:2] == theirs.isocalendar()[:2]


def _cap_exceeded(t: _Timed, cap: FrequencyCap, at: datetime) -> bool:
    records = [r for r in t.counted if r.channel in cap.channel_set]
    zones = t.zones if cap.period != "rolling_7d" else t.zones[:1]
    for zone in zones:
        inside = [r for r in records if _same_period(cap, r, at, zone)]
        if cap.counts == "distinct_channels":
            if len({r.channel for r in inside} | {t.channel}) > cap.max:
                return True
        elif len(inside) >= cap.max:
            return True
    return False


def _too_soon(t: _Timed, rule: SpacingRule, at: datetime) -> bool:
    source = t.conversations if rule.after == "conversation" else t.counted
    records = [r for r in source if r.channel in rule.channel_set and r.at <= at]
    for zone in t.zones:
        today = at.astimezone(zone).date()
        if any((today - r.at.astimezone(zone).date()).days < rule.min_days for r in records):
            return True
    return False


# -- next allowed moment ---------------------------------------------------------------------


def _next_allowed(t: _Timed, now: datetime) -> datetime | None:
    """The earliest moment after `now`, within HORIZON, when the timed checks pass.

    Whether a contact is allowed only changes at a window start, a local midnight (day, week,
    holiday and spacing boundaries), a DST transition, or when a contact leaves the rolling
    7 days; trying those instants in order, a day at a time, finds the earliest allowed one.
    """
    end = now + HORIZON
    lo = now
    while lo < end:
        hi = min(lo + timedelta(days=1), end)
        for candidate in _candidates(t, lo, hi):
            if _timed_block(t, candidate) is None:
                return candidate
        lo = hi
    return None


def _candidates(t: _Timed, lo: datetime, hi: datetime) -> list[datetime]:
    """Instants in (lo, hi] where the outcome may change, sorted."""
    found: set[datetime] = {r.at + ROLLING for r in t.counted}
    for zone in t.zones:
        found.update(_zone_candidates(t.pack, zone, lo, hi))
    return sorted(c for c in found if lo < c <= hi)


def _zone_candidates(
    pack: PolicyPack, zone: ZoneInfo, lo: datetime, hi: datetime
) -> Iterator[datetime]:
    windows = pack.contact_windows
    day, last = lo.astimezone(zone).date(), hi.astimezone(zone).date()
    while day <= last:
        starts = {0} | {r.start for r in (*windows.for_weekday(day.weekday()), *windows.holiday)}
        for minute in starts:
            yield from _local_instants(day, minute, zone)
        day += timedelta(days=1)
    yield from _transitions(zone, lo, hi)


def _local_instants(day: date, minute: int, zone: ZoneInfo) -> set[datetime]:
    """Every instant whose local wall time in `zone` is `day` at `minute` (0, 1 or 2 of them).

    A wall time skipped by a DST gap has none: the transition itself is a candidate instead.
    """
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    out: set[datetime] = set()
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == naive:
            out.add(instant)
    return out


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """UTC instants in [start, end] where the zone's offset changes (DST), to the second."""
    step = timedelta(hours=12)
    lo = start.astimezone(UTC).replace(microsecond=0)
    while lo < end:
        hi = lo + step
        if lo.astimezone(zone).utcoffset() != hi.astimezone(zone).utcoffset():
            yield _bisect_transition(zone, lo, hi)
        lo = hi


def _bisect_transition(zone: ZoneInfo, lo: datetime, hi: datetime) -> datetime:
    before = lo.astimezone(zone).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from policies.contact import (
    ContactDecision,
    ContactRecord,
    ContactSubject,
    Reason,
    can_contact,
)
from policies.packs import CHANNELS, UnknownPackError, load_pack

CODES = ["ar", "cl", "co", "es", "mx", "pe", "us"]
ZONES = {
    "ar": "America/Argentina/Buenos_Aires",
    "cl": "America/Santiago",
    "co": "America/Bogota",
    "es": "Europe/Madrid",
    "mx": "America/Mexico_City",
    "pe": "America/Lima",
    "us": "America/New_York",
}

Stamp = tuple[int, int, int, int, int]  # year, month, day, hour, minute (local)


def local(code_or_zone: str, stamp: Stamp) -> datetime:
    zone = ZONES.get(code_or_zone, code_or_zone)
    return datetime(*stamp, tzinfo=ZoneInfo(zone))


def subject(code: str, **overrides: Any) -> ContactSubject:
    base: dict[str, Any] = {
        "country": code.upper(),
        "timezone": ZONES[code],
        "whatsapp_opt_in": True,
        "authorized_channels": frozenset(CHANNELS),
    }
    return ContactSubject(**(base | overrides))


def sent(
    at: datetime,
    channel: str = "whatsapp",
    initiated_by: str = "business",
    direction: str = "outbound",
    conversation: bool = False,
) -> ContactRecord:
    return ContactRecord.model_validate(
        {
            "at": at,
            "channel": channel,
            "initiated_by": initiated_by,
            "direction": direction,
            "conversation": conversation,
        }
    )


def check(
    code: str,
    stamp: Stamp,
    history: list[ContactRecord] | None = None,
    channel: str = "whatsapp",
    **kwargs: Any,
) -> ContactDecision:
    return can_contact(subject(code), channel, local(code, stamp), history or [], **kwargs)


def assert_next(decision: ContactDecision, expected: datetime) -> None:
    assert not decision.allowed
    assert decision.next_allowed_at == expected
    assert decision.next_allowed_at is not None
    assert decision.next_allowed_at.utcoffset() == timedelta(0)


# -- windows and holidays, per pack --------------------------------------------------------------

MON, SAT, SUN = (2026, 3, 9), (2026, 3, 14), (2026, 3, 15)

WINDOW_CASES: list[tuple[str, Stamp, bool, str]] = [
    # Mexico: Mon-Fri 07:00-22:00, no weekends (PROFECO, conservative), no holidays
    ("mx", (*MON, 6, 59), False, Reason.WINDOW),
    ("mx", (*MON, 7, 0), True, Reason.OK),
    ("mx", (*MON, 21, 59), True, Reason.OK),
    ("mx", (*MON, 22, 0), False, Reason.WINDOW),
    ("mx", (*SAT, 15, 0), False, Reason.WINDOW),
    ("mx", (*SUN, 15, 0), False, Reason.WINDOW),
    ("mx", (2026, 9, 16, 12, 0), False, Reason.HOLIDAY),  # Independence Day, Wednesday
    # Colombia: Mon-Fri 07:00-19:00, Sat 08:00-15:00, no Sundays or holidays
    ("co", (*MON, 6, 59), False, Reason.WINDOW),
    ("co", (*MON, 7, 0), True, Reason.OK),
    ("co", (*MON, 18, 59), True, Reason.OK),
    ("co", (*MON, 19, 0), False, Reason.WINDOW),
    ("co", (*SAT, 7, 59), False, Reason.WINDOW),
    ("co", (*SAT, 8, 0), True, Reason.OK),
    ("co", (*SAT, 14, 59), True, Reason.OK),
    ("co", (*SAT, 15, 0), False, Reason.WINDOW),
    ("co", (*SUN, 12, 0), False, Reason.WINDOW),
    ("co", (2026, 7, 20, 12, 0), False, Reason.HOLIDAY),  # Independence Day, Monday
    # Peru: Mon-Fri 07:00-20:00
    ("pe", (*MON, 6, 59), False, Reason.WINDOW),
    ("pe", (*MON, 7, 0), True, Reason.OK),
    ("pe", (*MON, 19, 59), True, Reason.OK),
    ("pe", (*MON, 20, 0), False, Reason.WINDOW),
    ("pe", (*SAT, 15, 0), False, Reason.WINDOW),
    ("pe", (*SUN, 15, 0), False, Reason.WINDOW),
    ("pe", (2026, 7, 28, 12, 0), False, Reason.HOLIDAY),
    # Chile: Mon-Fri 08:00-20:00, Saturday closed (conservative)
    ("cl", (*MON, 7, 59), False, Reason.WINDOW),
    ("cl", (*MON, 8, 0), True, Reason.OK),
    ("cl", (*MON, 19, 59), True, Reason.OK),
    ("cl", (*MON, 20, 0), False, Reason.WINDOW),
    ("cl", (*SAT, 15, 0), False, Reason.WINDOW),
    ("cl", (*SUN, 15, 0), False, Reason.WINDOW),
    ("cl", (2026, 9, 18, 12, 0), False, Reason.HOLIDAY),
    # Argentina (CABA rule nationwide): Mon-Fri 08:00-20:00, Sat 10:00-12:00
    ("ar", (*MON, 7, 59), False, Reason.WINDOW),
    ("ar", (*MON, 8, 0), True, Reason.OK),
    ("ar", (*MON, 19, 59), True, Reason.OK),
    ("ar", (*MON, 20, 0), False, Reason.WINDOW),
    ("ar", (*SAT, 9, 59), False, Reason.WINDOW),
    ("ar", (*SAT, 10, 0), True, Reason.OK),
    ("ar", (*SAT, 11, 59), True, Reason.OK),
    ("ar", (*SAT, 12, 0), False, Reason.WINDOW),
    ("ar", (*SAT, 15, 0), False, Reason.WINDOW),
    ("ar", (*SUN, 11, 0), False, Reason.WINDOW),
    ("ar", (2026, 7, 9, 12, 0), False, Reason.HOLIDAY),
    # Spain: Mon-Fri 09:00-21:00 (by analogy)
    ("es", (*MON, 8, 59), False, Reason.WINDOW),
    ("es", (*MON, 9, 0), True, Reason.OK),
    ("es", (*MON, 20, 59), True, Reason.OK),
    ("es", (*MON, 21, 0), False, Reason.WINDOW),
    ("es", (*SAT, 15, 0), False, Reason.WINDOW),
    ("es", (*SUN, 15, 0), False, Reason.WINDOW),
    ("es", (2026, 10, 12, 12, 0), False, Reason.HOLIDAY),
    # United States: every day 08:00-21:00, holidays included
    ("us", (*MON, 7, 59), False, Reason.WINDOW),
    ("us", (*MON, 8, 0), True, Reason.OK),
    ("us", (*MON, 20, 59), True, Reason.OK),
    ("us", (*MON, 21, 0), False, Reason.WINDOW),
    ("us", (*SAT, 15, 0), True, Reason.OK),
    ("us", (*SUN, 15, 0), True, Reason.OK),
    ("us", (2026, 7, 4, 12, 0), True, Reason.OK),
    ("us", (2026, 7, 4, 7, 59), False, Reason.WINDOW),
]


@pytest.mark.parametrize(("code", "stamp", "allowed", "reason"), WINDOW_CASES)
def test_window_per_pack(code: str, stamp: Stamp, allowed: bool, reason: str) -> None:
    decision = check(code, stamp)
    assert (decision.allowed, decision.reason) == (allowed, reason)
    assert decision.pack_version == load_pack(code).version
    assert decision.rule_ids[0] == reason
    if allowed:
        assert decision.next_allowed_at is None
    else:
        assert decision.rule_ids[1] == f"{code}.window"
        assert decision.next_allowed_at is not None
        assert decision.next_allowed_at > local(code, stamp)


NEXT_CASES: list[tuple[str, Stamp, Stamp]] = [
    ("co", (2026, 3, 13, 21, 30), (2026, 3, 14, 8, 0)),  # Friday night -> Saturday 08:00
    ("co", (2026, 3, 14, 15, 0), (2026, 3, 16, 7, 0)),  # Saturday 15:00 -> Monday
    ("co", (2026, 7, 19, 12, 0), (2026, 7, 21, 7, 0)),  # Sunday -> holiday Monday -> Tuesday
    ("mx", (*MON, 22, 0), (2026, 3, 10, 7, 0)),
    ("mx", (2026, 3, 13, 22, 30), (2026, 3, 17, 7, 0)),  # Monday 16 March is a holiday
    ("pe", (2026, 3, 13, 20, 0), (2026, 3, 16, 7, 0)),
    ("cl", (2026, 3, 13, 20, 0), (2026, 3, 16, 8, 0)),
    ("ar", (2026, 3, 13, 20, 0), (2026, 3, 14, 10, 0)),
    ("ar", (2026, 3, 14, 12, 0), (2026, 3, 16, 8, 0)),
    ("es", (2026, 3, 13, 21, 0), (2026, 3, 16, 9, 0)),
    ("us", (*MON, 21, 0), (2026, 3, 10, 8, 0)),
    ("us", (*MON, 5, 0), (*MON, 8, 0)),
]


@pytest.mark.parametrize(("code", "stamp", "expected"), NEXT_CASES)
def test_next_allowed_at_per_pack(code: str, stamp: Stamp, expected: Stamp) -> None:
    decision = check(code, stamp)
    assert_next(decision, local(code, expected).astimezone(UTC))


def test_colombia_friday_night_is_saturday_eight_in_utc() -> None:
    decision = check("co", (2026, 3, 13, 21, 30))
    assert decision.next_allowed_at == datetime(2026, 3, 14, 13, 0, tzinfo=UTC)
    assert decision.next_allowed_at.tzinfo is UTC


# -- time zones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "zone", "utc", "allowed", "next_utc"),
    [
        ("mx", "America/Mexico_City", (2026, 3, 10, 13, 30), True, None),
        ("mx", "America/Cancun", (2026, 3, 10, 13, 30), True, None),
        ("mx", "America/Tijuana", (2026, 3, 10, 13, 30), False, (2026, 3, 10, 14, 0)),
        ("mx", None, (2026, 3, 10, 13, 30), False, (2026, 3, 10, 14, 0)),
        ("us", "America/New_York", (2026, 3, 10, 14, 30), True, None),
        ("us", "America/Los_Angeles", (2026, 3, 10, 14, 30), False, (2026, 3, 10, 15, 0)),
        ("us", None, (2026, 3, 10, 15, 30), False, (2026, 3, 10, 18, 0)),  # Honolulu 08:00
        ("us", None, (2026, 3, 11, 0, 30), True, None),  # NY 20:30, Honolulu 14:30
        ("us", None, (2026, 3, 11, 1, 0), False, (2026, 3, 11, 18, 0)),  # NY 21:00
        ("es", "Europe/Madrid", (2026, 3, 10, 8, 30), True, None),
        ("es", "Atlantic/Canary", (2026, 3, 10, 8, 30), False, (2026, 3, 10, 9, 0)),
        ("es", None, (2026, 3, 10, 8, 30), False, (2026, 3, 10, 9, 0)),
        ("cl", None, (2026, 3, 10, 12, 0), False, (2026, 3, 10, 13, 0)),  # Easter Island
        ("cl", "America/Santiago", (2026, 3, 10, 12, 0), True, None),
    ],
)
def test_debtor_time_zone(
    code: str, zone: str | None, utc: Stamp, allowed: bool, next_utc: Stamp | None
) -> None:
    who = subject(code, timezone=zone)
    decision = can_contact(who, "whatsapp", datetime(*utc, tzinfo=UTC), [])
    assert decision.allowed is allowed
    expected = datetime(*next_utc, tzinfo=UTC) if next_utc else None
    assert decision.next_allowed_at == expected


def test_now_in_any_zone_gives_the_same_decision() -> None:
    instant = datetime(2026, 3, 10, 13, 30, tzinfo=UTC)
    who = subject("mx", timezone="America/Tijuana")
    a = can_contact(who, "whatsapp", instant, [])
    b = can_contact(who, "whatsapp", instant.astimezone(ZoneInfo("Asia/Tokyo")), [])
    assert a == b


# -- DST -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "stamp", "next_utc"),
    [
        # US spring forward, Sunday 8 March 2026: 08:00 EDT is 12:00 UTC (EST would be 13:00)
        ("us", (2026, 3, 7, 21, 30), (2026, 3, 8, 12, 0)),
        # US fall back, Sunday 1 November 2026: 08:00 EST is 13:00 UTC
        ("us", (2026, 10, 31, 21, 30), (2026, 11, 1, 13, 0)),
        # Spain, last Sunday of March (29th): Monday 09:00 CEST is 07:00 UTC
        ("es", (2026, 3, 27, 21, 30), (2026, 3, 30, 7, 0)),
        # Spain, last Sunday of October (25th): Monday 09:00 CET is 08:00 UTC
        ("es", (2026, 10, 23, 21, 30), (2026, 10, 26, 8, 0)),
        # Chile, DST ends Saturday 4 April; Friday 3 April is Good Friday: Monday 08:00 -04
        ("cl", (2026, 4, 2, 21, 0), (2026, 4, 6, 12, 0)),
        # Chile, DST starts Sunday 6 September: Monday 08:00 -03
        ("cl", (2026, 9, 4, 21, 0), (2026, 9, 7, 11, 0)),
    ],
)
def test_next_allowed_across_dst(code: str, stamp: Stamp, next_utc: Stamp) -> None:
    assert_next(check(code, stamp), datetime(*next_utc, tzinfo=UTC))


@pytest.mark.parametrize(
    ("utc", "allowed"),
    [
        ((2026, 3, 8, 11, 59), False),  # 07:59 EDT
        ((2026, 3, 8, 12, 0), True),  # 08:00 EDT
        ((2026, 11, 1, 12, 30), False),  # 07:30 EST
        ((2026, 11, 1, 13, 0), True),  # 08:00 EST
    ],
)
def test_us_window_on_dst_days(utc: Stamp, allowed: bool) -> None:
    who = subject("us")
    assert can_contact(who, "sms", datetime(*utc, tzinfo=UTC), []).allowed is allowed


def test_rolling_window_is_absolute_time_across_dst() -> None:
    history = [sent(local("us", (2026, 3, d, 12, 0))) for d in (4, 5, 6)]
    decision = check("us", (2026, 3, 10, 12, 0), history)
    assert decision.reason == Reason.CAP_ROLLING
    # 4 March 12:00 EST + 7 x 24 h = 11 March 13:00 EDT
    assert_next(decision, local("us", (2026, 3, 11, 13, 0)).astimezone(UTC))


# -- caps ----------------------------------------------------------------------------------------

TUE_NOON = (2026, 3, 10, 12, 0)

DAILY_CASES: list[tuple[str, str, Stamp]] = [
    ("mx", Reason.CAP_DAILY, (2026, 3, 11, 7, 0)),
    ("co", Reason.CAP_DAILY, (2026, 3, 11, 7, 0)),
    ("pe", Reason.CAP_DAILY, (2026, 3, 11, 7, 0)),
    ("cl", Reason.CAP_DAILY, (2026, 3, 12, 8, 0)),  # Wednesday is too soon: 2-day spacing
    ("ar", Reason.CAP_DAILY, (2026, 3, 11, 8, 0)),
    ("es", Reason.CAP_DAILY, (2026, 3, 11, 9, 0)),
    ("us", Reason.CAP_DAILY, (2026, 3, 11, 8, 0)),
]


@pytest.mark.parametrize(("code", "reason", "expected"), DAILY_CASES)
def test_daily_cap(code: str, reason: str, expected: Stamp) -> None:
    history = [sent(local(code, (2026, 3, 10, 9, 30)))]
    decision = check(code, TUE_NOON, history)
    assert decision.reason == reason
    assert_next(decision, local(code, expected).astimezone(UTC))


ROLLING_CASES: list[tuple[str, str | None, Stamp | None]] = [
    ("mx", Reason.CAP_ROLLING, (2026, 3, 11, 12, 0)),
    ("pe", Reason.CAP_ROLLING, (2026, 3, 11, 12, 0)),
    ("ar", Reason.CAP_ROLLING, (2026, 3, 11, 12, 0)),
    ("es", Reason.CAP_ROLLING, (2026, 3, 11, 12, 0)),
    ("us", Reason.CAP_ROLLING, (2026, 3, 11, 13, 0)),  # DST on 8 March
    ("cl", Reason.CAP_ROLLING, (2026, 3, 12, 12, 0)),  # 2 per 7 days: the 2nd must leave
    ("co", None, None),  # Colombia counts calendar weeks: last week's contacts do not count
]


@pytest.mark.parametrize(("code", "reason", "expected"), ROLLING_CASES)
def test_rolling_7_day_cap(code: str, reason: str | None, expected: Stamp | None) -> None:
    history = [sent(local(code, (2026, 3, d, 12, 0))) for d in (4, 5, 6)]
    decision = check(code, TUE_NOON, history)
    if reason is None:
        assert decision.allowed
        return
    assert decision.reason == reason
    assert expected is not None
    assert_next(decision, local(code, expected).astimezone(UTC))


def test_colombia_weekly_cap() -> None:
    history = [sent(local("co", (2026, 3, d, 10, 0))) for d in (9, 10)]
    decision = check("co", (2026, 3, 11, 12, 0), history)
    assert decision.reason == Reason.CAP_WEEK
    assert decision.rule_ids == (Reason.CAP_WEEK, "co.cap.week")
    assert_next(decision, local("co", (2026, 3, 16, 7, 0)).astimezone(UTC))


def test_colombia_one_channel_per_week() -> None:
    history = [sent(local("co", (2026, 3, 9, 10, 0)), channel="whatsapp")]
    decision = check("co", TUE_NOON, history, channel="sms")
    assert decision.reason == Reason.CAP_CHANNELS
    assert_next(decision, local("co", (2026, 3, 16, 7, 0)).astimezone(UTC))
    assert check("co", TUE_NOON, history, channel="whatsapp").allowed


def test_chile_weekly_message_cap_and_rolling_interplay() -> None:
    history = [sent(local("cl", (2026, 3, d, 10, 0))) for d in (9, 11)]
    decision = check("cl", (2026, 3, 13, 12, 0), history)
    assert decision.reason == Reason.CAP_WEEK
    # Monday 08:00 the calendar week is new, but Monday 9th 10:00 is still in the last 7 days.
    assert_next(decision, local("cl", (2026, 3, 16, 10, 0)).astimezone(UTC))


def test_chile_spacing_two_days_between_messages() -> None:
    history = [sent(local("cl", (2026, 3, 9, 10, 0)))]
    decision = check("cl", (2026, 3, 10, 10, 0), history)
    assert decision.reason == Reason.SPACING
    assert decision.rule_ids == (Reason.SPACING, "cl.spacing.messages")
    assert_next(decision, local("cl", (2026, 3, 11, 8, 0)).astimezone(UTC))
    assert check("cl", (2026, 3, 10, 10, 0), history, channel="sms").reason == Reason.SPACING
    assert check("cl", (2026, 3, 10, 10, 0), history, channel="call").allowed


def test_chile_one_call_per_week() -> None:
    history = [sent(local("cl", (2026, 3, 9, 10, 0)), channel="call")]
    decision = check("cl", (2026, 3, 11, 12, 0), history, channel="call")
    assert decision.reason == Reason.CAP_WEEK
    assert decision.rule_ids[1] == "cl.cap.calls_week"


def test_us_calls_seven_in_seven_and_after_conversation() -> None:
    calls = [sent(local("us", (2026, 3, 9, 9 + i, 0)), channel="call") for i in range(7)]
    decision = check("us", TUE_NOON, calls, channel="call")
    assert decision.reason == Reason.CAP_ROLLING
    assert_next(decision, calls[0].at.astimezone(UTC) + timedelta(days=7))
    assert check("us", TUE_NOON, calls[:6], channel="call").allowed

    talked = [sent(local("us", (2026, 3, 9, 10, 0)), channel="call", conversation=True)]
    decision = check("us", (2026, 3, 11, 12, 0), talked, channel="call")
    assert decision.reason == Reason.SPACING
    assert_next(decision, local("us", (2026, 3, 16, 8, 0)).astimezone(UTC))
    assert check("us", (2026, 3, 11, 12, 0), talked, channel="whatsapp").allowed


def test_allowed_decision_lists_the_rules_checked() -> None:
    decision = check("cl", TUE_NOON)
    assert decision.allowed and decision.message == "contact allowed"
    assert decision.rule_ids == (
        Reason.OK,
        "cl.window",
        "cl.cap.messages_week",
        "cl.cap.daily",
        "cl.cap.messages_rolling_7d",
        "cl.spacing.messages",
    )
    reply = check("cl", TUE_NOON, initiated_by="consumer")
    assert reply.rule_ids == (Reason.OK, "cl.window")


def test_caps_only_count_business_initiated_outbound() -> None:
    today = local("mx", (2026, 3, 10, 9, 30))
    history = [
        sent(today, initiated_by="consumer"),  # a reply inside the debtor's conversation
        sent(today, direction="inbound", initiated_by="consumer"),  # the debtor's message
    ]
    assert check("mx", TUE_NOON, history).allowed


def test_count_inbound_replies_flag_makes_replies_count() -> None:
    pack = load_pack("mx").model_copy(update={"count_inbound_replies": True})
    history = [sent(local("mx", (2026, 3, 10, 9, 30)), initiated_by="consumer")]
    assert check("mx", TUE_NOON, history, pack=pack).reason == Reason.CAP_DAILY
    reply = check("mx", TUE_NOON, history, pack=pack, initiated_by="consumer")
    assert reply.reason == Reason.CAP_DAILY


# -- consumer-initiated replies ------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_reply_to_debtor_skips_caps(code: str) -> None:
    history = [sent(local(code, (2026, 3, 10, 9, 30)))]
    assert check(code, TUE_NOON, history).reason == Reason.CAP_DAILY
    reply = check(code, TUE_NOON, history, initiated_by="consumer")
    assert reply.allowed and reply.reason == Reason.OK


def test_reply_respects_the_window_unless_the_pack_allows_it() -> None:
    sunday = (2026, 3, 15, 12, 0)
    reply = check("co", sunday, initiated_by="consumer")
    assert reply.reason == Reason.WINDOW
    assert_next(reply, local("co", (2026, 3, 16, 7, 0)).astimezone(UTC))
    lenient = load_pack("co").model_copy(update={"replies_outside_window": True})
    assert check("co", sunday, initiated_by="consumer", pack=lenient).allowed
    assert not check("co", sunday, pack=lenient).allowed  # business-initiated still blocked


def test_reply_needs_no_opt_in_but_respects_opt_out_and_stops() -> None:
    now = local("mx", TUE_NOON)
    no_optin = subject("mx", whatsapp_opt_in=False)
    assert can_contact(no_optin, "whatsapp", now, [], initiated_by="consumer").allowed
    for flags, reason in [
        ({"opted_out": True}, Reason.OPTED_OUT),
        ({"dispute_open": True}, Reason.STOP_DISPUTE),
        ({"has_lawyer": True}, Reason.STOP_LAWYER),
    ]:
        decision = can_contact(subject("mx", **flags), "whatsapp", now, [], initiated_by="consumer")
        assert (decision.allowed, decision.reason) == (False, reason)


# -- consent, opt-out and stop conditions --------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        ({"opted_out": True}, Reason.OPTED_OUT),
        ({"opted_out": frozenset({"whatsapp"})}, Reason.OPTED_OUT),
        ({"dispute_open": True}, Reason.STOP_DISPUTE),
        ({"has_lawyer": True}, Reason.STOP_LAWYER),
        ({"lawsuit_served": True}, Reason.STOP_LAWSUIT),
        ({"insolvency": True}, Reason.STOP_INSOLVENCY),
        ({"deceased": True}, Reason.STOP_DECEASED),
        ({"whatsapp_opt_in": False}, Reason.NO_OPTIN),
        ({"whatsapp_opt_in": False, "opted_out": True}, Reason.NO_OPTIN),  # consent first
        ({"opted_out": True, "dispute_open": True}, Reason.OPTED_OUT),
    ],
)
def test_permanent_blocks(code: str, flags: dict[str, Any], reason: str) -> None:
    decision = can_contact(subject(code, **flags), "whatsapp", local(code, TUE_NOON), [])
    assert (decision.allowed, decision.reason) == (False, reason)
    assert decision.next_allowed_at is None
    assert len(decision.rule_ids) == 2


@pytest.mark.parametrize("code", CODES)
def test_opt_out_is_per_channel(code: str) -> None:
    who = subject(code, opted_out=frozenset({"sms"}))
    assert can_contact(who, "whatsapp", local(code, TUE_NOON), []).allowed
    assert can_contact(who, "sms", local(code, TUE_NOON), []).reason == Reason.OPTED_OUT


def test_stop_condition_wins_over_window() -> None:
    decision = check("mx", (2026, 3, 15, 3, 0))  # Sunday night
    assert decision.reason == Reason.WINDOW
    who = subject("mx", dispute_open=True)
    decision = can_contact(who, "whatsapp", local("mx", (2026, 3, 15, 3, 0)), [])
    assert decision.reason == Reason.STOP_DISPUTE and decision.next_allowed_at is None


def test_vulnerable_recipient_only_where_the_pack_says_so() -> None:
    mx = can_contact(subject("mx", vulnerable_recipient=True), "sms", local("mx", TUE_NOON), [])
    assert mx.reason == Reason.STOP_VULNERABLE
    assert mx.rule_ids == (Reason.STOP_VULNERABLE, "stop.vulnerable_recipient")


def test_sms_needs_no_whatsapp_opt_in() -> None:
    who = subject("mx", whatsapp_opt_in=False)
    assert can_contact(who, "sms", local("mx", TUE_NOON), []).allowed


def test_colombia_needs_channel_authorization() -> None:
    now = local("co", TUE_NOON)
    nobody = subject("co", authorized_channels=None)
    decision = can_contact(nobody, "whatsapp", now, [])
    assert decision.rule_ids == (Reason.NOT_AUTHORIZED, "co.consent.channel_authorization")
    only_whatsapp = subject("co", authorized_channels=frozenset({"whatsapp"}))
    assert can_contact(only_whatsapp, "whatsapp", now, []).allowed
    assert can_contact(only_whatsapp, "sms", now, []).reason == Reason.NOT_AUTHORIZED
    assert can_contact(subject("mx", authorized_channels=None), "sms", now, []).allowed


# -- third parties -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["mx", "co", "pe", "cl", "ar"])
def test_third_party_forbidden(code: str) -> None:
    who = subject(code, is_third_party=True)
    decision = can_contact(who, "whatsapp", local(code, TUE_NOON), [])
    assert decision.rule_ids == (Reason.THIRD_PARTY, f"{code}.third_party")
    assert decision.next_allowed_at is None


@pytest.mark.parametrize(
    ("code", "role", "allowed"),
    [
        ("mx", "guarantor", True),
        ("co", "co_debtor", True),
        ("co", "spouse", False),
        ("pe", "guarantor", True),
        ("ar", "guarantor", False),
        ("us", "spouse", True),
    ],
)
def test_third_party_exceptions(code: str, role: str, allowed: bool) -> None:
    who = subject(code, is_third_party=True, third_party_role=role)
    assert can_contact(who, "whatsapp", local(code, TUE_NOON), []).allowed is allowed


@pytest.mark.parametrize("code", ["us", "es"])
def test_third_party_locate_only_once(code: str) -> None:
    who = subject(code, is_third_party=True)
    first = can_contact(who, "whatsapp", local(code, TUE_NOON), [])
    assert first.allowed
    assert first.rule_ids[:3] == (Reason.OK, Reason.THIRD_PARTY_LOCATE, f"{code}.third_party")
    history = [sent(local(code, (2026, 3, 2, 12, 0)))]
    again = can_contact(who, "whatsapp", local(code, TUE_NOON), history)
    assert (again.allowed, again.reason, again.next_allowed_at) == (False, Reason.THIRD_PARTY, None)


def test_reply_to_a_third_party_is_allowed_without_disclosure() -> None:
    who = subject("co", is_third_party=True)
    decision = can_contact(who, "whatsapp", local("co", TUE_NOON), [], initiated_by="consumer")
    assert decision.allowed
    assert Reason.THIRD_PARTY_NO_DISCLOSURE in decision.rule_ids


# -- packs and subjects --------------------------------------------------------------------------


def test_pack_codes_override_applies_the_strictest() -> None:
    who = subject("mx", pack_codes=("mx", "us"))
    decision = can_contact(who, "whatsapp", local("mx", (*MON, 7, 30)), [])
    assert decision.reason == Reason.WINDOW
    assert decision.pack_version == "MX-2026.01+US-2026.01"
    assert_next(decision, local("mx", (*MON, 8, 0)).astimezone(UTC))


def test_explicit_pack_wins_over_country() -> None:
    decision = can_contact(subject("mx"), "whatsapp", local("mx", (*SAT, 11, 0)), [])
    assert not decision.allowed
    us = load_pack("us")
    decision = can_contact(subject("mx"), "whatsapp", local("mx", (*SAT, 11, 0)), [], pack=us)
    assert decision.allowed and decision.pack_version == us.version


def test_subdivision_holidays() -> None:
    diada = local("es", (2026, 9, 11, 12, 0))  # Catalonia's national day, a Friday
    assert can_contact(subject("es"), "sms", diada, []).allowed
    decision = can_contact(subject("es", subdivision="CT"), "sms", diada, [])
    assert decision.reason == Reason.HOLIDAY
    with pytest.raises(ValidationError):
        subject("es", subdivision="XX")


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        can_contact(subject("mx"), "whatsapp", datetime(2026, 3, 10, 12, 0), [])
    with pytest.raises(ValueError, match="unknown channel"):
        can_contact(subject("mx"), "fax", local("mx", TUE_NOON), [])
    with pytest.raises(ValidationError):
        ContactRecord.model_validate({"at": datetime(2026, 3, 10, 12, 0), "channel": "sms"})
    with pytest.raises(ValidationError):
        subject("mx", timezone="Mars/Olympus")
    with pytest.raises(ValidationError):
        ContactSubject(country="Mexico")


def test_unknown_country_has_no_pack() -> None:
    with pytest.raises(UnknownPackError, match="BR"):
        can_contact(ContactSubject(country="BR"), "sms", local("mx", TUE_NOON), [])


# -- properties ----------------------------------------------------------------------------------

TIMED = {
    Reason.WINDOW,
    Reason.HOLIDAY,
    Reason.CAP_DAILY,
    Reason.CAP_WEEK,
    Reason.CAP_ROLLING,
    Reason.CAP_CHANNELS,
    Reason.SPACING,
}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ContactSubject, str, datetime, list[ContactRecord]]:
    code = draw(st.sampled_from(CODES))
    zone = draw(st.one_of(st.none(), st.sampled_from(load_pack(code).timezones)))
    now = draw(
        st.datetimes(
            min_value=datetime(2026, 1, 1),
            max_value=datetime(2026, 12, 31),
            timezones=st.just(UTC),
        )
    )
    records = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=12 * 24 * 60),  # minutes before now
                st.sampled_from(CHANNELS),
                st.sampled_from(["business", "consumer"]),
                st.booleans(),
            ),
            max_size=6,
        )
    )
    history = [
        sent(now - timedelta(minutes=m), channel=c, initiated_by=i, conversation=talk)
        for m, c, i, talk in records
    ]
    channel = draw(st.sampled_from(CHANNELS))
    return subject(code, timezone=zone), channel, now, history


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), fractions=st.lists(st.floats(0, 1), min_size=1, max_size=3))
def test_next_allowed_at_is_the_earliest_allowed_moment(
    scenario: tuple[ContactSubject, str, datetime, list[ContactRecord]],
    fractions: list[float],
) -> None:
    who, channel, now, history = scenario
    decision = can_contact(who, channel, now, history)
    if decision.allowed:
        assert decision.next_allowed_at is None
        return
    assert decision.reason in TIMED
    nxt = decision.next_allowed_at
    assert nxt is not None and nxt > now and nxt.utcoffset() == timedelta(0)
    assert nxt - now <= timedelta(days=60)
    assert can_contact(who, channel, nxt, history).allowed
    probes = [nxt - timedelta(seconds=1), *(now + (nxt - now) * f for f in fractions)]
    for probe in probes:
        if now <= probe < nxt:
            assert not can_contact(who, channel, probe, history).allowed, probe


@settings(max_examples=40, deadline=None)
@given(scenario=scenarios(), initiated_by=st.sampled_from(["business", "consumer"]))
def test_permanent_blocks_never_have_a_next_time(
    scenario: tuple[ContactSubject, str, datetime, list[ContactRecord]], initiated_by: str
) -> None:
    who, channel, now, history = scenario
    stopped = who.model_copy(update={"has_lawyer": True})
    decision = can_contact(stopped, channel, now, history, initiated_by=initiated_by)  # type: ignore[arg-type]
    assert not decision.allowed and decision.next_allowed_at is None
    assert decision.reason not in TIMED


@settings(max_examples=40, deadline=None)
@given(scenario=scenarios())
def test_unknown_zone_is_at_least_as_strict_as_any_known_zone(
    scenario: tuple[ContactSubject, str, datetime, list[ContactRecord]],
) -> None:
    who, channel, now, history = scenario
    unknown = who.model_copy(update={"timezone": None})
    if can_contact(unknown, channel, now, history).allowed:
        pack = load_pack(who.country.lower())
        for zone in pack.timezones:
            known = who.model_copy(update={"timezone": zone})
            assert can_contact(known, channel, now, history).allowed, zone

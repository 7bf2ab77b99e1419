from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from policies.packs import (
    PACKS_DIR,
    PackError,
    PolicyPack,
    Provenance,
    TimeRange,
    UnknownPackError,
    available_packs,
    describe,
    intersect_ranges,
    load_pack,
    load_pack_file,
    pack_for_country,
    render_pack,
    strictest,
)

CODES = ["ar", "cl", "co", "es", "mx", "pe", "us"]
COUNTRIES = {"ar": "AR", "cl": "CL", "co": "CO", "es": "ES", "mx": "MX", "pe": "PE", "us": "US"}


def rng(start: str, end: str) -> TimeRange:
    return TimeRange.model_validate([start, end])


def all_rules(pack: PolicyPack) -> list[tuple[str, Provenance]]:
    d = pack.required_disclosures
    rules: list[tuple[str, Provenance]] = [
        (pack.contact_windows.id, pack.contact_windows),
        ("holiday_calendar", pack.holiday_calendar),
        (pack.third_party.id, pack.third_party),
        (pack.opt_out.id, pack.opt_out),
    ]
    rules += [(r.id, r) for r in (*pack.frequency_caps, *pack.spacing, *pack.consent)]
    rules += [(r.id, r) for r in (*pack.forbidden_practices, *pack.stop_conditions)]
    rules += [(r.id, r) for r in (*d.first_contact, *d.every_contact, *d.every_message)]
    rules += list(pack.flag_sources.items())
    return rules


# -- loading -----------------------------------------------------------------------------------


def test_available_packs_lists_every_jurisdiction() -> None:
    assert available_packs() == CODES


@pytest.mark.parametrize("code", CODES)
def test_every_pack_loads_with_its_own_code_and_version(code: str) -> None:
    pack = load_pack(code)
    assert pack.code == code
    assert pack.country == COUNTRIES[code]
    assert pack.version.startswith(f"{code.upper()}-2026.")
    assert pack.default_timezone in pack.timezones
    assert pack.holiday_calendar.country == COUNTRIES[code]


def test_load_pack_is_case_insensitive_and_cached() -> None:
    assert load_pack("MX") is load_pack("mx")
    assert load_pack(" Co ") is load_pack("co")


@pytest.mark.parametrize("code", ["xx", "../mx", "", "mx.yaml"])
def test_unknown_code_lists_valid_codes(code: str) -> None:
    with pytest.raises(UnknownPackError) as err:
        load_pack(code)
    message = str(err.value)
    assert all(c in message for c in CODES)


def test_pack_for_country() -> None:
    assert pack_for_country("co").code == "co"
    assert pack_for_country("US").code == "us"
    with pytest.raises(UnknownPackError, match="BR"):
        pack_for_country("BR")


# -- provenance ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_every_rule_has_provenance(code: str) -> None:
    for rule_id, rule in all_rules(load_pack(code)):
        assert rule.source.strip(), rule_id
        assert rule.verified in {"official", "secondary", "unverified"}, rule_id
        for url in (rule.url, *rule.see_also):
            assert url is None or url.startswith(("http://", "https://")), rule_id


@pytest.mark.parametrize("code", CODES)
def test_house_defaults_are_never_marked_verified(code: str) -> None:
    for rule_id, rule in all_rules(load_pack(code)):
        if rule.source.lower().startswith("house default"):
            assert rule.verified == "unverified", rule_id


@pytest.mark.parametrize("code", CODES)
def test_every_pack_has_the_product_sections(code: str) -> None:
    pack = load_pack(code)
    stops = {s.id for s in pack.stop_conditions}
    assert {"dispute_open", "debtor_has_lawyer"} <= stops
    assert {"baja", "stop"} <= set(pack.opt_out.keywords)
    forbidden = {f.id for f in pack.forbidden_practices}
    assert {"jail_threat", "insults", "false_urgency", "contact_employer_or_family"} <= forbidden
    assert any(c.period == "day" for c in pack.frequency_caps)
    assert any(c.requirement == "platform_opt_in" for c in pack.consent)
    assert pack.count_inbound_replies is False


def test_flags_follow_the_reference() -> None:
    legal = {c: load_pack(c).allow_true_legal_consequence_statement for c in CODES}
    assert legal["mx"] and legal["pe"] and legal["us"]
    assert legal["cl"] is False


def test_country_specific_rules() -> None:
    assert load_pack("us").opt_out.keywords[:3] == ("stop", "stopall", "unsubscribe")
    us_every = {r.id for r in load_pack("us").required_disclosures.every_message}
    assert us_every == {"opt_out_instruction"}
    assert load_pack("es").third_party.policy == "locate_only"
    assert load_pack("co").third_party.exceptions == ("guarantor", "co_debtor")
    cl_spacing = load_pack("cl").spacing[0]
    assert (cl_spacing.min_days, cl_spacing.channel_set) == (2, {"whatsapp", "sms", "email"})
    assert load_pack("cl").stop_condition("lawsuit_served") is not None


# -- holidays ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "day"),
    [
        ("mx", date(2026, 9, 16)),
        ("co", date(2026, 7, 20)),
        ("pe", date(2026, 7, 28)),
        ("cl", date(2026, 9, 18)),
        ("ar", date(2026, 7, 9)),
        ("es", date(2026, 10, 12)),
        ("us", date(2026, 7, 4)),
    ],
)
def test_national_holidays_come_from_the_holidays_package(code: str, day: date) -> None:
    pack = load_pack(code)
    assert pack.is_holiday(day)
    assert not pack.is_holiday(date(2026, 3, 10))


def test_subdivision_adds_regional_holidays() -> None:
    es = load_pack("es")
    canarias_day = date(2026, 5, 30)
    assert not es.is_holiday(canarias_day)
    assert es.is_holiday(canarias_day, country="ES", subdivision="CN")
    assert not es.is_holiday(canarias_day, country="MX", subdivision="CN")


def test_holiday_overrides_add_and_remove() -> None:
    data = load_pack("mx").model_dump(mode="json")
    data["holiday_overrides"] = {
        "add": [{"date": "2026-03-10", "name": "decree", "source": "DOF", "verified": "official"}],
        "remove": [
            {"date": "2026-09-16", "name": "moved", "source": "DOF", "verified": "official"}
        ],
    }
    pack = PolicyPack.model_validate(data)
    assert pack.is_holiday(date(2026, 3, 10))
    assert not pack.is_holiday(date(2026, 9, 16))
    text = render_pack(pack)
    assert "holidays.add: 2026-03-10 decree [official] DOF" in text
    assert "holidays.remove: not a holiday: 2026-09-16 moved [official] DOF" in text


# -- schema validation ---------------------------------------------------------------------------


def _write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _mx_data() -> dict[str, object]:
    return yaml.safe_load((PACKS_DIR / "mx.yaml").read_text(encoding="utf-8"))


def test_load_pack_file_round_trips(tmp_path: Path) -> None:
    assert load_pack_file(_write(tmp_path, _mx_data())) == load_pack("mx")


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("contact_windows", "mon"), [["22:00", "07:00"]], "ends before it starts"),
        (("contact_windows", "mon"), [["7:00", "22:00"]], "HH:MM"),
        (("frequency_caps", 0, "source"), "", "source"),
        (("frequency_caps", 0, "verified"), "maybe", "verified"),
        (("third_party", "policy"), "sometimes", "policy"),
        (("default_timezone",), "Mars/Olympus", "time zone"),
        (("holiday_calendar", "country"), "ZZ", "ZZ"),
        (("flag_sources",), {}, "flag_sources"),
    ],
)
def test_invalid_packs_are_rejected(
    tmp_path: Path, path: tuple[object, ...], value: object, problem: str
) -> None:
    data = _mx_data()
    target: object = data
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    with pytest.raises(PackError, match=problem):
        load_pack_file(_write(tmp_path, data))


def test_missing_provenance_is_rejected(tmp_path: Path) -> None:
    data = _mx_data()
    del data["third_party"]["verified"]  # type: ignore[index]
    with pytest.raises(PackError, match=r"third_party\.verified"):
        load_pack_file(_write(tmp_path, data))


# -- strictest -----------------------------------------------------------------------------------


def test_intersect_ranges() -> None:
    a = (rng("07:00", "12:00"), rng("14:00", "22:00"))
    b = (rng("09:00", "15:00"),)
    assert intersect_ranges(a, b) == (rng("09:00", "12:00"), rng("14:00", "15:00"))
    assert intersect_ranges(a, ()) == ()


def test_strictest_intersects_windows_and_takes_min_caps() -> None:
    mx, co, us = load_pack("mx"), load_pack("co"), load_pack("us")
    both = strictest([mx, co])
    w = both.contact_windows
    assert w.mon == (rng("07:00", "19:00"),)
    assert w.sat == () and w.sun == () and w.holiday == ()
    assert strictest([mx, us]).contact_windows.mon == (rng("08:00", "21:00"),)
    assert strictest([co, us]).contact_windows.sat == (rng("08:00", "15:00"),)
    daily_any = [c for c in both.frequency_caps if c.period == "day" and c.channels == ("any",)]
    assert [c.max for c in daily_any] == [1]
    assert {c.id for c in both.frequency_caps} >= {"co.cap.channels_week", "co.cap.week"}
    assert both.version == "MX-2026.01+CO-2026.01"


def test_strictest_caps_keep_the_minimum() -> None:
    data = load_pack("mx").model_dump(mode="json")
    data["code"] = "mx2"
    data["frequency_caps"][1]["max"] = 2  # rolling_7d, any
    looser, tighter = load_pack("mx"), PolicyPack.model_validate(data)
    merged = strictest([looser, tighter])
    rolling = [c for c in merged.frequency_caps if c.period == "rolling_7d"]
    assert [c.max for c in rolling] == [2]


def test_strictest_unions_holidays_and_contents() -> None:
    mx, co, cl = load_pack("mx"), load_pack("co"), load_pack("cl")
    merged = strictest([mx, co, cl])
    assert merged.is_holiday(date(2026, 9, 16))  # MX only
    assert merged.is_holiday(date(2026, 7, 20))  # CO only
    assert merged.is_holiday(date(2026, 9, 18))  # CL only
    forbidden = {f.id for f in merged.forbidden_practices}
    assert {"ask_reason_nonpayment", "hidden_caller_id", "judicial_reference"} <= forbidden
    assert "vulnerable_recipient" in {s.id for s in merged.stop_conditions}
    assert "dejen de fregar" in merged.opt_out.keywords
    assert merged.allow_true_legal_consequence_statement is False  # CL is false
    assert merged.flag_sources["allow_true_legal_consequence_statement"].source.startswith(
        "Ley 19.496"
    )
    assert set(merged.timezones) >= {"America/Tijuana", "America/Bogota", "Pacific/Easter"}


def test_strictest_third_party_and_verified_status() -> None:
    es, co, us = load_pack("es"), load_pack("co"), load_pack("us")
    assert strictest([es, co]).third_party.policy == "forbidden"
    assert strictest([es, co]).third_party.exceptions == ()
    assert strictest([us, es]).third_party.policy == "locate_only"
    assert strictest([us, co]).contact_windows.verified == "secondary"  # official + secondary


def test_strictest_edge_cases() -> None:
    mx = load_pack("mx")
    assert strictest([mx]) is mx
    assert strictest([mx, mx]) is mx
    with pytest.raises(ValueError):
        strictest([])


# -- describe / render ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_describe_covers_every_rule(code: str) -> None:
    pack = load_pack(code)
    rows = describe(pack)
    ids = {r.rule_id for r in rows}
    assert pack.contact_windows.id in ids and pack.third_party.id in ids
    assert {c.id for c in pack.frequency_caps} <= ids
    assert {f"forbidden.{f.id}" for f in pack.forbidden_practices} <= ids
    assert {f"stop.{s.id}" for s in pack.stop_conditions} <= ids
    assert all(r.source and r.verified for r in rows)


@pytest.mark.parametrize("code", CODES)
def test_render_pack_shows_rules_with_sources_and_status(code: str) -> None:
    pack = load_pack(code)
    text = render_pack(pack)
    assert text.startswith(f"Policy pack {pack.version}")
    lines = text.splitlines()
    for row in describe(pack):
        line = next(ln for ln in lines if ln.strip().startswith(f"{row.rule_id}:"))
        assert f"[{row.verified}]" in line
        assert row.source.split()[0] in line
    for section in ("Contact windows", "Frequency", "Third parties", "Stop conditions"):
        assert section in text


def test_render_pack_details() -> None:
    text = render_pack(load_pack("co"))
    assert "sat 08:00-15:00; sun closed; holiday closed" in text
    assert "co.cap.daily: at most 1 contact per calendar day on any [secondary] Ley 2300" in text
    assert "[unverified] house default" in text
    assert "note:" not in text
    assert "      note: Interpretations differ" in render_pack(load_pack("co"), notes=True)

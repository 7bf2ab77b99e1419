"""Webhook payloads from Meta's documentation, read leniently; signatures."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api.whatsapp import signature
from api.whatsapp.payloads import WebhookFormatError, parse_webhook

FIXTURES = Path(__file__).parents[1] / "fixtures" / "whatsapp"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def only_message(name: str):  # type: ignore[no-untyped-def]
    batch = parse_webhook(fixture(name))
    assert batch.errors == []
    assert batch.statuses == []
    assert len(batch.messages) == 1
    return batch.messages[0]


def test_text_2026_shape_carries_phone_user_id_and_profile():
    event = only_message("text_2026")
    assert event.wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    assert event.kind == "text"
    assert event.text == "I can pay 200 now and the rest next month"
    assert event.phone == "16505551234"
    assert event.user_id == "US.13491208655302741918"
    assert event.profile_name == "Sheena Nelson"
    assert event.timestamp == datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert event.button_id is None


def test_a_username_user_has_a_user_id_and_no_phone():
    event = only_message("text_user_id_only")
    assert event.phone is None
    assert event.user_id == "US.13491208655302741918"
    assert event.text == "Hola, quiero hablar de mi deuda"
    assert event.profile_name == "Sheena Nelson"


@pytest.mark.parametrize(
    ("name", "title", "button_id"),
    [
        ("interactive_button_reply", "3 installments", "plan_3x"),
        ("interactive_list_reply", "4 payments", "plan_4x"),
    ],
)
def test_interactive_replies_give_the_id_and_the_title(name, title, button_id):
    event = only_message(name)
    assert event.kind == "interactive"
    assert (event.text, event.button_id) == (title, button_id)
    assert event.context_wamid is not None and event.context_wamid.startswith("wamid.")


def test_a_template_quick_reply_gives_its_payload_as_button_id():
    event = only_message("template_button")
    assert event.kind == "button"
    assert event.button_id == "CASE_CX-10293_DISCUSS"
    assert event.text == "Talk to us"


def test_a_reaction_gives_the_emoji():
    event = only_message("reaction")
    assert event.kind == "reaction"
    assert event.text == "😮"
    assert event.attachment == {
        "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA",
        "emoji": "😮",
    }


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("image", "caption", "comprobante de pago"),
        ("sticker", "mime_type", "image/webp"),
        ("location", "latitude", 37.46),
        ("unsupported", "type", "pool"),
    ],
)
def test_media_kinds_keep_their_part_and_read_no_text(name, key, value):
    event = only_message(name)
    assert event.kind == name
    assert event.text is None  # a caption is not typed text
    assert event.attachment is not None and event.attachment[key] == value


def test_contacts_are_kept_as_a_list():
    event = only_message("contacts")
    assert event.kind == "contacts"
    assert event.attachment[0]["phones"][0]["wa_id"] == "19405551234"


def test_an_unsupported_message_keeps_its_errors():
    event = only_message("unsupported")
    assert event.raw["errors"][0]["code"] == 131051


def test_a_batch_reads_every_entry_change_message_and_status():
    batch = parse_webhook(fixture("batch"))
    assert [m.wamid for m in batch.messages] == [
        "wamid.BATCH.0001",
        "wamid.BATCH.0002",
        "wamid.BATCH.0003",
    ]
    assert [m.phone for m in batch.messages] == ["16505551234", "573001234567", "51987654321"]
    # each message takes the user id of its own sender's contact, not its neighbour's
    assert [m.user_id for m in batch.messages] == [
        "US.13491208655302741918",
        "CO.55501234567890",
        None,
    ]
    assert batch.messages[2].button_id == "option:2"
    assert [s.status for s in batch.statuses] == ["sent"]
    assert batch.errors == []


def test_a_malformed_element_is_reported_and_its_siblings_are_kept():
    batch = parse_webhook(fixture("batch_with_malformed"))
    assert [m.wamid for m in batch.messages] == [
        "wamid.BATCH.0001",
        "wamid.BATCH.0002",
        "wamid.BATCH.0003",
    ]
    assert len(batch.statuses) == 1
    assert batch.errors == [
        "entry[0].changes[0].value.messages[1]: id: Field required",
        "entry[0].changes[0].value.messages[3]: expected an object, got a string",
    ]


@pytest.mark.parametrize(
    ("element", "reason"),
    [
        ({"id": "wamid.X", "from": "1", "timestamp": "1", "type": "text"}, "without text.body"),
        ({"id": "wamid.X", "timestamp": "1", "type": "text", "text": {"body": "x"}}, "no sender"),
        ({"id": 7, "from": "1", "type": "text", "text": {"body": "x"}}, "id: "),
        ({"id": "wamid.X", "from": "1", "type": "text", "text": "hola"}, "text: "),
        ({"id": "wamid.X", "from": "1", "text": {"body": "x"}}, "type: Field required"),
    ],
)
def test_each_kind_of_malformed_message_has_a_clear_reason(element, reason):
    data = fixture("text_2026")
    value = data["entry"][0]["changes"][0]["value"]
    value["contacts"] = []
    value["messages"].append(element)
    batch = parse_webhook(data)
    assert len(batch.messages) == 1
    assert len(batch.errors) == 1 and reason in batch.errors[0]
    assert batch.errors[0].startswith("entry[0].changes[0].value.messages[1]: ")


def test_unknown_types_and_fields_are_tolerated():
    data = fixture("text_2026")
    message = data["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(type="poll_vote", poll_vote={"option": 2}, brand_new_field=True)
    del message["text"]
    event = parse_webhook(data).messages[0]
    assert event.kind == "poll_vote"
    assert event.text is None
    assert event.attachment == {"option": 2}


def test_an_unreadable_timestamp_is_none_not_an_error():
    data = fixture("text_2026")
    data["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = "ayer"
    batch = parse_webhook(data)
    assert batch.errors == []
    assert batch.messages[0].timestamp is None


@pytest.mark.parametrize(
    ("name", "status"),
    [("status_sent", "sent"), ("status_delivered", "delivered"), ("status_read", "read")],
)
def test_statuses_carry_wamid_status_time_and_recipient(name, status):
    batch = parse_webhook(fixture(name))
    assert batch.messages == [] and batch.errors == []
    (event,) = batch.statuses
    assert event.wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA"
    assert event.status == status
    assert event.recipient == "16505551234"
    assert event.timestamp is not None and event.timestamp.tzinfo is UTC
    assert event.error_code is None


def test_a_failed_status_without_contacts_gives_its_error():
    (event,) = parse_webhook(fixture("status_failed")).statuses
    assert event.status == "failed"
    assert event.error_code == 131049
    assert event.error_title is not None and "healthy ecosystem" in event.error_title
    assert event.timestamp == datetime(2025, 6, 28, 20, 34, 48, tzinfo=UTC)


def test_a_status_without_id_is_reported():
    data = fixture("status_read")
    del data["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    batch = parse_webhook(data)
    assert batch.statuses == []
    assert batch.errors == ["entry[0].changes[0].value.statuses[0]: id: Field required"]


def test_value_level_errors_are_meta_errors_not_parse_errors():
    batch = parse_webhook(fixture("value_errors"))
    assert batch.errors == []
    assert [(e.code, e.title) for e in batch.meta_errors] == [(131000, "Something went wrong")]


def test_other_subscription_fields_are_ignored():
    data = fixture("text_2026")
    data["entry"][0]["changes"][0]["field"] = "account_update"
    batch = parse_webhook(data)
    assert batch.messages == [] and batch.errors == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([1, 2], "expected a JSON object, got a list"),
        ("hola", "expected a JSON object, got a string"),
        ({"object": "page", "entry": []}, '"object" must be "whatsapp_business_account"'),
        ({"entry": []}, "got None"),
    ],
)
def test_a_body_that_is_not_a_whatsapp_webhook_is_refused(data, reason):
    with pytest.raises(WebhookFormatError, match=reason):
        parse_webhook(data)


def test_a_broken_envelope_is_reported_not_raised():
    batch = parse_webhook(
        {"object": "whatsapp_business_account", "entry": [{"changes": "x"}, {"id": "1"}]}
    )
    assert batch.errors == [
        "entry[0].changes: expected a list, got a string",
        "entry[1].changes: expected a list, got null",
    ]


# --- signatures --------------------------------------------------------------------------------


def test_sign_matches_a_known_hmac_sha256():
    # echo -n '{"a":1}' | openssl dgst -sha256 -hmac s3cret
    assert signature.sign(b'{"a":1}', "s3cret") == (
        "sha256=5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d"
    )


def test_verify_accepts_the_right_signature_only():
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    header = signature.sign(body, "s3cret")
    assert signature.verify(body, header, "s3cret")
    assert signature.verify(body, header.upper().replace("SHA256=", "sha256="), "s3cret")
    assert not signature.verify(body + b" ", header, "s3cret")
    assert not signature.verify(body, header, "other")


@pytest.mark.parametrize(
    "header", [None, "", "sha256=", "sha1=abc", "abc", "sha256=zz", "sha256=ñandú", "=abc"]
)
def test_verify_refuses_missing_or_garbled_headers(header):
    assert signature.verify(b"{}", header, "s3cret") is False


def test_verify_hashes_raw_bytes_not_reserialised_json():
    raw = b'{"text":"\\u00e1"}'  # as Meta sends it: escaped unicode
    header = signature.sign(raw, "s3cret")
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert signature.verify(raw, header, "s3cret")
    assert not signature.verify(reserialised, header, "s3cret")

"""The Cloud API client against an httpx.MockTransport serving Meta's documented bodies."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from agent.config import Settings
from api.channels import SandboxChannel, build_channel
from api.channels.base import (
    Button,
    ChannelError,
    ListRow,
    OutgoingMessage,
    classify,
    mask_recipient,
)
from api.channels.cloud import CloudApiChannel

TO = "+5215512345678"
URL = "https://graph.facebook.com/v25.0/106540352242922/messages"
WAMID = "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"
SUCCESS = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": TO, "wa_id": "5215512345678"}],
    "messages": [{"id": WAMID}],
}


def graph_error(code: int, message: str, details: str, **extra: object) -> dict[str, object]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
            **extra,
        }
    }


ERRORS = {
    131026: graph_error(131026, "Message undeliverable", "Message Undeliverable."),
    130429: graph_error(
        130429,
        "(#130429) Rate limit hit",
        "Cloud API message throughput has been reached.",
        error_subcode=2494055,
    ),
    131056: graph_error(
        131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit", "Pair limit"
    ),
    131047: graph_error(
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    190: {
        "error": {
            "message": "Error validating access token: Session has expired on Tuesday.",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "AbCdEf",
        }
    },
    100: graph_error(100, "(#100) Invalid parameter", "Parameter value is not valid"),
}


class Recorder:
    """A MockTransport handler that answers from a script and keeps every request."""

    def __init__(self, *responses: tuple[int, dict[str, object]]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.responses.pop(0) if self.responses else (200, SUCCESS)
        return httpx.Response(status, json=body)

    def json(self, i: int = -1) -> dict[str, object]:
        return json.loads(self.requests[i].content)


@pytest.fixture
def cloud_settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        whatsapp_token=SecretStr("test-token-123"),
        whatsapp_phone_number_id="106540352242922",
    )


@pytest.fixture
def make_channel(cloud_settings: Settings) -> Callable[..., tuple[CloudApiChannel, Recorder]]:
    def make(*responses: tuple[int, dict[str, object]]) -> tuple[CloudApiChannel, Recorder]:
        recorder = Recorder(*responses)
        return CloudApiChannel(cloud_settings, transport=httpx.MockTransport(recorder)), recorder

    return make


def test_text_send_posts_the_documented_body_and_returns_the_wamid(make_channel):
    channel, rec = make_channel((200, SUCCESS))
    result = channel.send(OutgoingMessage(to=TO, body="Hola, ¿cómo está?"))
    assert result.wamid == WAMID
    [request] = rec.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["authorization"] == "Bearer test-token-123"
    assert request.headers["content-type"] == "application/json"
    assert rec.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"preview_url": False, "body": "Hola, ¿cómo está?"},
    }


def test_reply_buttons_are_sent_as_interactive_button(make_channel):
    channel, rec = make_channel()
    buttons = (Button("confirm:yes", "Sí, confirmo"), Button("confirm:no", "No, otra opción"))
    channel.send(OutgoingMessage(to=TO, kind="buttons", body="¿Confirma?", buttons=buttons))
    assert rec.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "¿Confirma?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "confirm:yes", "title": "Sí, confirmo"}},
                    {"type": "reply", "reply": {"id": "confirm:no", "title": "No, otra opción"}},
                ]
            },
        },
    }


def test_list_is_sent_as_interactive_list(make_channel):
    channel, rec = make_channel()
    rows = (ListRow("plan_2x", "2 pagos", "$210 el 1 de julio"), ListRow("plan_4x", "4 pagos"))
    channel.send(
        OutgoingMessage(to=TO, kind="list", body="Elija un plan", rows=rows, list_button="Ver")
    )
    assert rec.json()["type"] == "interactive"
    assert rec.json()["interactive"] == {
        "type": "list",
        "body": {"text": "Elija un plan"},
        "action": {
            "button": "Ver",
            "sections": [
                {
                    "title": "Opciones",
                    "rows": [
                        {"id": "plan_2x", "title": "2 pagos", "description": "$210 el 1 de julio"},
                        {"id": "plan_4x", "title": "4 pagos"},
                    ],
                }
            ],
        },
    }


def test_template_with_body_parameters(make_channel):
    channel, rec = make_channel()
    message = OutgoingMessage(
        to=TO,
        kind="template",
        template_name="payment_reminder_v1",
        template_language="es_MX",
        template_parameters=("Ana", "$4,800.00"),
    )
    channel.send(message)
    assert rec.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "template",
        "template": {
            "name": "payment_reminder_v1",
            "language": {"code": "es_MX"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ana"},
                        {"type": "text", "text": "$4,800.00"},
                    ],
                }
            ],
        },
    }


def test_a_user_id_recipient_goes_in_recipient(make_channel):
    channel, rec = make_channel()
    channel.send(OutgoingMessage(to="MX.13491208655302741918", body="hola"))
    body = rec.json()
    assert body["recipient"] == "MX.13491208655302741918" and "to" not in body


def test_mark_read_posts_status_read(make_channel):
    channel, rec = make_channel((200, {"success": True}))
    channel.mark_read(WAMID)
    assert rec.json() == {"messaging_product": "whatsapp", "status": "read", "message_id": WAMID}
    assert rec.requests[0].headers["authorization"] == "Bearer test-token-123"


@pytest.mark.parametrize(
    ("code", "retry", "retry_after"),
    [
        (131026, "undeliverable", None),
        (130429, "backoff", 6.0),
        (131056, "backoff", 6.0),
        (131047, "window", None),
        (190, "stop", None),
        (100, "fail", None),
    ],
)
def test_documented_error_bodies_are_classified(make_channel, code, retry, retry_after):
    status = 401 if code == 190 else 400
    channel, _ = make_channel((status, ERRORS[code]))
    with pytest.raises(ChannelError) as caught:
        channel.send(OutgoingMessage(to=TO, body="hola"))
    err = caught.value
    assert (err.code, err.retry, err.retry_after, err.http_status) == (
        code,
        retry,
        retry_after,
        status,
    )
    assert err.title == ERRORS[code]["error"]["message"]  # type: ignore[index]


def test_error_details_are_kept(make_channel):
    channel, _ = make_channel((400, ERRORS[131047]))
    with pytest.raises(ChannelError) as caught:
        channel.send(OutgoingMessage(to=TO, body="hola"))
    assert "24 hours" in caught.value.details


def test_server_error_is_retryable_then_success(make_channel):
    channel, rec = make_channel((500, {"error": {"message": "oops", "code": 1}}), (200, SUCCESS))
    with pytest.raises(ChannelError) as caught:
        channel.send(OutgoingMessage(to=TO, body="hola"))
    assert caught.value.retry == "retry"
    assert channel.send(OutgoingMessage(to=TO, body="hola")).wamid == WAMID
    assert len(rec.requests) == 2
    assert rec.json(0) == rec.json(1)


def test_non_json_5xx_and_transport_errors_are_retryable(cloud_settings):
    def html_502(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad gateway</html>")

    channel = CloudApiChannel(cloud_settings, transport=httpx.MockTransport(html_502))
    with pytest.raises(ChannelError) as caught:
        channel.send(OutgoingMessage(to=TO, body="hola"))
    assert (caught.value.code, caught.value.retry) == (None, "retry")

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    channel = CloudApiChannel(cloud_settings, transport=httpx.MockTransport(timeout))
    with pytest.raises(ChannelError) as caught:
        channel.send(OutgoingMessage(to=TO, body="hola"))
    assert caught.value.retry == "retry" and "ReadTimeout" in caught.value.title


def test_success_without_id_is_not_retried(make_channel):
    channel, _ = make_channel((200, {"messaging_product": "whatsapp"}))
    with pytest.raises(ChannelError) as caught:
        channel.send(OutgoingMessage(to=TO, body="hola"))
    assert caught.value.retry == "fail"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"kind": "buttons", "buttons": tuple(Button(f"b{i}", f"B{i}") for i in range(4))}, "4"),
        ({"kind": "buttons", "buttons": (Button("b", "x" * 21),)}, "21 characters"),
        ({"kind": "buttons", "buttons": (Button("i" * 257, "ok"),)}, "257 characters"),
        ({"kind": "buttons", "buttons": (Button("a", "Igual"), Button("b", "Igual"))}, "unique"),
        ({"kind": "list", "rows": tuple(ListRow(f"r{i}", f"R{i}") for i in range(11))}, "11"),
        ({"kind": "list", "rows": (ListRow("r", "t" * 25),)}, "25 characters"),
        ({"kind": "template", "template_name": "Bad Name"}, "template name"),
        ({"kind": "text", "body": "   "}, "empty"),
        ({"kind": "text", "body": "x" * 4097}, "4097"),
        ({"kind": "sms"}, "unknown message kind"),
        ({"to": "5215512345678"}, "E.164"),
    ],
)
def test_invalid_messages_raise_before_any_http(make_channel, kwargs, fragment):
    channel, rec = make_channel()
    fields = {"to": TO, "body": "¿Cuál prefiere?"} | kwargs
    with pytest.raises(ValueError, match=fragment):
        channel.send(OutgoingMessage(**fields))
    assert rec.requests == []


def test_three_buttons_of_twenty_characters_are_fine():
    buttons = tuple(Button(f"b{i}", f"{i}" * 20) for i in range(3))
    assert len(OutgoingMessage(to=TO, kind="buttons", body="x", buttons=buttons).buttons) == 3


def test_classify_by_http_status_when_no_code():
    assert classify(None, None) == "retry"
    assert classify(None, 503) == "retry"
    assert classify(None, 429) == "backoff"
    assert classify(None, 404) == "fail"
    assert classify(131000, 400) == "retry"
    assert classify(200, 403) == "stop"


def test_error_text_and_logs_never_carry_the_full_phone(make_channel, caplog):
    body = graph_error(131030, "(#131030) Recipient +5215512345678 not in allowed list", "x")
    channel, _ = make_channel((400, body))
    with pytest.raises(ChannelError) as caught:
        channel.send(OutgoingMessage(to=TO, body="mensaje secreto"))
    assert "5215512345678" not in caught.value.title
    assert caught.value.title.endswith("5678 not in allowed list")
    assert "5215512345678" not in caplog.text and "secreto" not in caplog.text
    assert "test-token-123" not in caplog.text
    assert mask_recipient(TO) == "**********5678"


def test_build_channel_picks_cloud_with_a_token(cloud_settings, tmp_path):
    channel = build_channel(cloud_settings)
    assert isinstance(channel, CloudApiChannel)
    assert channel.url == URL
    channel.close()
    assert isinstance(
        build_channel(Settings(data_dir=tmp_path, whatsapp_token=None)), SandboxChannel
    )


def test_cloud_needs_a_phone_number_id(tmp_path):
    with pytest.raises(ValueError, match="PHONE_NUMBER_ID"):
        CloudApiChannel(Settings(data_dir=tmp_path, whatsapp_token=SecretStr("t")))


def test_sandbox_sends_nothing_and_returns_a_sandbox_wamid():
    channel = SandboxChannel()
    first = channel.send(OutgoingMessage(to=TO, body="hola")).wamid
    second = channel.send(OutgoingMessage(to=TO, body="hola")).wamid
    assert first.startswith("wamid.sandbox.") and first != second
    channel.mark_read(first)
    channel.close()

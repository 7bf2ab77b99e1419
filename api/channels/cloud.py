"""The WhatsApp Cloud API channel: a thin httpx client for sending and mark-as-read.

Request bodies follow `shared/reference/whatsapp_api.md` §5 exactly; errors are parsed from
`error.code`, `error.message` and `error.error_data.details` and classified (§5.1).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from agent.config import Settings
from api.channels.base import (
    ChannelError,
    OutgoingMessage,
    SendResult,
    error_for,
    mask_recipient,
)

log = logging.getLogger("pacta.channels.cloud")

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class CloudApiChannel:
    """Sends through `POST {whatsapp_api_url}/{phone_number_id}/messages` with a Bearer token."""

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if settings.whatsapp_token is None or not settings.whatsapp_phone_number_id:
            raise ValueError(
                "the Cloud API channel needs PACTA_WHATSAPP_TOKEN and "
                "PACTA_WHATSAPP_PHONE_NUMBER_ID"
            )
        self.url = (
            f"{settings.whatsapp_api_url.rstrip('/')}/{settings.whatsapp_phone_number_id}/messages"
        )
        token = settings.whatsapp_token.get_secret_value()
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {token}"}, timeout=timeout, transport=transport
        )

    def send(self, message: OutgoingMessage) -> SendResult:
        data = self._post(request_body(message))
        try:
            wamid = str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            # Accepted (2xx) but unreadable: retrying could send it twice, so do not.
            raise ChannelError(None, "success response without messages[0].id", "fail") from None
        log.info("sent %s to %s: %s", message.kind, mask_recipient(message.to), wamid)
        return SendResult(wamid)

    def mark_read(self, wamid: str) -> None:
        self._post({"messaging_product": "whatsapp", "status": "read", "message_id": wamid})

    def close(self) -> None:
        self._client.close()

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post(self.url, json=body)
        except httpx.TransportError as e:  # timeouts, refused connections, broken streams
            raise error_for(None, f"transport error: {type(e).__name__}") from e
        data = _json(response)
        if response.is_success:
            return data
        raise parse_error(response.status_code, data)


def parse_error(http_status: int, data: dict[str, Any]) -> ChannelError:
    """A ChannelError from a Graph API error body (or from the status alone)."""
    error = data.get("error")
    error = error if isinstance(error, dict) else {}
    code = _int_or_none(error.get("code"))
    title = str(error.get("message") or f"HTTP {http_status}")
    error_data = error.get("error_data")
    details = str(error_data.get("details") or "") if isinstance(error_data, dict) else ""
    err = error_for(code, title, http_status, details)
    log.warning(
        "cloud api error http=%s code=%s subcode=%s retry=%s",
        http_status,
        code,
        error.get("error_subcode"),
        err.retry,
    )
    return err


def request_body(message: OutgoingMessage) -> dict[str, Any]:
    """The documented JSON body for a message (reference §5)."""
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    # A phone goes in "to"; a business-scoped user id in "recipient" (2026).
    body["to" if message.to.startswith("+") else "recipient"] = message.to
    kind = "template" if message.is_template else "text"
    if message.kind in ("buttons", "list"):
        kind = "interactive"
    body["type"] = kind
    body[kind] = _PARTS[message.kind](message)
    return body


def _text(m: OutgoingMessage) -> dict[str, Any]:
    return {"preview_url": False, "body": m.body}


def _buttons(m: OutgoingMessage) -> dict[str, Any]:
    return {
        "type": "button",
        "body": {"text": m.body},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in m.buttons
            ]
        },
    }


def _list(m: OutgoingMessage) -> dict[str, Any]:
    rows = [_row(r.id, r.title, r.description) for r in m.rows]
    return {
        "type": "list",
        "body": {"text": m.body},
        "action": {"button": m.list_button, "sections": [{"title": "Opciones", "rows": rows}]},
    }


def _row(row_id: str, title: str, description: str) -> dict[str, str]:
    row = {"id": row_id, "title": title}
    if description:
        row["description"] = description
    return row


def _template(m: OutgoingMessage) -> dict[str, Any]:
    template: dict[str, Any] = {"name": m.template_name, "language": {"code": m.template_language}}
    if m.template_parameters:
        parameters = [{"type": "text", "text": p} for p in m.template_parameters]
        template["components"] = [{"type": "body", "parameters": parameters}]
    return template


_PARTS = {"text": _text, "buttons": _buttons, "list": _list, "template": _template}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}

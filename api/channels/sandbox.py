"""The sandbox channel: nothing leaves the machine.

It validates the message like the real channel and hands back a made-up wamid. It keeps no
record of its own: the outbound Message rows are the sandbox's record of what was sent.
"""

from __future__ import annotations

import uuid

from api.channels.base import OutgoingMessage, SendResult


class SandboxChannel:
    def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult(f"wamid.sandbox.{uuid.uuid4().hex}")

    def mark_read(self, wamid: str) -> None:
        return None

    def close(self) -> None:
        return None

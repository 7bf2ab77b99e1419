"""WhatsApp channels: the Cloud API when a token is configured, else the offline sandbox."""

from __future__ import annotations

from agent.config import Settings
from api.channels.base import (
    Button,
    Channel,
    ChannelError,
    ListRow,
    OutgoingMessage,
    SendResult,
    classify,
    mask_recipient,
)
from api.channels.sandbox import SandboxChannel

__all__ = [
    "Button",
    "Channel",
    "ChannelError",
    "ListRow",
    "OutgoingMessage",
    "SandboxChannel",
    "SendResult",
    "build_channel",
    "classify",
    "mask_recipient",
]


def build_channel(settings: Settings) -> Channel:
    """The channel the settings select (`settings.channel`)."""
    if settings.channel == "cloud":
        from api.channels.cloud import CloudApiChannel  # httpx is only needed for the cloud

        return CloudApiChannel(settings)
    return SandboxChannel()

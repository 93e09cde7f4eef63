"""An aiosmtpd handler that keeps every message it receives, parsed with the modern policy."""

from __future__ import annotations

import email
import email.message
import email.policy
from typing import Any


class Mailbox:
    """Pass to `aiosmtpd.controller.Controller`; `messages` fills as mail arrives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message, accept it."""
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

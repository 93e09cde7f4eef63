"""One place that hides credentials in URLs and text before they reach a log, error or screen.

`redis://:s3cret@host/0` -> `redis://:***@host/0`; `?token=abc` -> `?token=***`. The log
processor applies `redact_text` to every string of every event, so a secret inside an
exception message from a library is covered too.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s:?#]*):(?P<pw>[^@\s/?#]+)@"
)
_SECRET_PARAM = re.compile(
    r"(?P<key>[?&;](?:password|passwd|pwd|pass|token|access_token|api_key|apikey|key|secret|"
    r"client_secret|auth|signature|sig)=)(?P<value>[^&#\s'\"]+)",
    re.IGNORECASE,
)
MASK = "***"


def redact_text(text: str) -> str:
    """`text` with the password of every URL in it, and secret-looking query values, masked."""
    if "://" not in text and "=" not in text:
        return text
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _SECRET_PARAM.sub(lambda m: f"{m['key']}{MASK}", text)


def redact_url(url: str) -> str:
    """A URL safe to show: no password, no secret query values."""
    return redact_text(url)


def redact_event(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: redact every string value (and strings inside lists)."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact_text(value)
        elif isinstance(value, list | tuple):
            event[key] = [redact_text(v) if isinstance(v, str) else v for v in value]
    return event

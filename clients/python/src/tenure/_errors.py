"""The exceptions of the tenure client."""

from __future__ import annotations

from typing import Any, Dict, Optional


class TenureError(Exception):
    """Base class of every error this package raises on purpose."""


class APIError(TenureError):
    """The agent answered with a status of 400 or more.

    ``status`` is the HTTP status, ``message`` the agent's "error" text and
    ``body`` the decoded JSON answer (``{"error": raw text}`` if it was not
    JSON).
    """

    def __init__(self, status: int, message: str, body: Optional[Dict[str, Any]] = None):
        super().__init__("agent answered %d: %s" % (status, message))
        self.status = status
        self.message = message
        self.body = body if body is not None else {"error": message}


class LeaseHeld(APIError):
    """An acquire could not have the lease (409): another tenure holds it,
    the round was contended, or ``wait`` ran out.

    ``holder`` is the voters' hint of the holder (R14: stale by the time it
    arrives), a dict with ``node``, ``token`` (an int), ``remaining_ms`` and
    ``value``, or None if the voters could not say.
    """

    def __init__(self, status: int, message: str, body: Optional[Dict[str, Any]] = None):
        super().__init__(status, message, body)
        holder = (body or {}).get("holder")
        self.holder = _hint(holder) if isinstance(holder, dict) else None


class Unavailable(APIError):
    """The agent cannot serve the call now (503): it is stopping, or too few
    voters answer. Retrying later may succeed; a lease you hold keeps its
    last deadline and nothing more."""


class LeaseLost(TenureError):
    """The tenure is over, or may be: stop acting under it.

    ``reason`` says why; ``status`` is the agent's HTTP status when an
    answer said so (403 wrong lease key, 409 unknown token, 410 ended), or
    None when the deadline passed on this process's clock.
    """

    def __init__(self, reason: str, status: Optional[int] = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def api_error(status: int, answer: Dict[str, Any], acquire: bool = False) -> APIError:
    """The exception for an answer with a status of 400 or more: LeaseHeld
    for a refused acquire (409), Unavailable for 503, APIError otherwise."""
    message = str(answer.get("error") or "status %d" % status)
    if acquire and status == 409:
        return LeaseHeld(status, message, answer)
    if status == 503:
        return Unavailable(status, message, answer)
    return APIError(status, message, answer)


def _hint(holder: Dict[str, Any]) -> Dict[str, Any]:
    """Returns a copy of a holder hint with its token as an int."""
    out = dict(holder)
    if "token" in out:
        out["token"] = parse_token(out["token"])
    return out


def parse_token(value: Any) -> int:
    """Reads a fencing token from an answer: a JSON string of the decimal
    uint64 (or, from older agents, a JSON number). Python's int keeps every
    one of its 64 bits."""
    if isinstance(value, bool):
        raise TenureError("token %r is not a decimal integer" % (value,))
    if isinstance(value, int):
        token = value
    elif isinstance(value, str) and value.isdigit() and value.isascii():
        token = int(value)
    else:
        raise TenureError("token %r is not a decimal integer" % (value,))
    if not 0 < token < 1 << 64:
        raise TenureError("token %d is not a positive 64-bit integer" % token)
    return token

"""Durations as the agent speaks them: Go duration strings ("5s", "250ms",
"1m30s"). The client takes a string, a number of seconds or a
datetime.timedelta, checks it before anything is sent, and sends a string."""

from __future__ import annotations

import datetime
import math
import re
from typing import Optional, Union

Duration = Union[str, int, float, datetime.timedelta]

_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# Longer unit names first, so that "ms" is not read as "m" then "s".
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse(text: str) -> float:
    """Returns the seconds a Go duration string stands for ("1m0s" -> 60.0).
    Raises ValueError for anything else, such as "5" or "five seconds"."""
    if not isinstance(text, str):
        raise TypeError("duration must be a string such as \"5s\", got %r" % (text,))
    body, sign = text, 1.0
    if body[:1] in ("+", "-"):
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise ValueError("%r is not a duration such as \"5s\" or \"250ms\"" % (text,))
    total, pos = 0.0, 0
    while pos < len(body):
        m = _PART.match(body, pos)
        if m is None:
            raise ValueError("%r is not a duration such as \"5s\" or \"250ms\"" % (text,))
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def to_wire(value: Optional[Duration], what: str, positive: bool) -> Optional[str]:
    """Checks a duration given by the caller and returns it as a Go duration
    string, or None for None. A number is seconds. positive says whether
    zero is refused (a TTL) or allowed (a wait)."""
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError("%s must be a duration string such as \"5s\", seconds or a timedelta, got %r" % (what, value))
    if isinstance(value, str):
        seconds, wire = parse(value), value
    else:
        seconds = float(value)
        if not math.isfinite(seconds):
            raise ValueError("%s %r is not a finite number of seconds" % (what, value))
        wire = _format(seconds)
    if seconds < 0 or (positive and seconds == 0):
        raise ValueError("%s %r must be %s" % (what, value, "positive" if positive else "zero or more"))
    return wire


def _format(seconds: float) -> str:
    """Formats seconds as a Go duration string in the coarsest exact unit."""
    ns = round(seconds * 1e9)
    if ns % 1_000_000 == 0:
        return "%dms" % (ns // 1_000_000)
    if ns % 1_000 == 0:
        return "%dus" % (ns // 1_000)
    return "%dns" % ns

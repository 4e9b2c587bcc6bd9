"""What the client and its leases share about the wire: paths and headers."""

from __future__ import annotations

import urllib.parse

#: The header that carries a tenure's lease key on keepalive and release.
LEASE_KEY_HEADER = "Tenure-Lease-Key"


def lease_path(name: str) -> str:
    """The API path of lease ``name`` (URL-encoded: "a#1" -> "a%231").
    Raises TypeError or ValueError for a name that is not a non-empty
    string, before anything is sent."""
    if not isinstance(name, str):
        raise TypeError("lease name must be a string, got %r" % (name,))
    if not name:
        raise ValueError("lease name is empty")
    return "/v1/leases/" + urllib.parse.quote(name, safe="")

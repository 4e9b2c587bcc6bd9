"""Fenced leases from a tenure agent, for Python programs.

A tenure agent (``tenure agent``) serves leases over HTTP. This package
follows the agent's three client rules for you:

- the deadline: read the clock just before sending each request; the
  deadline is that instant plus the answer's deadline_ms, the latest over
  all answers (time.monotonic(), so wall-clock steps do not matter);
- the lease key: keepalive and release send the acquire answer's
  lease_key in the Tenure-Lease-Key header;
- tokens are decimal strings on the wire and ints here, exact above 2**53.

    import tenure

    client = tenure.Client("http://127.0.0.1:7947")
    with client.lease("nightly-report", ttl="10s") as lease:
        for part in parts:
            lease.check()                 # raises LeaseLost once it is over
            write(part, fence=lease.token)

Standard library only.
"""

from ._client import Client
from ._errors import APIError, LeaseHeld, LeaseLost, TenureError, Unavailable
from ._lease import Lease
from ._wire import LEASE_KEY_HEADER

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "Client",
    "LEASE_KEY_HEADER",
    "Lease",
    "LeaseHeld",
    "LeaseLost",
    "TenureError",
    "Unavailable",
    "__version__",
]

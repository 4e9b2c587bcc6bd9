"""Client: the calls to one agent's HTTP API."""

from __future__ import annotations

import contextlib
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from . import _duration
from ._errors import LeaseLost, TenureError, _hint, api_error
from ._lease import Lease
from ._wire import LEASE_KEY_HEADER, lease_path


class Client:
    """Calls one tenure agent (``tenure agent``) over HTTP.

    ``agent_url`` is the agent's base URL, such as "http://127.0.0.1:7947"
    (https works too; ``ca_file`` names the CA bundle that signed its
    certificate). ``token`` is the bearer token the agent was started with
    (``--http-token-file``), if any. ``timeout`` bounds each call in
    seconds, on top of an acquire's ``wait``. A Client is safe to share
    between threads.
    """

    def __init__(self, agent_url: str = "http://127.0.0.1:7947", token: Optional[str] = None, *,
                 timeout: float = 10.0, ca_file: Optional[str] = None):
        parts = urllib.parse.urlsplit(agent_url) if isinstance(agent_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("agent_url %r is not an http:// or https:// URL" % (agent_url,))
        if token is not None and (not isinstance(token, str) or not token or "\n" in token):
            raise ValueError("token must be a non-empty one-line string")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError("timeout %r must be a positive number of seconds" % (timeout,))
        self.agent_url = agent_url.rstrip("/")
        self.timeout = float(timeout)
        self._bearer = token
        self._ssl = ssl.create_default_context(cafile=ca_file) if ca_file else None

    def __repr__(self) -> str:
        return "Client(%r%s)" % (self.agent_url, ", token=..." if self._bearer else "")

    def acquire(self, name: str, ttl: Optional[_duration.Duration] = None,
                wait: Optional[_duration.Duration] = None, *, value: Optional[str] = None,
                slots: Optional[int] = None) -> Lease:
        """Takes the lease ``name`` in keepalive mode and returns the Lease.

        ``ttl`` (default: the agent's) and ``wait`` (default: try once) are
        Go duration strings such as "5s", seconds, or timedeltas. ``value``
        is stored with the lease for holder queries. ``slots`` makes the
        lease a semaphore: any free one of ``slots`` slots, whose name
        ("NAME#i") becomes the Lease's name.

        The Lease's deadline is the instant this call sent its request plus
        the answer's deadline_ms (R16). If less than half the TTL is left
        when the answer arrives (a slow answer after a long wait), it sends
        one keepalive before returning.

        Raises LeaseHeld (409: held by another, contended, or ``wait`` ran
        out), Unavailable (503), APIError (other refusals, such as 400 for a
        TTL the agent refuses or 401 for a missing bearer token), LeaseLost
        (granted, but no time left to act), OSError (agent unreachable), and
        ValueError or TypeError for bad arguments, before sending anything.
        """
        path = lease_path(name)
        body: Dict[str, Any] = {}
        ttl_wire = _duration.to_wire(ttl, "ttl", positive=True)
        wait_wire = _duration.to_wire(wait, "wait", positive=False)
        if ttl_wire is not None:
            body["ttl"] = ttl_wire
        if wait_wire is not None:
            body["wait"] = wait_wire
        if value is not None:
            if not isinstance(value, str):
                raise TypeError("value must be a string, got %r" % (value,))
            body["value"] = value
        if slots is not None:
            if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
                raise ValueError("slots %r must be a positive integer" % (slots,))
            body["slots"] = slots
        waited = _duration.parse(wait_wire) if wait_wire else 0.0
        sent = time.monotonic()  # R16: the deadline counts from the send
        status, answer = self._request("POST", path, body, timeout=self.timeout + waited)
        if status != 200:
            raise api_error(status, answer, acquire=True)
        lease = Lease(self, answer, sent)
        if lease.remaining() < lease.ttl / 2:
            # A slow answer: renew once, so that work starts with a fresh
            # deadline. A failed try keeps the deadline it has.
            try:
                lease.keepalive()
            except (TenureError, OSError):
                pass
        if not lease.ok():
            lease.release()
            raise LeaseLost("granted with no time left to act: %s" % (lease.lost_reason or "deadline passed"))
        return lease

    @contextlib.contextmanager
    def lease(self, name: str, ttl: Optional[_duration.Duration] = None,
              wait: Optional[_duration.Duration] = None, *, value: Optional[str] = None,
              slots: Optional[int] = None, interval: Optional[float] = None,
              on_lost: Optional[Callable[[LeaseLost], None]] = None) -> Iterator[Lease]:
        """Acquires ``name`` (as acquire), keeps it alive in a background
        thread every ``interval`` seconds (default a third of the TTL),
        yields the Lease, and releases it on exit.

        Python cannot stop the block from outside: check ``lease.ok()`` (or
        call ``lease.check()``) before each action, or pass ``on_lost`` to
        be called once, from the keepalive thread, when the lease is lost.
        If the lease was lost while the block ran and the block raised
        nothing, leaving the block raises LeaseLost, so that a loss is
        never silent.
        """
        lease = self.acquire(name, ttl, wait, value=value, slots=slots)
        try:
            lease.start_keepalive(interval=interval, on_lost=on_lost)
            yield lease
            lost = not lease.ok()
        finally:
            lease.release()
        if lost:
            raise LeaseLost("lease %r token %d was lost while the block ran: %s"
                            % (lease.name, lease.token, lease.lost_reason), lease.lost_status)

    def holder(self, name: str) -> Optional[Dict[str, Any]]:
        """Asks who holds ``name``: the voters' hint (R14), a dict with
        ``node``, ``token`` (an int), ``remaining_ms`` and ``value``, or
        None if a majority of voters know of no live tenure."""
        status, answer = self._request("GET", lease_path(name))
        if status == 404:
            return None
        if status != 200:
            raise api_error(status, answer)
        return _hint(answer)

    def leases(self) -> List[Dict[str, Any]]:
        """Lists the tenures held through this agent (tokens as ints; never
        a lease key)."""
        status, answer = self._request("GET", "/v1/leases")
        if status != 200:
            raise api_error(status, answer)
        return [_hint(g) for g in answer.get("leases") or []]

    def _request(self, method: str, path: str, body: Optional[Dict[str, Any]] = None,
                 key: Optional[str] = None, timeout: Optional[float] = None) -> Tuple[int, Dict[str, Any]]:
        """Sends one call and returns its status and decoded JSON answer.
        Transport failures raise OSError (urllib.error.URLError is one)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.agent_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self._bearer:
            req.add_header("Authorization", "Bearer " + self._bearer)
        if key:
            req.add_header(LEASE_KEY_HEADER, key)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout, context=self._ssl) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as e:
            try:
                return e.code, _decode(e.read())
            finally:
                e.close()


def _decode(raw: bytes) -> Dict[str, Any]:
    if not raw:
        return {}
    try:
        out = json.loads(raw)
    except ValueError:
        return {"error": raw.decode(errors="replace").strip()}
    return out if isinstance(out, dict) else {"error": repr(out)}

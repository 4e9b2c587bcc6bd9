"""Lease: one tenure held through an agent, its deadline and its keepalives."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

from . import _duration
from ._errors import APIError, LeaseLost, TenureError, api_error, parse_token
from ._wire import lease_path

if TYPE_CHECKING:
    from ._client import Client

_log = logging.getLogger("tenure")

#: The shortest pause of the keepalive thread between two tries.
_MIN_PAUSE = 0.05


class Lease:
    """One tenure, taken by Client.acquire in keepalive mode.

    ``name`` is the lease name (a semaphore's slot name), ``token`` the
    fencing token as an int (it exceeds 2**53; it travels as a decimal
    string), ``ttl`` the TTL in seconds and ``deadline`` the
    time.monotonic() instant by which this process must stop acting under
    the tenure: the send time of a request plus its answer's deadline_ms,
    the latest over all answers (R16). Pass ``token`` to every resource you
    write, so that it can refuse a stale holder.

    The lease is *lost* when the agent says the tenure is over (410), that
    it does not know this token (409) or that the lease key is wrong (403),
    or when the deadline passes; ``lost_reason`` and ``lost_status`` say
    which. It is *released* after release(). Either way ``ok()`` turns
    False for good. All methods are safe to call from several threads.
    """

    def __init__(self, client: "Client", answer: Dict[str, Any], sent: float):
        self._client = client
        self.name: str = answer["name"]
        self.token: int = parse_token(answer["token"])
        self.ttl: float = _duration.parse(answer["ttl"])
        self._key: str = answer["lease_key"]
        self._path = lease_path(self.name)
        self._lock = threading.Lock()
        self._deadline = float("-inf")
        self._lost: Optional[LeaseLost] = None
        self._released = False
        self._ended = threading.Event()
        self._on_lost: Optional[Callable[[LeaseLost], None]] = None
        self._stop: Optional[threading.Event] = None
        self._thread: Optional[threading.Thread] = None
        #: The last failed keepalive (an OSError or APIError), if any.
        self.last_error: Optional[BaseException] = None
        self._extend(sent, answer)

    def __repr__(self) -> str:  # never shows the lease key
        state = "lost" if self.lost else "released" if self.released else "%.3fs left" % self.remaining()
        return "<tenure.Lease %r token=%d %s>" % (self.name, self.token, state)

    @property
    def lease_key(self) -> str:
        """The tenure's secret, sent with every keepalive and release."""
        return self._key

    @property
    def deadline(self) -> float:
        """The time.monotonic() instant by which to stop acting."""
        with self._lock:
            return self._deadline

    @property
    def lost(self) -> bool:
        """Whether the tenure was lost (not released by this process)."""
        self.remaining()
        return self._lost is not None

    @property
    def lost_reason(self) -> Optional[str]:
        """Why the tenure was lost, or None."""
        return self._lost.reason if self._lost else None

    @property
    def lost_status(self) -> Optional[int]:
        """The agent's status that ended the tenure (403, 409 or 410), or
        None (not lost, or lost because the deadline passed)."""
        return self._lost.status if self._lost else None

    @property
    def released(self) -> bool:
        """Whether release() was called."""
        return self._released

    def remaining(self) -> float:
        """Seconds left to act under the tenure; 0.0 once it is lost or
        released (a deadline that passes is noticed here)."""
        with self._lock:
            if self._lost or self._released:
                return 0.0
            left = self._deadline - time.monotonic()
        if left > 0:
            return left
        self._lose(LeaseLost("deadline passed: no renewal arrived in time"))
        return 0.0

    def ok(self) -> bool:
        """Whether this process may still act under the tenure. Check it
        right before each action."""
        return self.remaining() > 0

    def check(self) -> None:
        """Raises LeaseLost unless ok()."""
        if not self.ok():
            if self._released and not self._lost:
                raise LeaseLost("lease was released")
            raise self._lost or LeaseLost("deadline passed")

    def keepalive(self) -> bool:
        """Asks the agent to keep renewing the tenure and extends the
        deadline. Returns True if it did; False if the call failed in a way
        that leaves the tenure as it was (agent unreachable, 503 because it
        is stopping, another 5xx): keep the old deadline and try again
        soon. Raises LeaseLost when the tenure is over, and APIError for
        other refusals (400, 401)."""
        self.check()
        sent = time.monotonic()  # R16: the deadline counts from the send
        try:
            status, answer = self._client._request(
                "POST", self._path + "/keepalive", {"token": str(self.token)},
                key=self._key, timeout=min(self._client.timeout, max(self.remaining(), 0.001)))
        except OSError as e:
            self.last_error = e
            self.check()
            return False
        if status == 200:
            self._extend(sent, answer)
            self.check()
            return True
        if status in (403, 409, 410):
            message = str(answer.get("error") or "status %d" % status)
            lost = LeaseLost("agent answered %d: %s" % (status, message), status)
            self._lose(lost)
            raise self._lost or lost
        self.last_error = api_error(status, answer)
        self.check()
        if status >= 500:
            return False
        raise self.last_error

    def release(self) -> bool:
        """Gives the tenure back: the agent ends it and tells the voters at
        once, so a waiter need not wait out the TTL. Stops acting first:
        ok() is False from here on. Returns True if the agent released it;
        False if it was already released, over, or the call failed (then
        the tenure expires on its own, which is safe)."""
        self.stop_keepalive()
        with self._lock:
            if self._released:
                return False
            self._released = True
        self._ended.set()
        try:
            status, _ = self._client._request("DELETE", self._path + "?token=%d" % self.token, key=self._key)
        except OSError as e:
            self.last_error = e
            return False
        return status == 204

    def start_keepalive(self, interval: Optional[float] = None,
                        on_lost: Optional[Callable[[LeaseLost], None]] = None) -> None:
        """Keeps the tenure alive from a background (daemon) thread every
        ``interval`` seconds (default a third of the TTL; sooner after a
        failed call) until it is lost or released, or stop_keepalive().
        ``on_lost`` is called once, from that thread or whichever notices
        first, with the LeaseLost, when the tenure is lost."""
        if interval is None:
            interval = self.ttl / 3
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0 < interval < self.ttl:
            raise ValueError("interval %r must be a number of seconds in (0, ttl=%g)" % (interval, self.ttl))
        with self._lock:
            if self._thread is not None:
                raise TenureError("the keepalive thread is already running")
            self._on_lost = on_lost
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(float(interval), self._stop),
                                            name="tenure-keepalive-%s" % self.name, daemon=True)
            thread = self._thread
        thread.start()

    def stop_keepalive(self) -> None:
        """Stops the keepalive thread, if one runs, and waits for it."""
        with self._lock:
            thread, stop = self._thread, self._stop
            self._thread = self._stop = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def wait_lost(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the lease is lost or released, or ``timeout``
        seconds pass. Returns True if it is lost. Notices the deadline by
        itself, with or without the keepalive thread."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = self.remaining()
            if left <= 0:
                return self.lost
            pause = left if end is None else min(left, end - time.monotonic())
            if pause <= 0:
                return False
            if self._ended.wait(pause):
                return self.lost

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def _extend(self, sent: float, answer: Dict[str, Any]) -> None:
        """Applies an answer: deadline = max(deadline, sent + deadline_ms)."""
        token = parse_token(answer.get("token"))
        if token != self.token:
            raise TenureError("agent answered for token %d, not %d" % (token, self.token))
        ms = answer.get("deadline_ms")
        if isinstance(ms, bool) or not isinstance(ms, int):
            raise TenureError("agent answered without an integer deadline_ms: %r" % (ms,))
        with self._lock:
            if self._lost is None and not self._released:
                self._deadline = max(self._deadline, sent + ms / 1000.0)

    def _lose(self, lost: LeaseLost) -> None:
        """Marks the tenure lost (once) and tells on_lost."""
        with self._lock:
            if self._lost is not None or self._released:
                return
            self._lost = lost
            callback = self._on_lost
        self._ended.set()
        if callback is not None:
            try:
                callback(lost)
            except Exception:  # a callback's bug must not stop the keepalives' owner
                _log.exception("tenure: on_lost callback for %r failed", self.name)

    def _run(self, interval: float, stop: threading.Event) -> None:
        """The keepalive thread: a keepalive every interval, sooner after a
        failure, waking at the deadline to notice it."""
        next_at = time.monotonic() + interval  # the grant counts as the first
        while True:
            left = self.remaining()
            if left <= 0 or stop.wait(max(0.0, min(next_at - time.monotonic(), left))):
                return
            if time.monotonic() < next_at:
                continue  # woke at the deadline: remaining() decides
            try:
                renewed = self.keepalive()
            except LeaseLost:
                return
            except APIError:
                renewed = False
            except Exception as e:  # a bad answer: keep the deadline, try again
                self.last_error = e
                renewed = False
            next_at = time.monotonic() + (interval if renewed else max(_MIN_PAUSE, min(interval, self.remaining() / 4)))

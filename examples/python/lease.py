#!/usr/bin/env python3
"""Take a tenure lease through a local agent's HTTP API, keep it alive while
working, and release it. Standard library only.

    python3 lease.py --agent http://127.0.0.1:7947 --ttl 5s --hold-for 12 my-job

What a client of the agent must do:

- Deadline: read your clock just before you SEND each request (acquire or
  keepalive); your deadline is that instant plus the answer's deadline_ms,
  the latest over all answers. The agent counts deadline_ms from when it
  received the request and scales it for clock drift, so your deadline ends
  before the agent's in real time even on another host. If the agent stops
  answering (or says it is stopping), stop working at that deadline: you no
  longer hold the lease.
- Lease key: the acquire answer's lease_key is your proof of holding this
  tenure. Send it with every keepalive and release (header
  Tenure-Lease-Key); the token alone is public and proves nothing.
- Tokens are strings ("7714385923475603457"): they exceed 2**53, where JSON
  numbers lose precision. Pass the token to every resource you write, so
  that it can refuse a stale holder.

Exit status: 0 done, 3 lease lost, 4 lease held by another, 1 other error.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class LeaseLost(Exception):
    """The tenure is over: stop acting under it."""


class LeaseHeld(Exception):
    """Another holder has the lease; holder is the agent's hint, or None."""

    def __init__(self, message, holder):
        super().__init__(message)
        self.holder = holder


class Lease:
    """One tenure taken through an agent (keepalive mode).

    Use as a context manager: the lease is released on exit. Call
    keepalive() at least every ttl/3 seconds and check remaining() before
    each action.
    """

    def __init__(self, agent, name, ttl="5s", wait="0s", value="", token=None, timeout=10.0):
        self.agent = agent.rstrip("/")
        self.name = name
        self.path = "/v1/leases/" + urllib.parse.quote(name, safe="")
        self.bearer = token
        self.timeout = timeout
        self.deadline = 0.0  # time.monotonic() instant: stop acting by then
        body = {"ttl": ttl, "wait": wait}
        if value:
            body["value"] = value
        sent = time.monotonic()
        status, answer = self._call("POST", self.path, body, timeout + _seconds(wait))
        if status == 409:
            raise LeaseHeld(answer.get("error", "held"), answer.get("holder"))
        if status != 200:
            raise RuntimeError("acquire: %d %s" % (status, answer.get("error")))
        # The token is a decimal string: it exceeds 2**53, where numbers in
        # many JSON libraries (JavaScript's) lose precision.
        self.token = str(answer["token"])
        self.key = answer["lease_key"]
        self.ttl = _seconds(answer["ttl"])
        self._extend(sent, answer)
        if self.remaining() < self.ttl / 2:
            # The answer was slow to come (a long wait, a slow network):
            # renew once, so that work starts with a fresh deadline, as
            # `tenure lock` does.
            self.keepalive()

    def _call(self, method, path, body=None, timeout=None, key=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.agent + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.bearer:
            req.add_header("Authorization", "Bearer " + self.bearer)
        if key:
            req.add_header("Tenure-Lease-Key", key)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else {})
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"error": raw.decode(errors="replace")}

    def _extend(self, sent, answer):
        # Conservative: the agent counted deadline_ms from when it received
        # the request, after we sent it, and scaled it for clock drift.
        self.deadline = max(self.deadline, sent + answer["deadline_ms"] / 1000.0)

    def remaining(self):
        """Seconds left before this holder must stop acting; <= 0 means lost."""
        return self.deadline - time.monotonic()

    def keepalive(self):
        """Ask the agent to keep renewing. Raises LeaseLost when the tenure
        is over; a failed call that leaves time before the deadline is
        harmless (try again soon)."""
        if self.remaining() <= 0:
            raise LeaseLost("deadline passed")
        sent = time.monotonic()
        try:
            status, answer = self._call("POST", self.path + "/keepalive", {"token": self.token},
                                        timeout=max(self.remaining(), 0.01), key=self.key)
        except OSError as e:  # agent unreachable: keep the old deadline
            if self.remaining() <= 0:
                raise LeaseLost("agent unreachable until the deadline: %s" % e)
            return False
        if status in (403, 409, 410):
            self.deadline = 0.0
            raise LeaseLost(answer.get("error", "tenure over"))
        if status == 200:
            self._extend(sent, answer)
            return True
        # 503 (the agent is stopping) and the like: keep the old deadline.
        if self.remaining() <= 0:
            raise LeaseLost("no renewal before the deadline: %s" % answer.get("error"))
        return False

    def release(self):
        """Give the lease back (best effort: otherwise it expires)."""
        self.deadline = 0.0
        try:
            status, _ = self._call("DELETE", self.path + "?token=" + self.token, key=self.key)
            return status == 204
        except OSError:
            return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False


def _seconds(duration):
    """Parse the Go durations the API uses ("1.5s", "250ms", "1m0s")."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    total, num, i = 0.0, "", 0
    while i < len(duration):
        c = duration[i]
        if c.isdigit() or c == ".":
            num += c
            i += 1
            continue
        unit = c
        i += 1
        while i < len(duration) and not (duration[i].isdigit() or duration[i] == "."):
            unit += duration[i]
            i += 1
        total += float(num) * units[unit]
        num = ""
    return total


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("name", help="lease name")
    p.add_argument("--agent", default="http://127.0.0.1:7947", help="agent URL")
    p.add_argument("--token-file", help="file holding the agent's bearer token")
    p.add_argument("--ttl", default="5s", help="lease TTL, a Go duration")
    p.add_argument("--wait", default="0s", help="how long to wait if another holds it")
    p.add_argument("--hold-for", type=float, default=10.0, help="seconds of pretend work")
    args = p.parse_args()
    bearer = open(args.token_file).read().strip() if args.token_file else None

    try:
        lease = Lease(args.agent, args.name, ttl=args.ttl, wait=args.wait, token=bearer)
    except LeaseHeld as e:
        h = e.holder or {}
        print("held by %s (token %s, a hint)" % (h.get("node", "?"), h.get("token", "?")), file=sys.stderr)
        return 4
    except LeaseLost as e:
        print("LOST lease %s before starting: %s" % (args.name, e), file=sys.stderr)
        return 3
    except (OSError, RuntimeError) as e:
        print("cannot acquire: %s" % e, file=sys.stderr)
        return 1

    print("acquired %s token %s (ttl %.3gs, %.3fs left)" % (lease.name, lease.token, lease.ttl, lease.remaining()), flush=True)
    with lease:
        end = time.monotonic() + args.hold_for
        try:
            while time.monotonic() < end:
                # Work in slices shorter than the time left, then keep alive.
                time.sleep(max(0.0, min(lease.ttl / 3, lease.remaining() / 3, end - time.monotonic())))
                lease.keepalive()
                print("working under token %s, %.3fs left" % (lease.token, lease.remaining()), flush=True)
        except LeaseLost as e:
            print("LOST lease %s: %s; stopped working" % (lease.name, e), file=sys.stderr)
            return 3
    print("released %s token %s" % (lease.name, lease.token), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

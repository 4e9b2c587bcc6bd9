"""What the tests know of the agents they run against, from the
environment that the Go test e2e/clients_test.go sets:

TENURE_AGENTS          comma-separated URLs of three agents of one cluster
TENURE_BEARER          their bearer token (--http-token-file)
TENURE_BIG_TOKENS      "1": the voters have no data dir, so tokens exceed 2**53
TENURE_STOPPABLE       URL of an agent the tests may stop (SIGTERM)
TENURE_STOPPABLE_PID   its process id
TENURE_INSTALLED       the directory the package was installed into

Without TENURE_AGENTS the tests that need an agent are skipped; the Go test
fails if any test is skipped.
"""

import json
import os
import socket
import unittest
import urllib.error
import urllib.request

import tenure

AGENTS = [u for u in os.environ.get("TENURE_AGENTS", "").split(",") if u]
BEARER = os.environ.get("TENURE_BEARER") or None
BIG_TOKENS = os.environ.get("TENURE_BIG_TOKENS") == "1"
STOPPABLE = os.environ.get("TENURE_STOPPABLE") or None
STOPPABLE_PID = int(os.environ.get("TENURE_STOPPABLE_PID") or 0)
INSTALLED = os.environ.get("TENURE_INSTALLED") or None

#: How long any one step may take: the tests assert outcomes, and a busy
#: machine only makes them slower.
GENEROUS = 30.0

#: The wait of an acquire that checks a release: a released lease is free
#: within it (the release's messages to the voters race the acquire, so not
#: at once), while a lease the test kept alive and did not release would
#: stay held for longer.
FREED_WITHIN = "1s"

needs_agents = unittest.skipUnless(len(AGENTS) >= 3, "TENURE_AGENTS does not name three agents: run `go test ./e2e -run Clients`")
needs_bearer = unittest.skipUnless(BEARER, "TENURE_BEARER is not set: the agents must demand a bearer token")


def client(i=0, **kw):
    """A Client of agent i of the cluster."""
    return tenure.Client(AGENTS[i], BEARER, **kw)


def lease_name(test):
    """A lease name of the test's own, the same in every run."""
    return "py-" + test.id().rsplit(".", 2)[-1] + "-%d" % os.getpid()


def raw(method, url, body=None, key=None, bearer=BEARER):
    """One API call made without the package: (status, decoded answer)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if bearer:
        req.add_header("Authorization", "Bearer " + bearer)
    if key:
        req.add_header("Tenure-Lease-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=GENEROUS) as resp:
            text = resp.read()
            return resp.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as e:
        text = e.read()
        e.close()
        return e.code, json.loads(text) if text else {}


def end_elsewhere(agent_url, lease):
    """Releases lease's tenure with a call of its own, as another process
    holding the key would: the Lease object is not told."""
    status, _ = raw("DELETE", "%s/v1/leases/%s?token=%d" % (agent_url, lease.name.replace("#", "%23"), lease.token),
                    key=lease.lease_key)
    return status


def dead_url():
    """The URL of a loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d" % port

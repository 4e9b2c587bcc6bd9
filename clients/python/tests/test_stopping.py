"""An agent that stops (SIGTERM) releases nothing and renews nothing: its
client keeps its last deadline and nothing more, whether the agent answers
503 (a call that reaches it while it stops) or no longer answers, and a
waiter elsewhere gets the lease only after that deadline (R15, R16)."""

import os
import signal
import time
import unittest

import tenure

from .agent import AGENTS, BEARER, GENEROUS, STOPPABLE, STOPPABLE_PID, client, lease_name, needs_agents, raw
from .faultyproxy import FaultyProxy


@needs_agents
class StoppingAnswerTest(unittest.TestCase):
    def test_503_keeps_the_last_deadline(self):
        with FaultyProxy(AGENTS[0]) as proxy:
            lease = tenure.Client(proxy.url, BEARER).acquire(lease_name(self), ttl="2s")
            proxy.stopping = True
            last = lease.deadline
            self.assertFalse(lease.keepalive())
            self.assertIsInstance(lease.last_error, tenure.Unavailable)
            self.assertEqual(lease.last_error.status, 503)
            self.assertEqual(lease.deadline, last)
            self.assertTrue(lease.ok(), "503 is not a loss: the last deadline stands")
            self.assertFalse(lease.release(), "a stopping agent releases nothing")
            self.assertEqual(proxy.requests[-1][0], "DELETE")
        # Clean up: the tenure is still the agent's (204), unless its
        # keepalive expiry came first (410).
        status, _ = raw("DELETE", "%s/v1/leases/%s?token=%d" % (AGENTS[0], lease.name, lease.token), key=lease.lease_key)
        self.assertIn(status, (204, 410))


@needs_agents
@unittest.skipUnless(STOPPABLE and STOPPABLE_PID, "TENURE_STOPPABLE is not set: run `go test ./e2e -run Clients`")
class StoppingTest(unittest.TestCase):
    def test_stopping_agent_leaves_the_last_deadline(self):
        name = lease_name(self)
        lease = tenure.Client(STOPPABLE, BEARER, timeout=2.0).acquire(name, ttl="2s")
        os.kill(STOPPABLE_PID, signal.SIGTERM)
        # Keepalives go on until the agent no longer renews: 503 while it
        # stops, then no answer. Neither ends the lease here.
        give_up = time.monotonic() + GENEROUS
        while lease.keepalive():
            self.assertLess(time.monotonic(), give_up, "the agent kept renewing after SIGTERM")
        last = lease.deadline
        self.assertFalse(lease.lost, "a stopping agent is not a lost lease: keep the last deadline")
        self.assertIsNotNone(lease.last_error)

        # A waiter through another agent gets the lease, but only once this
        # client's deadline has passed: the voters let it expire.
        waiter = client(0).acquire(name, ttl="2s", wait="30s")
        arrived = time.monotonic()
        try:
            self.assertGreater(waiter.token, lease.token)
            self.assertGreaterEqual(arrived, last, "granted elsewhere before this client's deadline")
            self.assertTrue(lease.wait_lost(GENEROUS))
            self.assertIsNone(lease.lost_status)
            self.assertEqual(lease.deadline, last)
        finally:
            waiter.release()


if __name__ == "__main__":
    unittest.main()

"""Losing a lease: each answer that ends a tenure, and a deadline that
passes with the agent out of reach."""

import time
import unittest

import tenure

from .agent import AGENTS, GENEROUS, client, dead_url, end_elsewhere, lease_name, needs_agents, raw


@needs_agents
class LossTest(unittest.TestCase):
    def test_ended_elsewhere_is_410(self):
        lease = client(0).acquire(lease_name(self), ttl="2s")
        self.assertEqual(end_elsewhere(AGENTS[0], lease), 204)
        self.assertTrue(lease.ok(), "nothing told this Lease yet")
        with self.assertRaises(tenure.LeaseLost) as cm:
            lease.keepalive()
        self.assertEqual(cm.exception.status, 410)
        self.assertTrue(lease.lost)
        self.assertEqual(lease.lost_status, 410)
        self.assertFalse(lease.ok())
        with self.assertRaises(tenure.LeaseLost):
            lease.check()
        self.assertFalse(lease.release(), "the tenure was already over")

    def test_wrong_key_is_403_and_changes_nothing(self):
        lease = client(0).acquire(lease_name(self), ttl="2s")
        key = lease.lease_key
        lease._key = "0" * 32
        with self.assertRaises(tenure.LeaseLost) as cm:
            lease.keepalive()
        self.assertEqual(cm.exception.status, 403)
        self.assertFalse(lease.ok())
        # The agent still keeps the tenure for the one who has the key.
        status, _ = raw("POST", "%s/v1/leases/%s/keepalive" % (AGENTS[0], lease.name),
                        {"token": str(lease.token)}, key=key)
        self.assertEqual(status, 200)
        lease._key = key
        self.assertEqual(end_elsewhere(AGENTS[0], lease), 204)

    def test_unknown_token_is_409(self):
        lease = client(0).acquire(lease_name(self), ttl="2s")
        real = lease.token
        lease.token = real + 1
        with self.assertRaises(tenure.LeaseLost) as cm:
            lease.keepalive()
        self.assertEqual(cm.exception.status, 409)
        self.assertEqual(lease.lost_status, 409)
        lease.token = real
        self.assertEqual(end_elsewhere(AGENTS[0], lease), 204)

    def test_deadline_passes_with_the_agent_out_of_reach(self):
        lease = client(0).acquire(lease_name(self), ttl="1s")
        home = lease._client
        lease._client = tenure.Client(dead_url(), timeout=1.0)
        calls = []
        lease.start_keepalive(interval=0.1, on_lost=calls.append)
        try:
            self.assertTrue(lease.wait_lost(GENEROUS))
            noticed = time.monotonic()
            self.assertGreaterEqual(noticed, lease.deadline, "lost before the deadline")
            self.assertIsNone(lease.lost_status)
            self.assertIn("deadline", lease.lost_reason)
            self.assertIsInstance(lease.last_error, OSError)
            self.assertEqual(len(calls), 1)
            self.assertIsInstance(calls[0], tenure.LeaseLost)
        finally:
            lease.stop_keepalive()
            lease._client = home
            lease.release()

    def test_deadline_passes_without_keepalives(self):
        lease = client(0).acquire(lease_name(self), ttl="1s")
        try:
            self.assertTrue(lease.wait_lost(GENEROUS))
            self.assertGreaterEqual(time.monotonic(), lease.deadline)
            self.assertFalse(lease.ok())
            with self.assertRaises(tenure.LeaseLost) as cm:
                lease.keepalive()  # refused on this side: the deadline passed
            self.assertIsNone(cm.exception.status)
        finally:
            lease.release()


if __name__ == "__main__":
    unittest.main()

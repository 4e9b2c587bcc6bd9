"""Running work under a lease: Client.lease, the context manager that keeps
the lease alive from a background thread and releases it on exit."""

import time
import unittest

import tenure

from .agent import AGENTS, FREED_WITHIN, GENEROUS, client, end_elsewhere, lease_name, needs_agents


@needs_agents
class ContextTest(unittest.TestCase):
    def test_kept_alive_past_the_ttl_then_released(self):
        name = lease_name(self)
        with client(0).lease(name, ttl="2s") as lease:
            first = lease.deadline
            steps = 0
            # Work on until well past the deadline of the grant.
            while time.monotonic() < first + 0.5:
                lease.check()  # before each action
                steps += 1
                time.sleep(0.05)  # pretend work, paced
            self.assertGreater(lease.deadline, time.monotonic(), "the background keepalives moved the deadline on")
            self.assertGreater(steps, 10)
        self.assertTrue(lease.released)
        self.assertFalse(lease.lost)
        # Released on exit: free soon through another agent.
        with client(1).acquire(name, ttl="1s", wait=FREED_WITHIN) as again:
            self.assertGreater(again.token, lease.token)

    def test_loss_in_the_block_is_not_silent(self):
        name = lease_name(self)
        told = []
        with self.assertRaises(tenure.LeaseLost) as cm:
            with client(0).lease(name, ttl="1s", on_lost=told.append) as lease:
                self.assertEqual(end_elsewhere(AGENTS[0], lease), 204)
                # The next background keepalive hears 410.
                self.assertTrue(lease.wait_lost(GENEROUS))
                self.assertFalse(lease.ok())
        self.assertEqual(cm.exception.status, 410)
        self.assertEqual(len(told), 1)
        self.assertEqual(told[0].status, 410)

    def test_error_in_the_block_releases(self):
        name = lease_name(self)
        with self.assertRaises(KeyError):
            with client(0).lease(name, ttl="2s") as lease:
                raise KeyError("work failed")
        self.assertTrue(lease.released)
        with client(2).acquire(name, ttl="1s", wait=FREED_WITHIN) as again:
            self.assertGreater(again.token, lease.token)

    def test_keepalive_interval_is_checked(self):
        with client(0).acquire(lease_name(self), ttl="1s") as lease:
            for bad in (0, -1, 1.0, 5, True, "1s"):
                with self.assertRaises(ValueError, msg=repr(bad)):
                    lease.start_keepalive(interval=bad)
            lease.start_keepalive(interval=0.2)
            with self.assertRaises(tenure.TenureError):
                lease.start_keepalive(interval=0.2)
            self.assertTrue(lease.ok())


if __name__ == "__main__":
    unittest.main()

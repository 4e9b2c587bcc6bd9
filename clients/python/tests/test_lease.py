"""Acquire, keepalive and release against a real cluster of agents."""

import threading
import time
import unittest

import tenure

from .agent import AGENTS, BEARER, BIG_TOKENS, FREED_WITHIN, GENEROUS, client, lease_name, needs_agents, raw
from .faultyproxy import FaultyProxy


@needs_agents
class LeaseTest(unittest.TestCase):
    def test_acquire_keepalive_release(self):
        name = lease_name(self)
        c = client(0)
        lease = c.acquire(name, ttl="2s")
        got = time.monotonic()
        self.assertIsInstance(lease.token, int)
        if BIG_TOKENS:
            self.assertGreater(lease.token, 2**53, "voters without a data dir hand out tokens above 2**53")
        self.assertEqual(lease.name, name)
        self.assertEqual(lease.ttl, 2.0)
        # The conservative rule: the deadline counts from the send. The
        # agent's own deadline is at most a TTL after the grant, so ours
        # ends within a TTL of the answer's arrival (added to the arrival,
        # deadline_ms could reach past it: it counts any wait too).
        self.assertTrue(lease.ok())
        self.assertLessEqual(lease.deadline, got + 2.0)
        self.assertGreater(lease.deadline, got)
        self.assertNotIn(lease.lease_key, repr(lease))

        # The agent's listing shows the very same token, as a string: no
        # digit was lost on the way in.
        status, listing = raw("GET", AGENTS[0] + "/v1/leases")
        self.assertEqual(status, 200)
        mine = [g for g in listing["leases"] if g["name"] == name]
        self.assertEqual(len(mine), 1, listing)
        self.assertEqual(mine[0]["token"], str(lease.token))
        self.assertNotIn("lease_key", mine[0])
        # So does the voters' hint, asked through another agent.
        hint = client(1).holder(name)
        self.assertIsNotNone(hint)
        self.assertEqual(hint["token"], lease.token)
        self.assertEqual([g["token"] for g in c.leases() if g["name"] == name], [lease.token])

        # Keepalive sends the token as a string (a number above 2**53 would
        # be refused with 400) and the lease key, and moves the deadline on.
        bodies = []
        real = c._request

        def spy(method, path, body=None, key=None, timeout=None):
            bodies.append((path, body, key))
            return real(method, path, body, key, timeout)

        c._request = spy
        before = lease.deadline
        self.assertTrue(lease.keepalive())
        self.assertGreaterEqual(lease.deadline, before)
        self.assertEqual(bodies[-1][1], {"token": str(lease.token)})
        self.assertEqual(bodies[-1][2], lease.lease_key)
        self.assertTrue(lease.release())
        self.assertTrue(bodies[-1][0].endswith("?token=%d" % lease.token))
        self.assertEqual(bodies[-1][2], lease.lease_key)

        self.assertFalse(lease.ok())
        self.assertTrue(lease.released)
        self.assertFalse(lease.lost)
        self.assertEqual(lease.remaining(), 0.0)
        self.assertFalse(lease.release(), "a second release has nothing to release")
        with self.assertRaises(tenure.LeaseLost):
            lease.keepalive()

        # Released, the lease is soon free for anyone, with a higher token.
        with client(1).acquire(name, ttl="2s", wait=FREED_WITHIN) as again:
            self.assertGreater(again.token, lease.token)

    def test_held_by_another(self):
        name = lease_name(self)
        with client(0).acquire(name, ttl="2s", value="worker-7") as lease:
            with self.assertRaises(tenure.LeaseHeld) as cm:
                client(1).acquire(name, ttl="2s")
            self.assertEqual(cm.exception.status, 409)
            self.assertIsNotNone(cm.exception.holder, cm.exception.body)
            self.assertEqual(cm.exception.holder["token"], lease.token)
            self.assertEqual(cm.exception.holder["value"], "worker-7")
            self.assertTrue(lease.ok(), "a refused acquire elsewhere changes nothing")

    def test_wait_for_the_holder(self):
        name = lease_name(self)
        holder = client(0).acquire(name, ttl="2s")
        result = {}

        def wait():
            try:
                lease = client(2).acquire(name, ttl="1s", wait="30s")
                result["got"] = time.monotonic()
                result["left"] = lease.remaining()
                result["lease"] = lease
            except Exception as e:  # reported by the assertions below
                result["error"] = e

        waiter = threading.Thread(target=wait)
        waiter.start()
        # The holder works for longer than the waiter's TTL, then lets go.
        for _ in range(6):
            self.assertTrue(holder.keepalive())
            time.sleep(0.3)  # the holder's pacing, not a wait for a condition
        self.assertTrue(holder.release())
        waiter.join(GENEROUS)
        self.assertFalse(waiter.is_alive())
        self.assertNotIn("error", result, result.get("error"))
        lease = result["lease"]
        try:
            self.assertGreater(lease.token, holder.token)
            self.assertGreater(result["left"], 0)
            # deadline_ms counted the wait too (it counts from the agent's
            # receipt of the request): added to the send time, not to the
            # answer's arrival, it ends within a TTL of the grant.
            self.assertLessEqual(lease.deadline, result["got"] + lease.ttl)
        finally:
            lease.release()

    def test_slow_answer_renews_once(self):
        name = lease_name(self)
        # The control: a prompt answer leaves more than half the TTL, and
        # acquire sends nothing more.
        with FaultyProxy(AGENTS[0], delay=0) as proxy:
            with tenure.Client(proxy.url, BEARER).acquire(name + "-prompt", ttl="3s"):
                self.assertEqual(proxy.requests, [("POST", "/v1/leases/%s-prompt" % name)])
        # An answer held back for 2 of its 3 seconds arrives with less than
        # half the TTL left: acquire renews once before returning.
        with FaultyProxy(AGENTS[0], delay=2.0) as proxy:
            with tenure.Client(proxy.url, BEARER).acquire(name, ttl="3s") as lease:
                self.assertEqual(proxy.requests, [("POST", "/v1/leases/" + name),
                                                  ("POST", "/v1/leases/%s/keepalive" % name)])
                self.assertTrue(lease.ok())

    def test_semaphore_slots(self):
        name = lease_name(self)
        c = client(0)
        first = c.acquire(name, ttl="2s", slots=2)
        second = c.acquire(name, ttl="2s", slots=2)
        try:
            self.assertEqual({first.name, second.name}, {name + "#0", name + "#1"})
            self.assertNotEqual(first.token, second.token)
            with self.assertRaises(tenure.LeaseHeld):
                client(1).acquire(name, ttl="2s", slots=2)
            # The slot name travels URL-encoded ("#" is %23).
            self.assertTrue(first.keepalive())
            self.assertTrue(second.keepalive())
        finally:
            self.assertTrue(first.release())
            self.assertTrue(second.release())


if __name__ == "__main__":
    unittest.main()

"""Bad input gets a clear error before anything is sent, and what the
agent refuses comes back as the right exception."""

import datetime
import unittest

import tenure
from tenure import _duration
from tenure._errors import parse_token

from .agent import AGENTS, client, dead_url, lease_name, needs_agents, needs_bearer


class InputTest(unittest.TestCase):
    def test_bad_arguments_send_nothing(self):
        # The client points at a port nothing listens on: any call that
        # went out would raise OSError, not ValueError or TypeError.
        c = tenure.Client(dead_url())
        cases = [
            (ValueError, lambda: c.acquire("", ttl="1s")),
            (TypeError, lambda: c.acquire(7, ttl="1s")),
            (ValueError, lambda: c.acquire("job", ttl="five seconds")),
            (ValueError, lambda: c.acquire("job", ttl="5")),
            (ValueError, lambda: c.acquire("job", ttl=0)),
            (ValueError, lambda: c.acquire("job", ttl=-1)),
            (ValueError, lambda: c.acquire("job", ttl="-1s")),
            (ValueError, lambda: c.acquire("job", ttl=float("inf"))),
            (TypeError, lambda: c.acquire("job", ttl=True)),
            (ValueError, lambda: c.acquire("job", ttl="1s", wait=-0.5)),
            (ValueError, lambda: c.acquire("job", ttl="1s", slots=0)),
            (ValueError, lambda: c.acquire("job", ttl="1s", slots=True)),
            (TypeError, lambda: c.acquire("job", ttl="1s", value=b"bytes")),
            (TypeError, lambda: c.holder(None)),
        ]
        for want, call in cases:
            with self.assertRaises(want):
                call()
        with self.assertRaises(OSError):  # the control: a good call does go out
            c.acquire("job", ttl="1s")

    def test_bad_client_settings(self):
        for url in ("127.0.0.1:7947", "ftp://host", "http://", None):
            with self.assertRaises(ValueError, msg=repr(url)):
                tenure.Client(url)
        for token in ("", "two\nlines", 5):
            with self.assertRaises(ValueError, msg=repr(token)):
                tenure.Client("http://127.0.0.1:7947", token)
        with self.assertRaises(ValueError):
            tenure.Client("http://127.0.0.1:7947", timeout=0)

    def test_durations(self):
        self.assertEqual(_duration.parse("1m30s"), 90.0)
        self.assertEqual(_duration.parse("250ms"), 0.25)
        self.assertEqual(_duration.parse("1.5s"), 1.5)
        self.assertEqual(_duration.parse("1h0m0s"), 3600.0)
        self.assertEqual(_duration.parse("0"), 0.0)
        self.assertAlmostEqual(_duration.parse("1\u00b5s"), 1e-6)
        for bad in ("", "s", "5", "5 s", "1x", "1.2.3s", "ms5"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                _duration.parse(bad)
        self.assertEqual(_duration.to_wire(0.6, "ttl", True), "600ms")
        self.assertEqual(_duration.to_wire(2, "ttl", True), "2000ms")
        self.assertEqual(_duration.to_wire(datetime.timedelta(seconds=1.5), "ttl", True), "1500ms")
        self.assertEqual(_duration.to_wire(0.0000015, "ttl", True), "1500ns")
        self.assertEqual(_duration.to_wire("5s", "ttl", True), "5s")
        self.assertEqual(_duration.to_wire(0, "wait", False), "0ms")
        self.assertIsNone(_duration.to_wire(None, "wait", False))

    def test_tokens_are_exact_above_2_53(self):
        big = "18446744073709551615"  # 2**64 - 1
        self.assertEqual(parse_token(big), 2**64 - 1)
        self.assertEqual(parse_token("9007199254740993"), 2**53 + 1)  # a double would read 2**53
        self.assertEqual(parse_token(12), 12)
        for bad in ("-1", "1e3", "", " 7", "0", "18446744073709551616", True, None, 1.5, "\u0661"):
            with self.assertRaises(tenure.TenureError, msg=repr(bad)):
                parse_token(bad)


@needs_agents
class RefusalTest(unittest.TestCase):
    def test_ttl_the_agent_refuses_is_400(self):
        with self.assertRaises(tenure.APIError) as cm:
            client(0).acquire(lease_name(self), ttl="1h")
        self.assertEqual(cm.exception.status, 400)
        self.assertNotIsInstance(cm.exception, tenure.LeaseHeld)
        self.assertIn("ttl", cm.exception.message)

    @needs_bearer
    def test_missing_bearer_token_is_401(self):
        with self.assertRaises(tenure.APIError) as cm:
            tenure.Client(AGENTS[0]).acquire(lease_name(self), ttl="1s")
        self.assertEqual(cm.exception.status, 401)
        self.assertIsNone(client(0).holder(lease_name(self)), "the refused call took nothing")


if __name__ == "__main__":
    unittest.main()

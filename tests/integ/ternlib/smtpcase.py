"""unittest scaffolding for the SMTP integration tests (tests/integ/test_smtp_*.py).

A ServerCase class starts one real `tern serve` (and, with dns=True, a loopback NSD
serving the zone below; with dns="servfail", a server answering SERVFAIL to everything) in setUpClass and stops it in tearDownClass, where the exit
status must be 0 and the log must hold no sanitizer report (LeakSanitizer runs at
exit in the Asan build). Subclasses set `server_kwargs` (TernServer options).

The zone `test.` served by NSD (DNS.Resolvers points at it):
  sender.test      MX -> mx.sender.test (127.0.0.1): an ordinary sending domain
  nullmx.test      MX 0 . (RFC 7505 null MX)
  nomx.test        A only (no MX: accepted)
  client.test      A 127.0.0.1: a HELO name that resolves
  nüll.test        (xn--nll-hoa) null MX; bücher.test (xn--bcher-kva) A 127.0.0.1: IDNA
  anything else under test. is NXDOMAIN, unless a class adds `dns_records`.
Set TERN_TEST_LOG=1 to print the server log after each class.
"""
import os
import sys
import time
import unittest

from ternlib.dnsserver import NSD, ServfailServer, zone
from ternlib.server import TernServer
from ternlib.smtpclient import Conn, tls_client_ctx, tls_connect

TEST_RECORDS = """
    sender          MX 10 mx.sender
    sender          TXT "v=spf1 ip4:127.0.0.0/8 -all"
    mx.sender        A  127.0.0.1
    nospf           MX 10 mx.sender
    nullmx           MX 0 .
    nomx             A  127.0.0.1
    client           A  127.0.0.1
    mail.example     A  127.0.0.1
    example          MX 10 mail.example
    xn--nll-hoa      MX 0 .
    xn--bcher-kva    A  127.0.0.1
"""
TEST_ZONE = zone("test", TEST_RECORDS)

PASSWORD = "correct horse 9"
DOMAINS = """Domains:
  example.test:
    LocalpartCatchallSeparator: "+"
  other.test: {}
  off.test:
    Disabled: true
Accounts:
  admin:
    Domain: example.test
    Destinations:
      admin@example.test: {}
  app:
    Domain: example.test
    Destinations:
      app@example.test: {}
      noreply@example.test: {}
      app@off.test: {}
    MaxOutgoingMessagesPerDay: -1
    MaxFirstTimeRecipientsPerDay: -1
  bob:
    Domain: other.test
    Destinations:
      bob@other.test: {}
"""


class ServerCase(unittest.TestCase):
    """One server (and optionally NSD) per test class."""

    server_kwargs = {}
    # Every server gets a loopback NSD: tests never depend on the machine's resolver.
    dns = True
    dns_records = ""  # more records for the test. zone (relative names, zone-file syntax)
    passwords = {}   # account -> password, set after start

    @classmethod
    def setUpClass(cls):
        cls.nsd = None
        kw = dict(cls.server_kwargs)
        kw.setdefault("domains", DOMAINS)
        if cls.dns == "servfail":
            cls.nsd = ServfailServer().start()
            kw["dns"] = [cls.nsd.addr]
        elif cls.dns:
            lines = (TEST_RECORDS + "\n" + cls.dns_records).splitlines()
            text = zone("test", "\n".join(l.strip() for l in lines)) if cls.dns_records else TEST_ZONE
            cls.nsd = NSD({"test": text}).start()
            kw["dns"] = [cls.nsd.addr]
        cls.srv = TernServer(name="tern-" + cls.__name__, **kw)
        try:
            cls.srv.start()
            for acc, pw in cls.passwords.items():
                cls.srv.set_password(acc, pw)
            # Once the queue exists: hold everything, so that submitted test mail to made-up
            # domains is never attempted (an error here means there is no queue yet).
            cls.srv.cli("queue", "holdrule", "add", check=False)
        except Exception:
            cls.srv.close()
            if cls.nsd:
                cls.nsd.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if os.environ.get("TERN_TEST_LOG"):
                print(cls.srv.log(), file=sys.stderr)
            cls.srv.stop_clean()
        finally:
            cls.srv.close()
            if cls.nsd:
                cls.nsd.stop()

    # ---- connections ----

    def conn(self, svc="smtp", **kw):
        c = Conn(self.srv.ports[svc], **kw)
        self.addCleanup(c.close)
        return c

    def tls_ctx(self, **kw):
        return tls_client_ctx(self.srv.cert, **kw)

    def tls_conn(self, **kw):
        c = tls_connect(self.srv.ports["submissions"], self.srv.cert, **kw)
        self.addCleanup(c.close)
        return c

    # ---- assertions ----

    def assertReply(self, r, code, words=None, msg=None):
        """r has this code and (if given) exactly these words (receivedid stripped)."""
        self.assertEqual(r.code, code, f"{r} {msg or ''}")
        if words is not None:
            self.assertEqual(r.words, words, f"{r} {msg or ''}")

    def assertClosed(self, c):
        """The server closed c (bounded wait); nothing more was sent before the close."""
        rest = c.expect_closed()
        self.assertEqual(rest, b"", f"bytes before close: {rest!r}")

    def log_count(self, text):
        """How many times text occurs in the server log so far."""
        with open(self.srv.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace").count(text)

    def wait_log(self, text, before, timeout=5):
        """Waits (bounded) until text occurs more often than `before` times in the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_count(text) > before:
                return
            time.sleep(0.05)
        self.fail(f"no new {text!r} in the server log")

    def metric(self, name):
        """Sum of every series of metric `name` (`tern metrics`)."""
        m = self.srv.metrics()
        return sum(v for k, v in m.items() if k == name or k.startswith(name + "{"))

    def metric_series(self, key):
        return self.srv.metrics().get(key, 0.0)


def main():
    unittest.main(verbosity=2)

"""Connection limits, slow clients and metrics against the real `tern serve`
(smtp.md §12, §13a; badinput #45-#46; reporting.md metrics via `tern metrics`).

Not tested in CI (they take real minutes): the 5-minute idle, command-line and data-stall
timeouts, the 30-minute data limit and the 60 s TLS handshake limit. What is tested: a
client that sends one byte per second is still served correctly, within a bounded time."""
import socket
import threading
import time

from ternlib.scram import b64
from ternlib.smtpcase import PASSWORD, ServerCase, main
from ternlib.smtpclient import Conn

TOO_MANY = "4.7.0 too many open connections from your ip or network"
TOO_FAST = "4.7.0 connection rate from your ip or network too high, slow down please"
HIGH = [1000, 3000, 9000]


def refused(port, words, src="127.0.0.1"):
    """Connects and expects the 421 refusal (instead of a greeting) and a close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))
    c = Conn(port, sock=s, greet=False)
    try:
        r = c.reply()
        assert r.code == 421 and r.words == words, r
        assert c.expect_closed() == b""
    finally:
        c.close()


class Concurrency(ServerCase):
    server_kwargs = dict(limits={"ConnectionsPerIP": [3, 90, 270], "ConnectionRatePerMinute": HIGH},
                         submission={"NoRequireSTARTTLS": True, "RelayNetworks": ["127.0.0.1/32"],
                                     "RelayAccount": "app"})

    def setUp(self):
        """The server notices closed connections asynchronously: a session of the previous
        test that ends only now would free a slot in the middle of this one."""
        deadline = time.monotonic() + 10
        while self.srv.metrics().get("tern_smtp_sessions", 0) != 0:
            self.assertLess(time.monotonic(), deadline, "sessions of the previous test still open")
            time.sleep(0.05)

    def held_mx(self, n):
        held = [self.conn() for _ in range(n)]
        self.assertEqual([c.greeting.code for c in held], [220] * n)
        return held

    def test_concurrent_limit_and_release(self):
        held = self.held_mx(3)
        refused(self.srv.ports["smtp"], TOO_MANY)
        # Another address of the same /26 (mask level 2 allows 90) is a different level-1 client.
        c = Conn(self.srv.ports["smtp"], sock=socket.create_connection(("127.0.0.1", self.srv.ports["smtp"]),
                                                                       timeout=10, source_address=("127.0.0.2", 0)))
        self.addCleanup(c.close)
        self.assertEqual(c.greeting.code, 220)
        # Closing one frees its slot (the server notices the close asynchronously).
        held[0].cmd("QUIT")
        held[0].expect_closed()
        deadline = time.monotonic() + 5
        while True:
            s = socket.create_connection(("127.0.0.1", self.srv.ports["smtp"]), timeout=10)
            first = s.recv(100)
            s.close()
            if first.startswith(b"220 ") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(first.startswith(b"220 "), first)

    def test_relay_clients_exempt(self):
        held = self.held_mx(3)
        subs = [self.conn("submission") for _ in range(6)]  # 127.0.0.1 is in RelayNetworks
        self.assertEqual({c.greeting.code for c in subs}, {220})
        self.assertReply(subs[-1].ehlo(), 250)
        refused(self.srv.ports["smtp"], TOO_MANY)  # the MX port is not exempt
        self.assertEqual(len(held), 3)


class Rate(ServerCase):
    server_kwargs = dict(limits={"ConnectionsPerIP": HIGH, "ConnectionRatePerMinute": [5, 900, 2700]})

    def test_rate_limit(self):
        # The start-up probe of TernServer.start() connected too: count what was accepted so far.
        m = self.srv.metrics()
        done = int(sum(v for k, v in m.items() if k.startswith("tern_smtpserver_connection_total{"))
                   - sum(v for k, v in m.items() if k.startswith("tern_smtp_connections_refused_total{")))
        self.assertLess(done, 5)
        for _ in range(5 - done):
            c = self.conn()
            self.assertEqual(c.greeting.code, 220)
            c.cmd("QUIT")
            c.close()
        refused(self.srv.ports["smtp"], TOO_FAST)
        refused(self.srv.ports["submission"], TOO_FAST)
        m = self.srv.metrics()
        self.assertEqual(m.get('tern_smtp_connections_refused_total{reason="too_fast"}'), 2)
        self.assertEqual(m.get('tern_smtpserver_connection_total{kind="submission"}'), 1)


class SlowAndMetrics(ServerCase):
    server_kwargs = dict(tls=True, limits={"AuthFailuresPerMinute": HIGH, "AuthFailuresPerDay": HIGH})
    passwords = {"app": PASSWORD}

    def test_slowloris_one_byte_per_second_is_served(self):
        c = self.conn()
        t0 = time.monotonic()
        for b in b"NOOP\r\n":
            c.send(bytes([b]))
            time.sleep(1.0)
        self.assertReply(c.reply(), 250, "2.0.0 ok")
        self.assertLess(time.monotonic() - t0, 20)
        # Others are served meanwhile and afterwards.
        self.assertReply(self.conn().cmd("NOOP"), 250)

    def test_slow_data_in_pieces(self):
        c = self.conn()
        c.ehlo()
        c.cmd("MAIL FROM:<>")
        c.cmd("RCPT TO:<admin@example.test>")
        self.assertReply(c.cmd("DATA"), 354)
        for piece in [b"Subject: s", b"low\r\n\r\nbo", b"dy\r\n.", b"\r"]:
            c.send(piece)
            self.assertTrue(c.nothing_pending(0.3), c.buf)  # no reply before the end of data
        c.send(b"\n")
        self.assertIn(c.reply().code, (250, 451))

    def test_metrics_move(self):
        before = self.srv.metrics()

        def delta(key):
            return self.srv.metrics().get(key, 0.0) - before.get(key, 0.0)
        c = self.conn("submission")
        c.ehlo()
        c.cmd("FOO")
        c.cmd("AUTH PLAIN " + b64(f"\0app@example.test\0{PASSWORD}".encode()))
        d = self.conn("submission")
        d.ehlo()
        d.cmd("AUTH PLAIN " + b64(b"\0app@example.test\0wrong"))
        d.cmd("AUTH PLAIN " + b64(b"no nul"))
        d.cmd("AUTH LOGIN")
        d.cmd("*")
        for x in (c, d):
            x.cmd("QUIT")
            x.expect_closed()
        deadline = time.monotonic() + 5
        while delta('tern_smtp_bytes_total{dir="out"}') == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(delta('tern_smtpserver_connection_total{kind="submission"}'), 2)
        self.assertEqual(delta('tern_smtpserver_connection_total{kind="mx"}'), 0)
        auth = 'tern_authentication_total{kind="submission",variant="%s",result="%s"}'
        self.assertEqual(delta(auth % ("plain", "ok")), 1)
        self.assertEqual(delta(auth % ("plain", "badcreds")), 1)
        self.assertEqual(delta(auth % ("plain", "malformed")), 1)
        self.assertEqual(delta(auth % ("login", "aborted")), 1)
        # One duration per command, labelled with its final reply (334 does not end AUTH).
        cmd = 'tern_smtpserver_command_duration_seconds_count{kind="submission",cmd="%s",code="%s",ecode="%s"}'
        self.assertEqual(delta(cmd % ("ehlo", 250, "")), 2)
        self.assertEqual(delta(cmd % ("other", 500, "5.5.1")), 1)  # FOO: unknown verbs are "other"
        self.assertEqual(delta(cmd % ("auth", 235, "2.7.0")), 1)
        self.assertEqual(delta(cmd % ("auth", 535, "5.7.8")), 1)
        self.assertEqual(delta(cmd % ("auth", 501, "5.5.2")), 1)
        self.assertEqual(delta(cmd % ("auth", 501, "5.7.0")), 1)
        self.assertEqual(delta(cmd % ("quit", 221, "2.0.0")), 2)
        self.assertFalse([k for k in self.srv.metrics() if "FOO" in k or "foo" in k])
        self.assertEqual(delta('tern_smtp_replies_total{class="2xx"}'), 2 * 2 + 1 + 2)  # greet+EHLO, 235, QUITs
        self.assertEqual(delta('tern_smtp_replies_total{class="3xx"}'), 1)  # 334 for LOGIN
        self.assertEqual(delta('tern_smtp_replies_total{class="5xx"}'), 4)
        self.assertGreater(delta('tern_smtp_bytes_total{dir="in"}'), 60)
        self.assertGreater(delta('tern_smtp_bytes_total{dir="out"}'), 500)
        self.assertEqual(self.srv.metrics().get("tern_smtp_sessions", -1), 0)


class TraceLog(ServerCase):
    """config.md LogLevel: `trace` has transcripts without credentials or message data,
    `traceauth` adds credentials, `tracedata` adds message data."""
    passwords = {"app": PASSWORD}

    def session(self, marker):
        with open(self.srv.log_path, "rb") as f:
            start = len(f.read())
        ir = b64(f"\0app@example.test\0{PASSWORD}".encode())
        c = self.conn("submission")
        c.ehlo()
        self.assertReply(c.cmd("AUTH LOGIN"), 334)
        c.cmd(b64(b"app@example.test"))
        self.assertReply(c.cmd(b64(PASSWORD.encode())), 235)
        d = self.conn("submission")
        d.ehlo()
        self.assertReply(d.cmd("AUTH PLAIN " + ir), 235)
        d.cmd("MAIL FROM:<app@example.test>")
        d.cmd("RCPT TO:<x@remote.test>")
        d.cmd("DATA")
        d.send(f"From: <app@example.test>\r\nSubject: {marker}-data\r\n\r\n{marker}-body\r\n.\r\n".encode())
        d.reply()
        chunk = f"From: <app@example.test>\r\n\r\n{marker}-bdat\r\n".encode()
        d.cmd("MAIL FROM:<app@example.test>")
        d.cmd("RCPT TO:<x@remote.test>")
        d.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk + b"NOOP\r\n")
        d.replies(2)
        for x in (c, d):
            x.cmd("QUIT")
        with open(self.srv.log_path, "rb") as f:
            text = f.read()[start:].decode("utf-8", "replace")
        return [ln for ln in text.splitlines() if "pkg=smtp msg=command" in ln], ir

    def test_trace_levels(self):
        pw64 = b64(PASSWORD.encode())
        for level, creds, data in [("trace", False, False), ("traceauth", True, False), ("tracedata", True, True)]:
            self.srv.cli("loglevel", level)
            lines, ir = self.session(level)
            text = "\n".join(lines)
            self.assertIn("MAIL FROM:<app@example.test>", text, level)
            self.assertEqual(ir in text, creds, level)
            self.assertEqual(pw64 in text, creds, level)
            self.assertEqual(f"{level}-body" in text, data, level)
            self.assertEqual(f"{level}-bdat" in text, data, level)
            if not creds:
                self.assertIn("AUTH PLAIN <initial response>", text)
                self.assertIn("<authentication response>", text)
            if not data:
                self.assertIn("octets of message data>", text)
                self.assertIn("NOOP", text)  # the command after the BDAT chunk is still shown
        self.srv.cli("loglevel", "debug")


class CloseDeadline(ServerCase):
    """Replies after the client's EOF, and a client that never reads its last replies."""

    def test_half_closed_client_gets_every_reply(self):
        c = self.conn()
        n = 30000  # ~4.8 MB of EHLO replies: far more than the socket buffers hold
        errors = []

        def writer():
            try:
                c.sock.sendall(b"EHLO client.test\r\n" * n)
                c.sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                errors.append(e)
        t = threading.Thread(target=writer)
        t.start()
        got = c.expect_closed(timeout=60)
        t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(got.count(b"250 SMTPUTF8\r\n"), n)
        self.assertTrue(got.endswith(b"250 SMTPUTF8\r\n"), got[-100:])

    def test_replies_do_not_pile_up(self):
        """A client that pipelines without reading: the server stops reading commands while
        SMTP_SESSION_OUT_MAX of replies are unsent, so its memory stays flat; reading later
        still gets every reply in order."""
        def rss_mb():
            with open(f"/proc/{self.srv.proc.pid}/status") as f:
                return next(int(x.split()[1]) for x in f if x.startswith("VmRSS")) / 1024
        s = socket.create_connection(("127.0.0.1", self.srv.ports["smtp"]), timeout=60)
        self.addCleanup(s.close)
        s.recv(100)
        n = 700000  # 12.6 MB of commands, ~110 MB of replies
        done = []
        t = threading.Thread(target=lambda: (s.sendall(b"EHLO client.test\r\n" * n), done.append(1)), daemon=True)
        before = rss_mb()
        t.start()
        time.sleep(3)
        self.assertLess(rss_mb() - before, 48, "replies piled up in the server")
        self.assertEqual(done, [], "the server read everything without sending its replies")
        end = b"250 SMTPUTF8\r\n"
        got, buf = 0, b""
        deadline = time.monotonic() + 60
        while got < n and time.monotonic() < deadline:
            buf += s.recv(1 << 20)
            k = buf.count(end)
            if k:
                got += k
                buf = buf[buf.rindex(end) + len(end):]
        t.join(30)
        self.assertEqual((got, done, buf), (n, [1], b""))
        s.sendall(b"NOOP\r\n")
        self.assertEqual(s.recv(1000), b"250 2.0.0 ok\r\n")



if __name__ == "__main__":
    main()

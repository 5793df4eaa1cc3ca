"""STARTTLS and implicit TLS against the real `tern serve` (smtp.md §8, §2; badinput #12-#17),
with two independent TLS stacks as clients: `openssl s_client` and Python's ssl module.

Not tested here (too slow for CI): the 60 s handshake limit (badinput #15) — a stalled
handshake is only checked to leave the server serving others."""
import socket
import ssl
import subprocess
import time

from ternlib.smtpcase import ServerCase, main

HOST = "mail.example.test"


def s_client(port, cafile, stdin, starttls=True, extra=()):
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", cafile, "-verify_return_error",
            "-servername", HOST, "-verify_hostname", HOST, "-crlf", "-ign_eof", "-brief", *extra]
    if starttls:
        args[2:2] = ["-starttls", "smtp"]
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=30)


class TLSMX(ServerCase):
    dns = True
    server_kwargs = dict(tls=True, submissions=True, submission={})

    def metrics_delta(self, before, prefix, want, timeout=5):
        """Waits (bounded) until the series starting with prefix moved by want; returns the move."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.srv.metrics()
            d = sum(v for k, v in m.items() if k.startswith(prefix)) - \
                sum(v for k, v in before.items() if k.startswith(prefix))
            if d >= want or time.monotonic() > deadline:
                return d
            time.sleep(0.05)

    def test_openssl_starttls_tls13_and_tls12(self):
        before = self.srv.metrics()
        for extra, proto in [((), "TLSv1.3"), (("-tls1_2",), "TLSv1.2")]:
            r = s_client(self.srv.ports["smtp"], self.srv.cert, "EHLO client.test\nMAIL FROM:<>\nQUIT\n",
                         extra=extra)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(f"Protocol version: {proto}", r.stderr)
            self.assertIn("Verification: OK", r.stderr)
            lines = r.stdout.splitlines()
            self.assertIn("250-REQUIRETLS", lines)
            self.assertNotIn("250-STARTTLS", lines)
            self.assertIn("250 2.1.0 ok", lines)
            self.assertEqual(lines[-1], "221 2.0.0 bye")
        self.assertEqual(self.metrics_delta(before, "tern_smtpserver_delivery_starttls_total", 2), 2)
        self.assertEqual(self.metrics_delta(before, "tern_smtpserver_delivery_starttls_errors_total", 0), 0)
        cmd = 'tern_smtpserver_command_duration_seconds_count{kind="mx",cmd="starttls",code="220",ecode="2.0.0"}'
        self.assertEqual(self.metrics_delta(before, cmd, 2), 2)

    def test_openssl_submission_starttls_and_submissions(self):
        r = s_client(self.srv.ports["submission"], self.srv.cert, "EHLO client.test\nQUIT\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Verification: OK", r.stderr)
        self.assertTrue(any(x.startswith("250-AUTH SCRAM-SHA-256-PLUS ") for x in r.stdout.splitlines()), r.stdout)
        r = s_client(self.srv.ports["submissions"], self.srv.cert, "EHLO client.test\nQUIT\n", starttls=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(f"220 {HOST} ESMTP tern\n"), r.stdout)
        self.assertIn("250-REQUIRETLS", r.stdout.splitlines())

    def test_python_starttls_and_requiretls(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<> REQUIRETLS"), 523,
                         "5.7.10 requiretls only allowed on tls-encrypted connections")
        self.assertReply(c.cmd("STARTTLS now"), 501, "5.5.4 syntax: STARTTLS")
        c.starttls(self.tls_ctx())
        self.assertEqual(c.sock.version(), "TLSv1.3")
        c.ehlo()
        self.assertReply(c.cmd("STARTTLS"), 503, "5.5.1 tls already active")
        self.assertReply(c.cmd("MAIL FROM:<> REQUIRETLS"), 250, "2.1.0 ok")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 250)

    def test_injection_starttls_rset_one_segment(self):
        c = self.conn()
        c.ehlo()
        c.send(b"STARTTLS\r\nRSET\r\n")
        self.assertReply(c.reply(), 220, "2.0.0 ready to start TLS")
        self.assertTrue(c.nothing_pending(0.3), f"plaintext after the 220: {c.buf!r}")
        c.sock = self.tls_ctx().wrap_socket(c.sock, server_hostname=HOST)
        # The injected RSET never ran: no reply is waiting, and the next reply is HELP's.
        self.assertTrue(c.nothing_pending(0.5), f"a reply to the injected RSET: {c.buf!r}")
        self.assertReply(c.cmd("HELP"), 214, "2.0.0 see rfc 5321")

    def test_injection_starttls_mail_from(self):
        c = self.conn()
        c.ehlo()
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@sender.test>\r\nRCPT TO:<admin@example.test>\r\n")
        self.assertReply(c.reply(), 220, "2.0.0 ready to start TLS")
        c.sock = self.tls_ctx().wrap_socket(c.sock, server_hostname=HOST)
        self.assertTrue(c.nothing_pending(0.5), f"replies to injected commands: {c.buf!r}")
        # State reset: the EHLO from before TLS is forgotten, and no MAIL ran.
        self.assertReply(c.cmd("MAIL FROM:<someone@sender.test>"), 503, "5.5.1 send EHLO first")
        c.ehlo()
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 503, "5.5.1 missing MAIL FROM")

    def test_transaction_forgotten_after_starttls(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<someone@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 250)
        c.starttls(self.tls_ctx())
        c.ehlo()
        self.assertReply(c.cmd("DATA"), 503, "5.5.1 missing MAIL FROM")

    def test_large_message_pipelined_commands_and_quit_over_tls(self):
        c = self.conn()
        c.ehlo()
        c.starttls(self.tls_ctx())
        c.ehlo()
        rs = c.pipeline(["NOOP", "HELP", "MAIL FROM:<someone@sender.test>", "RCPT TO:<admin@example.test>", "DATA"])
        self.assertEqual([r.code for r in rs], [250, 214, 250, 250, 354])
        body = b"Subject: big over tls\r\n\r\n" + (b"t" * 996 + b"\r\n") * 2000 + b".\r\n"
        c.send(body)
        self.assertIn((c.reply().code), (250, 451))
        self.assertReply(c.cmd("QUIT"), 221, "2.0.0 bye")
        self.assertEqual(c.expect_closed(), b"")

    def test_errors_close_over_tls(self):
        c = self.tls_conn()
        c.send(b"FOO\r\n" * 20)
        rs = c.replies(20)
        self.assertEqual({r.words for r in rs}, {"5.5.1 unknown command"})
        self.assertReply(c.reply(), 421, "4.7.0 too many errors")
        self.assertEqual(c.expect_closed(), b"")

    def test_plaintext_on_implicit_tls_port(self):
        s = socket.create_connection(("127.0.0.1", self.srv.ports["submissions"]), timeout=10)
        self.addCleanup(s.close)
        s.sendall(b"EHLO client.test\r\n")
        got = b""
        try:
            while True:
                x = s.recv(4096)
                if not x:
                    break
                got += x
        except ConnectionResetError:
            pass
        self.assertNotIn(b"250", got)  # no SMTP in plaintext; the handshake fails and the server closes

    def test_failed_handshake_closes(self):
        before = self.srv.metrics()
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("STARTTLS"), 220)
        c.send(b"this is not a TLS ClientHello\r\n" * 4)
        c.expect_closed()
        # A client whose certificate check fails (wrong name) also ends the connection.
        d = self.conn()
        d.ehlo()
        self.assertReply(d.cmd("STARTTLS"), 220)
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.tls_ctx().wrap_socket(d.sock, server_hostname="other.example.test")
        # The server still serves new connections.
        self.assertReply(self.conn().ehlo(), 250)
        self.assertEqual(self.metrics_delta(before, "tern_smtpserver_delivery_starttls_errors_total", 2), 2)
        self.assertGreaterEqual(self.metrics_delta(
            before, 'tern_smtpserver_delivery_starttls_errors_total{reason="protocol"}', 1), 1)
        self.assertEqual(self.metrics_delta(before, "tern_smtpserver_delivery_starttls_total", 0), 0)

    def test_stalled_handshake_does_not_block_others(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("STARTTLS"), 220)
        c.send(b"\x16\x03\x01")  # the start of a record, then nothing
        for _ in range(3):
            e = self.conn()
            self.assertReply(e.cmd("NOOP"), 250)

    def test_close_notify_during_data(self):
        """TLS close_notify in the middle of DATA, then cleartext (badinput #16): a lost connection."""
        c = self.conn()
        c.ehlo()
        c.starttls(self.tls_ctx())
        c.ehlo()
        c.pipeline(["MAIL FROM:<someone@sender.test>", "RCPT TO:<admin@example.test>"])
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: cut\r\n\r\npartial body\r\n")
        lost = self.log_count("lost connection during data")
        raw = c.sock.unwrap()  # sends close_notify
        try:
            raw.sendall(b"\r\n.\r\nMAIL FROM:<x@sender.test>\r\n")
        except OSError:
            pass
        raw.settimeout(10)
        got = b""
        try:
            while True:
                x = raw.recv(4096)
                if not x:
                    break
                got += x
        except (ConnectionResetError, socket.timeout):
            pass
        raw.close()
        self.assertNotIn(b"250", got)
        self.wait_log("lost connection during data", lost)

    def test_half_close_during_data(self):
        c = self.conn()
        c.ehlo()
        c.pipeline(["MAIL FROM:<someone@sender.test>", "RCPT TO:<admin@example.test>"])
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: half\r\n\r\nbody\r\n")
        lost = self.log_count("lost connection during data")
        c.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(c.expect_closed(), b"")
        self.wait_log("lost connection during data", lost)


class TLSRequireSTARTTLS(ServerCase):
    """SMTP.RequireSTARTTLS: RCPT needs TLS, except for TLS-report addresses."""
    dns = True
    server_kwargs = dict(tls=True, smtp={"RequireSTARTTLS": True},
                         extra_static="HostTLSRPT: {Account: admin, Mailbox: TLSRPT, Localpart: tlsreports}")

    def test_rcpt_needs_tls(self):
        c = self.conn()
        c.ehlo()
        c.cmd("MAIL FROM:<someone@sender.test>")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 530, "5.7.0 STARTTLS required")
        self.assertReply(c.cmd(f"RCPT TO:<tlsreports@{HOST}>"), 250, "2.1.5 ok")
        c.starttls(self.tls_ctx())
        c.ehlo()
        c.cmd("MAIL FROM:<someone@sender.test>")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 250, "2.1.5 ok")


class TLSNone(ServerCase):
    """A listener without TLS: STARTTLS is neither offered nor accepted."""
    server_kwargs = dict(submission={})

    def test_not_offered(self):
        for svc in ("smtp", "submission"):
            c = self.conn(svc)
            r = c.ehlo()
            self.assertNotIn("STARTTLS", c.ext(r))
            self.assertNotIn("AUTH", c.ext(r))
            self.assertReply(c.cmd("STARTTLS"), 502, "5.5.1 STARTTLS not supported")


if __name__ == "__main__":
    main()

"""SMTP session basics against the real `tern serve` (smtp.md §1, §2, §10; badinput #3, #4, #9-#11):
greeting, EHLO lists per listener in the §2 order, HELO/EHLO argument rules, unknown verbs,
command order, NOOP/RSET/VRFY/EXPN/HELP/QUIT, PIPELINING batching, synchronisation errors,
and the receivedid on every error reply (checked for every reply by smtpclient.Conn)."""
import datetime
import re
import socket
import time

from ternlib.smtpcase import ServerCase, main

HOST = "mail.example.test"
MX_TAIL = ["ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "CHUNKING", "LIMITS RCPTMAX=1000", "SMTPUTF8"]
MECHS = "AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN"


def futurerelease_ok(tc, line):
    """`FUTURERELEASE 5184000 <now+60 days, RFC 3339 UTC>` with the time within 2 minutes."""
    m = re.fullmatch(r"FUTURERELEASE 5184000 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", line)
    tc.assertTrue(m, line)
    at = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    want = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=60)
    tc.assertLess(abs((at - want).total_seconds()), 120, line)


class MXSession(ServerCase):
    dns = True
    server_kwargs = dict(tls=True)

    def test_greeting_and_quit(self):
        c = self.conn()
        self.assertEqual(c.greeting.raw, f"220 {HOST} ESMTP tern\r\n".encode())
        self.assertReply(c.cmd("QUIT"), 221, "2.0.0 bye")
        self.assertClosed(c)

    def test_ehlo_list_mx_in_order(self):
        c = self.conn()
        r = c.cmd("EHLO client.test")
        self.assertEqual(r.lines, [HOST, "PIPELINING", "SIZE 104857600", "STARTTLS"] + MX_TAIL)
        # EHLO again is allowed and gives the same list.
        self.assertEqual(c.cmd("EHLO client.test").lines, r.lines)

    def test_ehlo_list_mx_after_starttls(self):
        c = self.conn()
        c.ehlo()
        c.starttls(self.tls_ctx())
        r = c.cmd("EHLO client.test")
        self.assertEqual(r.lines, [HOST, "PIPELINING", "SIZE 104857600", "REQUIRETLS"] + MX_TAIL)

    def test_helo_reply(self):
        c = self.conn()
        self.assertEqual(c.cmd("HELO client.test").raw, f"250 {HOST}\r\n".encode())

    def test_helo_ehlo_argument_rules_mx(self):
        c = self.conn()
        self.assertReply(c.cmd("EHLO"), 501, "5.5.4 syntax: EHLO <hostname>")
        self.assertReply(c.cmd("HELO"), 501, "5.5.4 syntax: HELO <hostname>")
        for bad in ["not_a domain", "a..b.test", "-x.test", "[300.1.1.1]", "[192.0.2.1", "x@y.test"]:
            self.assertReply(c.cmd("EHLO " + bad), 501, "5.5.4 invalid hostname")
        for good in ["[127.0.0.1]", "[IPv6:::1]", "under_score.test", "b\u00fccher.test", "nx.test"]:
            self.assertEqual(c.cmd("EHLO " + good).code, 250, good)
        # A failed EHLO leaves the earlier greeting in place: MAIL still works.
        self.assertReply(c.cmd("EHLO bad name"), 501, "5.5.4 invalid hostname")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250, "2.1.0 ok")

    def test_helo_nxdomain_rejected_ehlo_not_checked(self):
        c = self.conn()
        self.assertReply(c.cmd("HELO nx.test"), 550, "5.5.0 your ehlo domain does not resolve to an IP address")
        self.assertReply(c.cmd("MAIL FROM:<>"), 503, "5.5.1 send EHLO first")
        self.assertEqual(c.cmd("HELO client.test").code, 250)
        self.assertEqual(c.cmd("HELO [127.0.0.1]").code, 250)  # literals are not resolved
        self.assertEqual(c.cmd("EHLO nx.test").code, 250)      # EHLO names are not resolved

    def test_unknown_verbs_and_empty_line(self):
        c = self.conn()
        for line in ["FOO", "GET / HTTP/1.1", "", "MAILFROM:<>", "ETRN example.test", "BURL x LAST"]:
            self.assertReply(c.cmd(line), 500, "5.5.1 unknown command")
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0 ok")

    def test_commands_before_ehlo(self):
        c = self.conn()
        for line in ["MAIL FROM:<>", "RCPT TO:<admin@example.test>", "DATA", "VRFY admin", "EXPN list",
                     "STARTTLS"]:
            self.assertReply(c.cmd(line), 503, "5.5.1 send EHLO first")
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0 ok")
        self.assertReply(c.cmd("RSET"), 250, "2.0.0 ok")
        self.assertReply(c.cmd("HELP"), 214, "2.0.0 see rfc 5321")
        self.assertReply(c.cmd("QUIT"), 221, "2.0.0 bye")
        self.assertClosed(c)

    def test_command_order_errors(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 503, "5.5.1 missing MAIL FROM")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1 missing MAIL FROM")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250, "2.1.0 ok")
        self.assertReply(c.cmd("MAIL FROM:<>"), 503, "5.5.1 already have MAIL")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1 missing RCPT TO")
        self.assertReply(c.cmd("AUTH PLAIN"), 503, "5.5.1 authentication not allowed on this listener")

    def test_noop_rset_vrfy_help(self):
        c = self.conn()
        c.ehlo()
        self.assertEqual(c.cmd("NOOP").raw, b"250 2.0.0 ok\r\n")
        self.assertEqual(c.cmd("NOOP with argument").raw, b"250 2.0.0 ok\r\n")
        self.assertEqual(c.cmd("VRFY admin").raw, b"252 2.5.0 not verifying\r\n")
        self.assertEqual(c.cmd("EXPN staff").raw, b"252 2.5.0 not verifying\r\n")
        self.assertEqual(c.cmd("HELP").raw, b"214 2.0.0 see rfc 5321\r\n")
        self.assertEqual(c.cmd("help mail").raw, b"214 2.0.0 see rfc 5321\r\n")
        # RSET clears the transaction.
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)
        self.assertEqual(c.cmd("RSET").raw, b"250 2.0.0 ok\r\n")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 503, "5.5.1 missing MAIL FROM")
        self.assertReply(c.cmd("RSET now"), 501, "5.5.4 syntax: RSET")
        self.assertReply(c.cmd("QUIT now"), 501, "5.5.4 syntax: QUIT")
        # Verbs are case-insensitive.
        self.assertReply(c.cmd("nOoP"), 250, "2.0.0 ok")

    def test_ehlo_resets_transaction(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)
        c.ehlo()
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 503, "5.5.1 missing MAIL FROM")

    def test_receivedid_same_on_every_error(self):
        c = self.conn()
        errs = [c.cmd(x) for x in ["MAIL FROM:<>", "FOO", "EHLO", "DATA"]]
        ids = {re.search(r"\(([A-Za-z0-9_-]{16})\)$", r.text).group(1) for r in errs}
        self.assertEqual(len(ids), 1, errs)
        # A new connection has a new id.
        d = self.conn()
        d.cmd("FOO")
        self.assertNotEqual(d.rid, c.rid)

    def test_pipelining_replies_batched(self):
        c = self.conn()
        c.ehlo()
        # Commands that need no lookup: all replies come back in one write.
        c.send(b"NOOP\r\nHELP\r\nVRFY x\r\nRSET\r\nFOO\r\n")
        c._fill(time.monotonic() + 5)  # one read gets all five: they were written at once
        self.assertEqual(c.buf.count(b"\r\n"), 5, f"replies split over writes: {c.buf!r}")
        self.assertEqual([r.code for r in c.replies(5)], [250, 214, 252, 250, 500])

    def test_pipelined_mail_rcpt_data(self):
        c = self.conn()
        c.ehlo()
        rs = c.pipeline(["MAIL FROM:<someone@sender.test>", "RCPT TO:<admin@example.test>",
                         "RCPT TO:<nobody@example.test>", "DATA"])
        self.assertEqual([(r.code, r.words) for r in rs],
                         [(250, "2.1.0 ok"), (250, "2.1.5 ok"), (550, "5.1.1 no such user"),
                          (354, "end data with <CR><LF>.<CR><LF>")])
        c.send(b"Subject: t\r\n\r\nbody\r\n.\r\n")
        self.assertIn(c.reply().code, (250, 451))  # 451 until the mailbox store lands
        self.assertReply(c.cmd("NOOP"), 250)

    def test_bytes_after_data_before_354(self):
        c = self.conn()
        c.ehlo()
        c.pipeline(["MAIL FROM:<>", "RCPT TO:<admin@example.test>"])
        c.send(b"DATA\r\nSubject: early\r\n\r\n.\r\n")
        self.assertReply(c.reply(), 554, "5.5.0 protocol synchronization error")
        self.assertClosed(c)

    def test_pipelining_after_helo_closes(self):
        c = self.conn()
        c.send(b"HELO client.test\r\nNOOP\r\n")
        self.assertEqual(c.reply().raw, f"250 {HOST}\r\n".encode())
        self.assertReply(c.reply(), 554, "5.5.0 protocol synchronization error")
        self.assertClosed(c)
        # After a HELO answered on its own, two commands in one write also close.
        d = self.conn()
        self.assertEqual(d.cmd("HELO client.test").code, 250)
        d.send(b"MAIL FROM:<>\r\nRCPT TO:<admin@example.test>\r\n")
        self.assertReply(d.reply(), 554, "5.5.0 protocol synchronization error")
        self.assertClosed(d)
        # One command at a time is fine after HELO.
        e = self.conn()
        e.cmd("HELO client.test")
        self.assertReply(e.cmd("MAIL FROM:<>"), 250)
        self.assertReply(e.cmd("RCPT TO:<admin@example.test>"), 250)

    def test_talking_before_greeting(self):
        """The client writes before the 220 (badinput #3). Whether its bytes are in the
        socket when the session starts is a race, so try a bounded number of times:
        each attempt is either the 554 + close, or a normal greeting. sendto() with
        MSG_FASTOPEN has the kernel send the bytes right as the handshake completes
        (no cookie, so no data in the SYN), which wins the race nearly always."""
        early = 0
        for _ in range(20):
            s = socket.socket()
            try:
                s.sendto(b"EHLO early.test\r\n", socket.MSG_FASTOPEN, ("127.0.0.1", self.srv.ports["smtp"]))
            except OSError:  # no TCP Fast Open on this kernel: connect, then write
                s.close()
                s = socket.create_connection(("127.0.0.1", self.srv.ports["smtp"]), timeout=5)
                s.sendall(b"EHLO early.test\r\n")
            s.settimeout(5)
            got = b""
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:  # closed with our EHLO unread: RST after the reply
                    break
                if not chunk:
                    break
                got += chunk
                if got.startswith(b"220 ") and got.count(b"\r\n") >= 2:
                    break
            s.close()
            if got.startswith(b"554 "):
                self.assertRegex(got, rb"^554 5\.5\.0 protocol synchronization error \([A-Za-z0-9_-]{16}\)\r\n$")
                early += 1
            else:
                self.assertTrue(got.startswith(f"220 {HOST} ESMTP tern\r\n250-".encode()), got)
            if early >= 3:
                break
        self.assertGreater(early, 0, "the early talker was never detected")

    def test_line_too_long(self):
        c = self.conn()
        self.assertReply(c.cmd("EHLO " + "a" * 5000), 500, "5.5.2 line too long")
        self.assertReply(c.cmd("NOOP"), 250)
        # A long line sent in pieces is discarded up to its LF, then the session goes on.
        c.send(b"NOOP " + b"x" * 3000)
        time.sleep(0.2)
        c.send(b"y" * 3000 + b"\r\nNOOP\r\n")
        self.assertReply(c.reply(), 500, "5.5.2 line too long")
        self.assertReply(c.reply(), 250, "2.0.0 ok")
        # 2048 octets with CRLF is the limit.
        self.assertReply(c.cmd("NOOP " + "z" * (2048 - 7)), 250)
        self.assertReply(c.cmd("NOOP " + "z" * (2048 - 6)), 500, "5.5.2 line too long")


class SubmissionSession(ServerCase):
    server_kwargs = dict(tls=True, submissions=True, submission={})

    def test_ehlo_submission_before_and_after_starttls(self):
        c = self.conn("submission")
        r = c.cmd("EHLO client.test")
        self.assertEqual(r.lines[:4], [HOST, "PIPELINING", "SIZE 104857600", "STARTTLS"])
        futurerelease_ok(self, r.lines[4])
        self.assertEqual(r.lines[5:], MX_TAIL)
        c.starttls(self.tls_ctx())
        r = c.cmd("EHLO client.test")
        self.assertEqual(r.lines[:5], [HOST, "PIPELINING", "SIZE 104857600", "REQUIRETLS", MECHS])
        futurerelease_ok(self, r.lines[5])
        self.assertEqual(r.lines[6:], MX_TAIL)

    def test_ehlo_submissions(self):
        c = self.tls_conn()
        self.assertEqual(c.greeting.raw, f"220 {HOST} ESMTP tern\r\n".encode())
        r = c.cmd("EHLO client.test")
        self.assertEqual(r.lines[:5], [HOST, "PIPELINING", "SIZE 104857600", "REQUIRETLS", MECHS])
        futurerelease_ok(self, r.lines[5])
        self.assertEqual(r.lines[6:], MX_TAIL)
        self.assertReply(c.cmd("STARTTLS"), 503, "5.5.1 tls already active")

    def test_argument_not_checked_on_submission(self):
        c = self.conn("submission")
        self.assertEqual(c.cmd("EHLO not a domain!").code, 250)
        self.assertEqual(c.cmd("HELO nx.test").code, 250)
        self.assertReply(c.cmd("EHLO"), 501, "5.5.4 syntax: EHLO <hostname>")

    def test_auth_before_starttls_and_mail_without_auth(self):
        c = self.conn("submission")
        self.assertReply(c.cmd("AUTH PLAIN"), 503, "5.5.1 send EHLO first")
        c.ehlo()
        self.assertReply(c.cmd("AUTH PLAIN AHVzZXIAcGFzcw=="), 530, "5.7.0 STARTTLS required")
        self.assertReply(c.cmd("MAIL FROM:<app@example.test>"), 530, "5.7.0 authentication required")

    def test_auth_after_helo_needs_ehlo(self):
        c = self.tls_conn()
        self.assertEqual(c.cmd("HELO client.test").code, 250)
        self.assertReply(c.cmd("AUTH PLAIN"), 503, "5.5.1 send EHLO first")


class MXNoSTARTTLS(ServerCase):
    """SMTP.NoSTARTTLS and SMTP.NoRequireTLS; and a listener without TLS at all."""
    server_kwargs = dict(tls=True, smtp={"NoSTARTTLS": True, "NoRequireTLS": True})

    def test_no_starttls_offered(self):
        c = self.conn()
        r = c.ehlo()
        self.assertEqual(r.lines, [HOST, "PIPELINING", "SIZE 104857600"] + MX_TAIL)
        self.assertReply(c.cmd("STARTTLS"), 502, "5.5.1 STARTTLS not supported")
        self.assertReply(c.cmd("MAIL FROM:<> REQUIRETLS"), 523,
                         "5.7.10 requiretls only allowed on tls-encrypted connections")


if __name__ == "__main__":
    main()

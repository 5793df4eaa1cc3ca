"""DATA, BDAT, MAIL/RCPT parameters and limits against the real `tern serve`
(smtp.md §3-§5, §11; badinput #1-#2, #5-#7, #10, #26-#27, #30-#37).

Until the queue and mailbox store land, a message that passes every content check gets
`451 4.3.0 error storing message` instead of `250 2.0.0 delivered`; assertAccepted()
knows both (it requires the 250 once `tern queue` exists)."""
import threading

from ternlib.smtpcase import ServerCase, main

MAX = 20000  # SMTPMaxMessageSize of the small-limit server
SMUGGLING_ENDINGS = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r.\n", b"\n.\r", b"\r.\r\n", b"\r\n.\r",
                     b"\r\n\0.\r\n"]
BARE = "5.5.2 invalid bare \\r or \\n, may be smtp smuggling"


class DataCase(ServerCase):
    dns = True
    _store_live = None

    def store_live(self):
        """Whether the queue (and with it local delivery) is merged: `tern queue` exists."""
        if DataCase._store_live is None:
            DataCase._store_live = self.srv.cli("queue", "list", check=False).returncode == 0
        return DataCase._store_live

    def assertAccepted(self, c, r, kind="delivered"):
        """r ends a transaction that passed every content check."""
        if self.store_live():
            self.assertRegex(r.raw, rb"^250 2\.0\.0 " + kind.encode() + rb" \([A-Za-z0-9_-]{16}\)\r\n$")
        else:
            self.assertReply(r, 451, "4.3.0 error storing message")

    def mx(self, rcpts=("admin@example.test",), sender="someone@sender.test", params=""):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<{sender}>{params}"), 250, "2.1.0 ok")
        for r in rcpts:
            self.assertReply(c.cmd(f"RCPT TO:<{r}>"), 250, "2.1.5 ok")
        return c

    def data(self, c, body):
        self.assertReply(c.cmd("DATA"), 354, "end data with <CR><LF>.<CR><LF>")
        c.send(body)
        return c.reply()


class DataSmallLimit(DataCase):
    server_kwargs = dict(listener_fields={"SMTPMaxMessageSize": MAX})

    def test_size_announced(self):
        c = self.conn()
        self.assertIn(f"SIZE {MAX}", c.ehlo().lines)

    def test_plain_message_and_dot_stuffing(self):
        c = self.mx()
        r = self.data(c, b"Subject: dots\r\n\r\n..leading dot\r\n. \r\n.x\r\nlast\r\n.\r\n")
        self.assertAccepted(c, r)
        self.assertReply(c.cmd("NOOP"), 250)

    def test_empty_message_on_mx(self):
        c = self.mx()
        self.assertAccepted(c, self.data(c, b".\r\n"))

    def test_8bitmime(self):
        for body in ["", " BODY=8BITMIME", " BODY=7BIT", " body=8bitmime"]:
            c = self.mx(params=body)
            self.assertAccepted(c, self.data(c, "Subject: caf\u00e9\r\n\r\n8-bit \u00fcber\r\n.\r\n".encode()))
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<> BODY=BINARYMIME"), 501, "5.5.4 bad BODY parameter")
        self.assertReply(c.cmd("MAIL FROM:<> BODY="), 501, "5.5.4 bad BODY parameter")

    def test_smtputf8_addresses(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<j\u00f6rg@sender.test>"), 553,
                         "5.6.7 must declare SMTPUTF8 to send unicode address")
        self.assertReply(c.cmd("MAIL FROM:<someone@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<j\u00f6rg@example.test>"), 553,
                         "5.6.7 must declare SMTPUTF8 to send unicode address")
        c.cmd("RSET")
        self.assertReply(c.cmd("MAIL FROM:<j\u00f6rg@sender.test> SMTPUTF8"), 250, "2.1.0 ok")
        self.assertReply(c.cmd("RCPT TO:<j\u00f6rg@example.test>"), 550, "5.1.1 no such user")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 250)
        self.assertAccepted(c, self.data(c, "Subject: gr\u00fc\u00dfe\r\n\r\nhi\r\n.\r\n".encode()))
        self.assertReply(c.cmd("MAIL FROM:<> SMTPUTF8=yes"), 501, "5.5.4 bad SMTPUTF8 parameter")

    def test_bdat_chunks(self):
        c = self.mx()
        c.send(b"BDAT 12\r\nSubject: b\r\n")
        self.assertReply(c.reply(), 250, "2.0.0 12 octets received")
        c.send(b"BDAT 10\r\n\r\nbody\r\n\r\n")
        self.assertReply(c.reply(), 250, "2.0.0 10 octets received")
        c.send(b"BDAT 0 LAST\r\n")
        self.assertAccepted(c, c.reply())
        # A chunk with LAST, data with a line that looks like the DATA end: taken raw.
        c = self.mx()
        payload = b"Subject: raw\r\n\r\n.\r\nnot the end\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(payload) + payload)
        self.assertAccepted(c, c.reply())
        # BDAT 0 LAST alone: an empty message (accepted on MX).
        c = self.mx()
        c.send(b"BDAT 0 LAST\r\n")
        self.assertAccepted(c, c.reply())

    def test_bdat_pipelined_with_envelope(self):
        c = self.conn()
        c.ehlo()
        payload = b"Subject: piped\r\n\r\nhello\r\n"
        c.send(b"MAIL FROM:<>\r\nRCPT TO:<admin@example.test>\r\nBDAT %d LAST\r\n" % len(payload) + payload)
        self.assertReply(c.reply(), 250, "2.1.0 ok")
        self.assertReply(c.reply(), 250, "2.1.5 ok")
        self.assertAccepted(c, c.reply())

    def test_bdat_syntax_errors_close(self):
        for arg in ["-1", "18446744073709551616", "9223372036854775808", "10 LAST extra", "", "1e3", "10  LAST",
                    "123456789012345678901", "0x10"]:
            c = self.mx()
            self.assertReply(c.cmd(("BDAT " + arg).rstrip()), 501, "5.5.4 bad BDAT syntax")
            self.assertClosed(c)

    def test_bdat_out_of_order_and_data_after_bdat(self):
        c = self.conn()
        c.ehlo()
        c.send(b"BDAT 5\r\nhello")  # no MAIL: the chunk is read and discarded
        self.assertReply(c.reply(), 503, "5.5.1 missing MAIL FROM")
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0 ok")
        c.cmd("MAIL FROM:<>")
        c.send(b"BDAT 3 LAST\r\nabc")
        self.assertReply(c.reply(), 503, "5.5.1 missing RCPT TO")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 250)
        c.send(b"BDAT 4\r\nSubj")
        self.assertReply(c.reply(), 250, "2.0.0 4 octets received")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1 DATA not allowed after BDAT")
        # The transaction was reset.
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 503, "5.5.1 missing MAIL FROM")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_bdat_disconnect_inside_chunk(self):
        lost = self.log_count("lost connection during data")
        c = self.mx()
        c.send(b"BDAT 1000 LAST\r\nSubject: cut\r\n\r\nonly part")
        c.close()
        self.wait_log("lost connection during data", lost)
        self.assertReply(self.conn().cmd("NOOP"), 250)

    def test_bdat_after_helo_is_pipelining(self):
        c = self.conn()
        self.assertEqual(c.cmd("HELO client.test").code, 250)
        c.cmd("MAIL FROM:<>")
        c.cmd("RCPT TO:<admin@example.test>")
        c.send(b"BDAT 5 LAST\r\nhello")
        self.assertReply(c.reply(), 554, "5.5.0 protocol synchronization error")
        self.assertClosed(c)

    def test_size_parameter(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<> SIZE={MAX}"), 250)
        c.cmd("RSET")
        self.assertReply(c.cmd(f"MAIL FROM:<> SIZE={MAX + 1}"), 552, "5.3.4 message too large")
        for bad in ["99999999999999999999999", "-1", "1e9", "", "12a", "+5", "=5"]:
            self.assertReply(c.cmd(f"MAIL FROM:<> SIZE={bad}"), 501)
        self.assertReply(c.cmd("MAIL FROM:<> SIZE=99999999999999999999999"), 501, "5.5.4 bad SIZE parameter")

    def test_data_over_limit_is_read_to_the_end(self):
        c = self.mx()
        big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * (MAX // 1000 + 5) + b".\r\n"
        self.assertReply(self.data(c, big), 552, "5.3.4 message too large")
        self.assertReply(c.cmd("NOOP"), 250)  # in step: the rest of the data was consumed
        # SIZE lied about: the same.
        c = self.mx(params=" SIZE=100")
        self.assertReply(self.data(c, big), 552, "5.3.4 message too large")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 503, "5.5.1 missing MAIL FROM")

    def test_bdat_over_limit(self):
        c = self.mx()
        half = b"y" * (MAX // 2 + 100)
        c.send(b"BDAT %d\r\n" % len(half) + half)
        self.assertReply(c.reply(), 250)
        c.send(b"BDAT %d\r\n" % len(half) + half)
        self.assertReply(c.reply(), 552, "5.3.4 message too large")
        c.send(b"BDAT 10 LAST\r\n0123456789")  # later chunks are discarded with the same error
        self.assertReply(c.reply(), 552, "5.3.4 message too large")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 503, "5.5.1 missing MAIL FROM")
        # A single chunk over the limit.
        c = self.mx()
        big = b"z" * (MAX + 1)
        c.send(b"BDAT %d LAST\r\n" % len(big) + big)
        self.assertReply(c.reply(), 552, "5.3.4 message too large")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_long_line_stored_not_truncated(self):
        c = self.mx()
        line = b"L" * (MAX - 200)  # one line far over 998 octets, under the size limit
        self.assertAccepted(c, self.data(c, b"Subject: long\r\n\r\n" + line + b"\r\n.\r\n"))

    def test_smuggling_endings(self):
        for end in SMUGGLING_ENDINGS:
            c = self.mx()
            smuggled = b"MAIL FROM:<evil@sender.test>\r\nRCPT TO:<admin@example.test>\r\nDATA\r\nSubject: x\r\n"
            r = self.data(c, b"Subject: smuggle\r\n\r\nbody" + end + smuggled + b"\r\n.\r\n")
            if b"\0" in end:
                self.assertReply(r, 554, "5.6.0 message contains NUL byte")
            else:
                self.assertReply(r, 500, BARE)
            self.assertTrue(c.nothing_pending(), f"{end!r}: more replies {c.buf!r}")
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0 ok")

    def test_bare_cr_lf_inside_content(self):
        for body in [b"a\rb\r\n", b"a\nb\r\n", b"\n", b"x\r"]:
            c = self.mx()
            self.assertReply(self.data(c, b"Subject: bare\r\n\r\n" + body + b"\r\n.\r\n"), 500, BARE)
        c = self.mx()
        payload = b"Subject: bare\r\n\r\nline\nline\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(payload) + payload)
        self.assertReply(c.reply(), 500, BARE)

    def test_nul_in_data_and_command(self):
        c = self.mx()
        self.assertReply(self.data(c, b"Subject: nul\r\n\r\na\0b\r\n.\r\n"), 554, "5.6.0 message contains NUL byte")
        self.assertReply(c.cmd(b"NOOP\0"), 500, "5.5.2 bad syntax")
        self.assertReply(c.cmd(b"MAIL FROM:<a\0b@sender.test>"), 500, "5.5.2 bad syntax")
        c.send(b"NOOP\n")
        self.assertReply(c.reply(), 500, "5.5.2 bad syntax")
        c.send(b"NOOP\rNOOP\r\n")
        self.assertReply(c.reply(), 500, "5.5.2 bad syntax")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_invalid_utf8_in_commands(self):
        c = self.conn()
        for bad in [b"EHLO \xc0\xaf.test", b"EHLO \xed\xa0\x80.test", b"EHLO \xe2\x82", b"NOOP \xf5\x80\x80\x80",
                    b"NOOP \xff", b"MAIL FROM:<\xc3@sender.test>", b"\xfe\xff"]:
            self.assertReply(c.cmd(bad), 500, "5.5.2 invalid utf-8 in command")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_twenty_errors_close(self):
        c = self.conn()
        rs = c.pipeline(["FOO"] * 19)
        self.assertEqual({r.words for r in rs}, {"5.5.1 unknown command"})
        c.send(b"BAR\r\nNOOP\r\n")
        self.assertReply(c.reply(), 500, "5.5.1 unknown command")
        self.assertReply(c.reply(), 421, "4.7.0 too many errors")
        self.assertClosed(c)

    def test_hundred_noops_close(self):
        c = self.conn()
        c.ehlo()
        cmds = ["NOOP", "RSET", "HELP", "VRFY x", "EXPN y"] * 20
        c.send("".join(x + "\r\n" for x in cmds + ["NOOP"]))
        rs = c.replies(100)
        self.assertEqual([r.code for r in rs], [250, 250, 214, 252, 252] * 20)
        self.assertReply(c.reply(), 421, "4.7.0 too many commands without mail")
        self.assertClosed(c)

    def test_mail_params_dsn(self):
        c = self.conn()
        c.ehlo()
        ok = ["RET=FULL", "RET=HDRS", "ENVID=abc+2Bdef", "ENVID=" + "e" * 100, "RET=hdrs ENVID=x",
              "AUTH=<>", "AUTH=user+2Bx@example.test", "AUTH=a+0Ab"]  # valid xtext, then ignored
        for p in ok:
            self.assertReply(c.cmd(f"MAIL FROM:<> {p}"), 250, "2.1.0 ok")
            c.cmd("RSET")
        bad = {"RET=FOO": "5.5.4 bad RET parameter", "RET=FULL,HDRS": "5.5.4 bad RET parameter",
               "RET=FULL RET=HDRS": '5.5.4 duplicate parameter "RET"',
               "ENVID=+ZZ": "5.5.4 bad ENVID parameter", "ENVID=a+2": "5.5.4 bad ENVID parameter",
               "ENVID=a+": "5.5.4 bad ENVID parameter", "ENVID=a=b": "5.5.4 bad ENVID parameter",
               "ENVID=" + "e" * 101: "5.5.4 bad ENVID parameter", "ENVID=a+0Db": "5.5.4 bad ENVID parameter",
               "ENVID=x ENVID=y": '5.5.4 duplicate parameter "ENVID"',
               "ENVID=caf\u00e9": "5.5.4 bad ENVID parameter", "AUTH=a+zz": "5.5.4 bad AUTH parameter",
               "HOLDFOR=10": '5.5.4 unrecognized parameter "HOLDFOR"'}
        d = self.conn()
        d.ehlo()
        for i, (p, words) in enumerate(bad.items()):
            conn = c if i < 10 else d  # stay under the 20-error limit
            self.assertReply(conn.cmd(f"MAIL FROM:<> {p}"), 555 if "unrecognized" in words else 501, words, p)

    def test_rcpt_params_dsn(self):
        good = ["NOTIFY=NEVER", "NOTIFY=SUCCESS,FAILURE,DELAY", "NOTIFY=DELAY", "NOTIFY=failure,success",
                "ORCPT=rfc822;e+3Dmc2@example.com", "ORCPT=rfc822;" + "o" * 480, "NOTIFY=NEVER ORCPT=rfc822;a@b"]
        c = self.conn()
        c.ehlo()
        c.cmd("MAIL FROM:<someone@sender.test>")
        for p in good:
            self.assertReply(c.cmd(f"RCPT TO:<admin@example.test> {p}"), 250, "2.1.5 ok")
        bad = {"NOTIFY=NEVER,SUCCESS": "5.5.4 bad NOTIFY parameter", "NOTIFY=FOO": "5.5.4 bad NOTIFY parameter",
               "NOTIFY=SUCCESS,SUCCESS": "5.5.4 bad NOTIFY parameter", "NOTIFY=": "5.5.4 bad NOTIFY parameter",
               "ORCPT=e@example.com": "5.5.4 bad ORCPT parameter",
               "ORCPT=rfc822;" + "o" * 500: "5.5.4 bad ORCPT parameter",
               "ORCPT=rfc822;a+0D+0Ab@x": "5.5.4 bad ORCPT parameter",
               "ORCPT=rfc822;a+00@x": "5.5.4 bad ORCPT parameter",
               "NOTIFY=NEVER NOTIFY=DELAY": '5.5.4 duplicate parameter "NOTIFY"'}
        for p, words in bad.items():
            self.assertReply(c.cmd(f"RCPT TO:<admin@example.test> {p}"), 501, words)
        self.assertReply(c.cmd("RCPT TO:<admin@example.test> FOO=bar"), 555, '5.5.4 unrecognized parameter "FOO"')
        self.assertReply(c.cmd("MAIL FROM:<> FOO=bar"), 503, "5.5.1 already have MAIL")

    def test_param_tokenising_edges(self):
        c = self.conn()
        c.ehlo()
        for p in ["AUTH=", "=x", "SIZE==5", " " * 200 + "SIZE=5", 'X="quoted > value"', "SIZE=5 ", "SIZE=5  BODY=7BIT"]:
            self.assertEqual(c.cmd(f"MAIL FROM:<> {p}").code, 501, p)
        self.assertReply(c.cmd("MAIL FROM:<>  SIZE=5"), 501)

    def test_recipient_limit(self):
        c = self.conn()
        c.ehlo()
        c.cmd("MAIL FROM:<someone@sender.test>")
        rs = c.pipeline(["RCPT TO:<admin@example.test>"] * 1000)
        self.assertEqual({(r.code, r.words) for r in rs}, {(250, "2.1.5 ok")})
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 452, "4.5.3 max of 1000 recipients reached")
        self.assertReply(c.cmd("RCPT TO:<postmaster>"), 452, "4.5.3 max of 1000 recipients reached")
        # The accepted recipients are kept.
        self.assertAccepted(c, self.data(c, b"Subject: many\r\n\r\nx\r\n.\r\n"))

    def test_ten_thousand_pipelined_rcpts(self):
        c = self.conn()
        c.ehlo()
        c.cmd("MAIL FROM:<someone@sender.test>")
        blob = b"RCPT TO:<admin@example.test>\r\n" * 10000
        errors = []

        def writer():
            try:
                c.sock.sendall(blob)
            except OSError as e:  # the server closes after the 421 while we still write
                errors.append(e)
        t = threading.Thread(target=writer)
        t.start()
        try:
            rs = c.replies(1000 + 1020, timeout=30)
            self.assertEqual([r.code for r in rs[:1000]], [250] * 1000)
            self.assertEqual({(r.code, r.words) for r in rs[1000:]}, {(452, "4.5.3 max of 1000 recipients reached")})
            self.assertReply(c.reply(), 421, "4.7.0 too many errors")
            c.expect_closed(timeout=30)
        finally:
            t.join(30)
        self.assertFalse(t.is_alive())


class DataDefaultLimit(DataCase):
    """Header and hop limits need the default 100 MiB message size."""

    def test_header_section_too_large(self):
        c = self.mx()
        hdr = b"".join(b"X-Filler-%06d: %s\r\n" % (i, b"h" * 200) for i in range(5300))  # > 1 MiB
        self.assertGreater(len(hdr), 1024 * 1024)
        self.assertReply(self.data(c, b"Subject: h\r\n" + hdr + b"\r\nbody\r\n.\r\n"), 554,
                         "5.6.0 header section too large")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_too_many_hops(self):
        rec = b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        c = self.mx()
        self.assertReply(self.data(c, rec * 50 + b"Subject: loop\r\n\r\nx\r\n.\r\n"), 554, "5.4.0 too many hops")
        c = self.mx()
        self.assertAccepted(c, self.data(c, rec * 49 + b"Subject: loop\r\n\r\nx\r\n.\r\n"))

    def test_one_megabyte_line(self):
        c = self.mx()
        self.assertAccepted(c, self.data(c, b"Subject: line\r\n\r\n" + b"m" * (1024 * 1024) + b"\r\n.\r\n"))


class SmallRecipientLimit(DataCase):
    server_kwargs = dict(limits={"RecipientsPerTransaction": 5})

    def test_configured_limit(self):
        c = self.conn()
        self.assertIn("LIMITS RCPTMAX=5", c.ehlo().lines)
        c.cmd("MAIL FROM:<someone@sender.test>")
        rs = c.pipeline(["RCPT TO:<admin@example.test>", "RCPT TO:<postmaster>"] * 3)
        self.assertEqual([r.code for r in rs], [250] * 5 + [452])
        self.assertReply(rs[-1], 452, "4.5.3 max of 5 recipients reached")
        self.assertAccepted(c, self.data(c, b"Subject: five\r\n\r\nx\r\n.\r\n"))


class DiskReserve(DataCase):
    """Free space below 1.5 x SMTPMaxMessageSize: 452 4.3.1 at MAIL (smtp.md §11). With the
    largest allowed size the reserve computation must not overflow."""
    server_kwargs = dict(listener_fields={"SMTPMaxMessageSize": 2 ** 63 - 1}, submission={
        "NoRequireSTARTTLS": True, "RelayNetworks": ["127.0.0.1/32"], "RelayAccount": "app"})

    def test_reserve_refuses_mail(self):
        for svc in ("smtp", "submission"):
            c = self.conn(svc)
            self.assertIn(f"SIZE {2 ** 63 - 1}", c.ehlo().lines)
            self.assertReply(c.cmd("MAIL FROM:<>"), 452, "4.3.1 insufficient system storage", svc)
            self.assertReply(c.cmd("NOOP"), 250)


if __name__ == "__main__":
    main()

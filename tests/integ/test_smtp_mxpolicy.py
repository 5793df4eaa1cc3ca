"""MX policy against the real `tern serve` with a loopback NSD as its resolver
(smtp.md §3 MX checks, §4; badinput #18-#25, #28-#29).

DNS (ternlib/smtpcase.py TEST_ZONE): sender.test has an MX, nullmx.test a null MX,
nomx.test only an A record, anything else under test. is NXDOMAIN. The SERVFAIL
case runs a second server whose only resolver answers SERVFAIL."""
import os
import time

from ternlib.smtpcase import ServerCase, main

HOST = "mail.example.test"


class MXPolicy(ServerCase):
    dns = True

    def envelope(self, sender="someone@sender.test"):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<{sender}>"), 250, "2.1.0 ok")
        return c

    def test_recipients(self):
        c = self.envelope()
        cases = [
            ("admin@example.test", 250, "2.1.5 ok"),
            ("ADMIN@Example.TEST", 250, "2.1.5 ok"),          # case-insensitive localpart and domain
            ("admin+tag@example.test", 250, "2.1.5 ok"),      # catch-all separator
            ("nobody@example.test", 550, "5.1.1 no such user"),
            ("admin@unknown.test", 550, "5.1.1 not accepting email for domain"),
            ("app@off.test", 450, "4.2.1 recipient domain temporarily disabled"),
            ("nobody@off.test", 450, "4.2.1 recipient domain temporarily disabled"),
            ("admin@[127.0.0.1]", 550, "5.1.1 not accepting email for ip"),
            ("admin@[IPv6:2001:db8::1]", 550, "5.1.1 not accepting email for ip"),
            ("admin@[300.1.1.1]", 501, "5.1.3 bad recipient address syntax"),
            ("admin@[IPv6:zz::]", 501, "5.1.3 bad recipient address syntax"),
            ("admin@[Unknown:x]", 501, "5.1.3 bad recipient address syntax"),
            ("", 501, "5.1.3 bad recipient address syntax"),
        ]
        for rcpt, code, words in cases:
            self.assertReply(c.cmd(f"RCPT TO:<{rcpt}>"), code, words, rcpt)

    def test_spf_second_recipient_and_authentication_results(self):
        """smtp.md §4/§14: without SPF pass only one recipient; the stored message carries
        Authentication-Results with the SPF, DKIM, DMARC and iprev results."""
        c = self.envelope("someone@nospf.test")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 250, "2.1.5 ok")
        self.assertReply(c.cmd("RCPT TO:<postmaster>"), 452, "4.5.3 only one recipient allowed without spf pass")
        c.cmd("RSET")
        self.assertReply(c.cmd("MAIL FROM:<someone@sender.test>"), 250, "2.1.0 ok")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 250, "2.1.5 ok")
        self.assertReply(c.cmd("RCPT TO:<postmaster>"), 250, "2.1.5 ok")
        self.assertReply(c.cmd("DATA"), 354)
        r = c.cmd("From: someone@sender.test\r\nSubject: spf\r\n\r\nhello\r\n.")
        self.assertReply(r, 250, "2.0.0 delivered")
        dump = self.srv.cli("store", "dump", "accounts").stdout
        self.assertIn("Authentication-Results: mail.example.test;", dump)
        self.assertIn("spf=pass", dump)
        self.assertIn("iprev=", dump)

    def test_postmaster(self):
        c = self.envelope()
        for rcpt in ["postmaster", "PostMaster", "POSTMASTER", f"postmaster@{HOST}", "postmaster@example.test",
                     "Postmaster@other.test"]:
            self.assertReply(c.cmd(f"RCPT TO:<{rcpt}>"), 250, "2.1.5 ok", rcpt)

    def test_null_sender_one_recipient(self):
        c = self.envelope("")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<bob@other.test>"), 452,
                         "4.5.3 only one recipient allowed with null reverse address")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 452,
                         "4.5.3 only one recipient allowed with null reverse address")

    def test_duplicate_recipient(self):
        c = self.envelope()
        rs = c.pipeline(["RCPT TO:<admin@example.test>"] * 500)
        self.assertEqual({(r.code, r.words) for r in rs}, {(250, "2.1.5 ok")})

    def test_mail_from_dns(self):
        c = self.conn()
        c.ehlo()
        cases = [
            ("someone@sender.test", 250, "2.1.0 ok"),
            ("someone@nx.test", 250, "2.1.0 ok"),          # NXDOMAIN: accepted
            ("someone@nomx.test", 250, "2.1.0 ok"),        # no MX records: accepted
            ("someone@nullmx.test", 550, "5.7.27 mailfrom domain not configured for mail"),
            ("someone@[127.0.0.1]", 550, "5.7.0 domain name required"),
            ("", 250, "2.1.0 ok"),
            ("@a.test,@b.test:user@sender.test", 250, "2.1.0 ok"),   # source route ignored
        ]
        for sender, code, words in cases:
            self.assertReply(c.cmd(f"MAIL FROM:<{sender}>"), code, words, sender)
            c.cmd("RSET")

    def test_idna_names_are_looked_up_as_a_labels(self):
        c = self.conn()
        self.assertReply(c.cmd("HELO b\u00fccher.test"), 250)  # resolves as xn--bcher-kva.test
        self.assertReply(c.cmd("HELO n\u00fcx.test"), 550, "5.5.0 your ehlo domain does not resolve to an IP address")
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<a@n\u00fcll.test> SMTPUTF8"), 550,
                         "5.7.27 mailfrom domain not configured for mail")
        self.assertReply(c.cmd("MAIL FROM:<a@xn--nll-hoa.test>"), 550, "5.7.27 mailfrom domain not configured for mail")

    def test_sender_syntax(self):
        c = self.conn()
        c.ehlo()
        syntax = "5.5.4 syntax: MAIL FROM:<address>"
        bad = "5.1.7 bad sender address syntax"
        cases = [("MAIL FROM:a@sender.test", syntax), ("MAIL FROM:<a@sender.test>>", syntax),
                 ("MAIL FROM:<a@sender.test", syntax),
                 ("MAIL FROM:<<a@sender.test>>", bad), ('MAIL FROM:<"a@sender.test>', bad),
                 ("MAIL FROM:<a@@sender.test>", bad), ("MAIL FROM:<@>", bad), ("MAIL FROM:<a@>", bad),
                 ("MAIL FROM:<a@b..test>", bad), ("MAIL FROM:<;sleep 66;>", bad),
                 ("MAIL FROM:  <a@sender.test>", syntax), ("MAIL TO:<a@sender.test>", syntax)]
        for i, (line, words) in enumerate(cases):
            if i and i % 8 == 0:  # each is a failed transaction: 10 with no good one close
                c = self.conn()
                c.ehlo()
            self.assertReply(c.cmd(line), 501, words, line)
        self.assertReply(c.cmd("MAIL FROM:<a@sender.test> x"), 555, '5.5.4 unrecognized parameter "x"')

    def test_sender_valid_odd_forms(self):
        c = self.conn()
        c.ehlo()
        for sender in ['"john..doe"@sender.test', '"a b\\"c"@sender.test', '"a@b"@sender.test', '"\\\\"@sender.test',
                       "${run{id}}@sender.test", "`id`@sender.test", "|cmd@sender.test", "a" * 200 + "@sender.test",
                       "MiXeD@Sender.Test"]:
            self.assertReply(c.cmd(f"MAIL FROM:<{sender}>"), 250, "2.1.0 ok", sender)
            c.cmd("RSET")

    def test_address_lengths(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<" + "a" * 256 + "@sender.test>"), 501, "5.1.7 address too long")
        self.assertReply(c.cmd("MAIL FROM:<a@" + ("b" * 60 + ".") * 5 + "test>"), 501, "5.1.7 address too long")
        self.assertReply(c.cmd("MAIL FROM:<a@" + "b" * 64 + ".test>"), 501, "5.1.7 address too long")
        self.assertReply(c.cmd("MAIL FROM:<someone@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<" + "a" * 256 + "@example.test>"), 501, "5.1.3 address too long")
        self.assertReply(c.cmd("RCPT TO:<" + "a" * 255 + "@example.test>"), 550, "5.1.1 no such user")

    def bob(self, c):
        """A fresh transaction each time: a repeated recipient would be taken as a duplicate."""
        c.cmd("RSET")
        self.assertReply(c.cmd("MAIL FROM:<someone@sender.test>"), 250)
        return c.cmd("RCPT TO:<bob@other.test>")

    def test_disable_domain_with_cli_and_file(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(self.bob(c), 250)
        self.srv.cli("config", "domain", "disable", "other.test")
        try:
            self.assertReply(self.bob(c), 450, "4.2.1 recipient domain temporarily disabled")
        finally:
            self.srv.cli("config", "domain", "enable", "other.test")
        self.assertReply(self.bob(c), 250)
        # Editing domains.conf by hand: picked up by the 1-second reload.
        path = os.path.join(self.srv.dir, "domains.conf")
        with open(path) as f:
            orig = f.read()
        self.assertIn("\n  other.test: {}\n", orig)
        edited = orig.replace("\n  other.test: {}\n", "\n  other.test: {Disabled: true}\n")
        with open(path + ".new", "w") as f:
            f.write(edited)
        os.replace(path + ".new", path)
        try:
            deadline = time.monotonic() + 10
            while True:
                r = self.bob(c)
                if r.code != 250 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.assertReply(r, 450, "4.2.1 recipient domain temporarily disabled")
        finally:
            with open(path + ".new", "w") as f:
                f.write(orig)
            os.replace(path + ".new", path)
        deadline = time.monotonic() + 10
        while self.bob(c).code != 250:
            self.assertLess(time.monotonic(), deadline, "domains.conf change not reloaded")
            time.sleep(0.2)

    def test_too_many_failed_transactions(self):
        c = self.conn()
        c.ehlo()
        rs = c.pipeline(["MAIL FROM:<x@nullmx.test>"] * 9)
        self.assertEqual({r.code for r in rs}, {550})
        self.assertReply(c.cmd("MAIL FROM:<x@nullmx.test>"), 550, "5.7.27 mailfrom domain not configured for mail")
        self.assertReply(c.reply(), 550, "5.1.0 too many failures")
        self.assertClosed(c)


class MXServfail(ServerCase):
    dns = "servfail"

    def test_mail_from_servfail_and_helo_ignored(self):
        c = self.conn()
        self.assertEqual(c.cmd("HELO client.test").code, 250)  # a temporary DNS error is ignored
        self.assertReply(c.cmd("MAIL FROM:<someone@sender.test>"), 451,
                         "4.4.0 cannot verify mx records for mailfrom domain")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)


if __name__ == "__main__":
    main()

"""Submission policy against the real `tern serve` (smtp.md §3 submission checks, §13, §13a,
§7 LoginDisabled, §9 DSN parameters into the queue record).

The end-of-data checks of §13 run before the message goes to the queue, so they are
tested now; a message that passes them gets `451 4.3.0 error storing message` until the
queue lands (then `250 2.0.0 queued`). test_dsn_params_in_queue_record needs the queue
CLI and is skipped without it."""
import datetime
import json
import socket

from ternlib.smtpcase import DOMAINS, PASSWORD, ServerCase, main
from ternlib.scram import b64, smtp_scram
from ternlib.smtpclient import Conn

USER = "app@example.test"
LIMITED = DOMAINS.replace("""      app@off.test: {}
""", """      app@off.test: {}
    FromIDLoginAddresses: [noreply@example.test]
""") + """  capped:
    Domain: other.test
    Destinations:
      capped@other.test: {}
    MaxOutgoingMessagesPerDay: 2
  fresh:
    Domain: other.test
    Destinations:
      fresh@other.test: {}
    MaxFirstTimeRecipientsPerDay: 2
"""


def plain(user, pw):
    return b64(f"\0{user}\0{pw}".encode())


def msg(frm="app@example.test", extra=""):
    return (f"From: <{frm}>\r\nTo: <bob@remote.test>\r\nSubject: hello\r\n{extra}\r\nbody\r\n.\r\n").encode()


class SubmissionCase(ServerCase):
    _queue = None

    def queue_cli(self):
        if SubmissionCase._queue is None:
            SubmissionCase._queue = self.srv.cli("queue", "list", check=False).returncode == 0
        return SubmissionCase._queue

    def assertQueued(self, c, r):
        if self.queue_cli():
            self.assertReply(r, 250, "2.0.0 queued")
            self.assertRegex(r.raw, rb" \([A-Za-z0-9_-]{16}\)\r\n$")
        else:
            self.assertReply(r, 451, "4.3.0 error storing message")

    def authed(self, user=USER, pw=PASSWORD):
        c = self.conn("submission")
        c.ehlo()
        self.assertReply(c.cmd("AUTH PLAIN " + plain(user, pw)), 235)
        return c

    def send(self, c, frm, rcpts, body, params=""):
        self.assertReply(c.cmd(f"MAIL FROM:<{frm}>{params}"), 250, "2.1.0 ok")
        for r in rcpts:
            self.assertReply(c.cmd(f"RCPT TO:<{r}>"), 250, "2.1.5 ok")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(body)
        return c.reply()


class Submission(SubmissionCase):
    server_kwargs = dict(domains=LIMITED)
    passwords = {"app": PASSWORD, "capped": PASSWORD, "fresh": PASSWORD, "bob": PASSWORD}

    def test_mail_requires_auth(self):
        c = self.conn("submission")
        c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<{USER}>"), 530, "5.7.0 authentication required")
        self.assertReply(c.cmd("RCPT TO:<bob@remote.test>"), 503, "5.5.1 missing MAIL FROM")

    def test_sender_must_match(self):
        c = self.authed()
        for sender, code, words in [(USER, 250, "2.1.0 ok"), ("noreply@example.test", 250, "2.1.0 ok"),
                                    ("app+tag@example.test", 250, "2.1.0 ok"), ("APP@Example.Test", 250, "2.1.0 ok"),
                                    ("", 250, "2.1.0 ok"),
                                    ("admin@example.test", 550, "5.7.1 must match authenticated user"),
                                    ("bob@other.test", 550, "5.7.1 must match authenticated user"),
                                    ("app@remote.test", 550, "5.7.1 must match authenticated user"),
                                    ("app@off.test", 451, "4.3.0 domain of smtp mail from is temporarily disabled")]:
            self.assertReply(c.cmd(f"MAIL FROM:<{sender}>"), code, words, sender)
            c.cmd("RSET")
        self.assertReply(c.cmd("AUTH PLAIN " + plain(USER, PASSWORD)), 503, "5.5.1 already authenticated")

    def test_submission_rcpt_anyone_and_message_checks(self):
        c = self.authed()
        self.assertQueued(c, self.send(c, USER, ["bob@remote.test", "x@nx.test"], msg()))
        cases = [
            (b"Subject: no from\r\n\r\nx\r\n.\r\n", 550, "5.6.0 cannot parse header or From address"),
            (b".\r\n", 550, "5.6.0 cannot parse header or From address"),
            (b"From: a@example.test, b@example.test\r\n\r\nx\r\n.\r\n", 550,
             "5.6.0 cannot parse header or From address"),
            (msg("app@off.test"), 451, "4.3.0 domain of message from header is temporarily disabled"),
            (msg("admin@example.test"), 550, "5.7.1 message from address must belong to authenticated user"),
            (msg(extra="Return-Path: <x@y.test>\r\n"), 550, "5.6.0 message should not have Return-Path header"),
            (msg(extra="X-Tern-Extra-User-Id: 1\r\nx-tern-extra-user-id: 2\r\n"), 554,
             '5.6.0 duplicate x-tern-extra- key "User-Id"'),
        ]
        for body, code, words in cases:
            d = self.authed()  # each rejection is a failed transaction
            self.assertReply(self.send(d, USER, ["bob@remote.test"], body), code, words, body[:40])
        d = self.authed()
        self.assertQueued(d, self.send(d, USER, ["bob@remote.test"], msg("noreply@example.test")))

    def test_submission_recipient_forms(self):
        c = self.authed()
        self.assertReply(c.cmd(f"MAIL FROM:<{USER}>"), 250)
        for rcpt, code, words in [("<postmaster>", 501, "5.1.3 bad recipient address syntax"),
                                  ("<Postmaster@example.test>", 250, "2.1.5 ok"), (" <a@b.test>", 250, "2.1.5 ok"),
                                  ("  <a@b.test>", 501, "5.5.4 syntax: RCPT TO:<address>"),
                                  ("<a@[127.0.0.1]>", 250, "2.1.5 ok"), ('<"a b"@x.test>', 250, "2.1.5 ok"),
                                  ("<@relay.test:c@d.test>", 250, "2.1.5 ok")]:
            self.assertReply(c.cmd("RCPT TO:" + rcpt), code, words, rcpt)

    def test_future_release_params(self):
        c = self.authed()
        now = datetime.datetime.now(datetime.timezone.utc)
        ok = ["HOLDFOR=10", "HOLDFOR=5184000", "HOLDUNTIL=" + (now + datetime.timedelta(days=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")]
        for p in ok:
            self.assertReply(c.cmd(f"MAIL FROM:<{USER}> {p}"), 250, "2.1.0 ok", p)
            c.cmd("RSET")
        past = (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        far = (now + datetime.timedelta(days=61)).strftime("%Y-%m-%dT%H:%M:%SZ")
        bad = [("HOLDFOR=5184001", 554, "5.5.4 future release interval too far in the future"),
               ("HOLDFOR=1234567890", 554, "5.5.4 future release interval too far in the future"),
               (f"HOLDUNTIL={past}", 554, "5.5.4 requested future release time is in the past"),
               (f"HOLDUNTIL={far}", 554, "5.5.4 requested future release time is too far in the future"),
               (f"HOLDFOR=10 HOLDUNTIL={far}", 501, "5.5.4 cannot use both HOLDUNTIL and HOLDFOR"),
               ("HOLDFOR=x", 501, "5.5.4 bad HOLDFOR parameter"),
               ("HOLDUNTIL=tomorrow", 501, "5.5.4 bad HOLDUNTIL parameter"),
               ("REQUIRETLS", 523, "5.7.10 requiretls only allowed on tls-encrypted connections")]
        for p, code, words in bad:
            self.assertReply(c.cmd(f"MAIL FROM:<{USER}> {p}"), code, words, p)

    def test_login_disabled(self):
        self.srv.cli("config", "account", "disable", "bob", "moved to the new server")
        try:
            c = self.conn("submission")
            c.ehlo()
            self.assertReply(c.cmd("AUTH PLAIN " + plain("bob@other.test", "wrong")), 535,
                             "5.7.8 authentication failed")
            self.assertReply(c.cmd("AUTH PLAIN " + plain("bob@other.test", PASSWORD)), 525,
                             "5.7.13 login disabled for account: moved to the new server")
            r, _ = smtp_scram(c, "SCRAM-SHA-256", "bob@other.test", PASSWORD)
            self.assertReply(r, 525, "5.7.13 login disabled for account: moved to the new server")
            self.assertReply(c.cmd("MAIL FROM:<bob@other.test>"), 530, "5.7.0 authentication required")
        finally:
            self.srv.cli("config", "account", "enable", "bob")
        self.authed("bob@other.test")

    def test_password_cli(self):
        r = self.srv.cli("config", "account", "password", "nosuch", input="x", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no account nosuch", r.stderr)
        r = self.srv.cli("config", "account", "password", "bob", input="", check=False)
        self.assertEqual(r.returncode, 1)
        self.srv.set_password("bob", "second password")
        c = self.conn("submission")
        c.ehlo()
        self.assertReply(c.cmd("AUTH PLAIN " + plain("bob@other.test", PASSWORD)), 535)
        self.authed("bob@other.test", "second password")
        self.srv.set_password("bob", PASSWORD)

    def test_send_limits(self):
        """Limits count committed messages only: until the queue lands every commit fails
        (451 4.3.0), and then nothing may be used up; with the queue the third message and
        the third first-time recipient hit the limits."""
        live = self.queue_cli()
        c = self.authed("capped@other.test")
        self.assertQueued(c, self.send(c, "capped@other.test", ["a@remote.test", "b@remote.test"],
                                       msg("capped@other.test")))
        r = self.send(c, "capped@other.test", ["c@remote.test"], msg("capped@other.test"))
        if live:
            self.assertReply(r, 451, "4.7.1 max number of messages (2) over past 24h reached, try increasing "
                                     "per-account setting MaxOutgoingMessagesPerDay")
        else:
            self.assertQueued(c, r)
        c = self.authed("capped@other.test")
        self.assertReply(self.send(c, "capped@other.test", ["a@r.test", "b@r.test", "c@r.test"],
                                   msg("capped@other.test")), 451,
                         "4.7.1 max number of messages (2) over past 24h reached, try increasing "
                         "per-account setting MaxOutgoingMessagesPerDay")
        d = self.authed("fresh@other.test")
        self.assertQueued(d, self.send(d, "fresh@other.test", ["a@remote.test", "b@REMOTE.test"],
                                       msg("fresh@other.test")))
        r = self.send(d, "fresh@other.test", ["c@remote.test"], msg("fresh@other.test"))
        if live:
            self.assertReply(r, 451, "4.7.1 max number of new/first-time recipients (2) over past 24h reached, "
                                     "try increasing per-account setting MaxFirstTimeRecipientsPerDay")
            # Known recipients (the domain compared without case) are not first-time ones.
            d = self.authed("fresh@other.test")
            self.assertQueued(d, self.send(d, "fresh@other.test", ["a@Remote.Test", "b@remote.test"],
                                           msg("fresh@other.test")))
        else:
            self.assertQueued(d, r)

    def test_fromid(self):
        c = self.authed()
        r = self.send(c, "noreply+mine@example.test", ["a@remote.test", "b@remote.test"], msg("noreply@example.test"))
        self.assertReply(r, 554, "5.5.3 cannot send to multiple recipients with chosen fromid")
        c = self.authed()
        self.assertQueued(c, self.send(c, "noreply+mine@example.test", ["a@remote.test"], msg("noreply@example.test")))
        c = self.authed()
        self.assertQueued(c, self.send(c, "noreply@example.test", ["a@remote.test", "b@remote.test"],
                                       msg("noreply@example.test")))
        if not self.queue_cli():
            return  # uniqueness is checked when the queue adds the records
        c = self.authed()
        r = self.send(c, "noreply+mine@example.test", ["c@remote.test"], msg("noreply@example.test"))
        self.assertReply(r, 554, "5.1.7 bad fromid in smtp mail from address: fromid not unique")

    def queue_records(self):
        recs = {}
        for line in self.srv.cli("queue", "list").stdout.splitlines():
            rec = json.loads(self.srv.cli("queue", "print", line.split(" ", 1)[0]).stdout)
            recs[rec["RecipientLocalpart"] + "@" + rec["RecipientDomainStr"]] = rec
        return recs

    def test_record_fields_in_queue(self):
        """smtp.md §13 steps 6, 8, 9, 11: what the submission puts into the queue record."""
        if not self.queue_cli():
            self.skipTest("needs the queue (tern queue): waits for the queue merge")
        c = self.authed()
        body = msg(extra="X-Tern-Extra-user-id: 42\r\nx-tern-extra-Campaign:  spring\r\n sale \r\n"
                         "TLS-Required: No\r\n")
        self.assertReply(self.send(c, USER, ["fields@remote.test"], body, params=" HOLDFOR=600"), 250)
        rec = self.queue_records()["fields@remote.test"]
        self.assertEqual((rec["SenderAccount"], rec["SenderLocalpart"], rec["SenderDomainStr"]),
                         ("app", "app", "example.test"))
        self.assertEqual(rec["Extra"], {"User-Id": "42", "Campaign": "spring sale"})
        self.assertIs(rec["RequireTLS"], False)
        self.assertEqual(rec["FutureReleaseRequest"], "for;600")
        self.assertEqual(rec["Subject"], "hello")
        self.assertRegex(rec["MessageID"], r"^<[A-Za-z0-9_-]{22}@mail\.example\.test>$")
        self.assertEqual((rec["Has8bit"], rec["SMTPUTF8"], rec["FromID"]), (False, False, ""))

    def test_dsn_params_in_queue_record(self):
        """badinput #32-#34 / smtp.md §9: decoded DSN parameters are stored in the queue record."""
        if not self.queue_cli():
            self.skipTest("needs the queue (tern queue): waits for the queue merge")
        c = self.authed()
        self.assertReply(c.cmd(f"MAIL FROM:<{USER}> RET=HDRS ENVID=id+2B1"), 250)
        self.assertReply(c.cmd("RCPT TO:<dsn-bob@remote.test> NOTIFY=SUCCESS,FAILURE "
                               "ORCPT=rfc822;bob+2Bx@remote.test"), 250)
        self.assertReply(c.cmd("RCPT TO:<dsn-carol@remote.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(msg())
        self.assertReply(c.reply(), 250, "2.0.0 queued")
        recs = self.queue_records()
        bob, carol = recs["dsn-bob@remote.test"], recs["dsn-carol@remote.test"]
        self.assertEqual((bob["EnvID"], bob["Ret"], bob["Notify"], bob["ORcpt"]),
                         ("id+1", "HDRS", "SUCCESS,FAILURE", "rfc822;bob+x@remote.test"))
        self.assertEqual((carol["EnvID"], carol["Ret"], carol["Notify"], carol["ORcpt"]), ("id+1", "HDRS", "", ""))


RELAY = {"NoRequireSTARTTLS": True, "RelayNetworks": ["127.0.0.1/32"], "RelayAccount": "app"}


class Relay(SubmissionCase):
    server_kwargs = dict(submission=RELAY)
    passwords = {"app": PASSWORD}

    def test_relay_without_auth(self):
        before = self.srv.metrics()
        c = self.conn("submission")
        c.ehlo()
        self.assertIn("AUTH", c.ext(c.cmd("EHLO client.test")))
        for sender, code, words in [("anyone@example.test", 250, "2.1.0 ok"), ("bob@other.test", 250, "2.1.0 ok"),
                                    ("", 250, "2.1.0 ok"),
                                    ("x@foreign.test", 550, "5.7.1 relaying denied for sender domain"),
                                    ("app@off.test", 451, "4.3.0 domain of smtp mail from is temporarily disabled")]:
            self.assertReply(c.cmd(f"MAIL FROM:<{sender}>"), code, words, sender)
            c.cmd("RSET")
        self.assertQueued(c, self.send(c, "bob@other.test", ["someone@remote.test"], msg("bob@other.test")))
        # Each decision is logged with the client IP and counted (smtp.md §13a).
        after = self.srv.metrics()
        for result, n in [("accepted", 4), ("denied", 1)]:
            key = f'tern_smtp_relay_total{{result="{result}"}}'
            self.assertEqual(after.get(key, 0) - before.get(key, 0), n, key)
        self.assertGreaterEqual(self.log_count(f'msg="relay accepted" cid={c.rid} ip=127.0.0.1 account=app'), 4)
        self.assertGreaterEqual(self.log_count(f'msg="relay refused for sender domain" cid={c.rid} ip=127.0.0.1'), 1)
        d = self.conn("submission")
        d.ehlo()
        self.assertReply(self.send(d, "bob@other.test", ["someone@remote.test"], msg("x@foreign.test")), 550,
                         "5.7.1 relaying denied for sender domain")
        # HELO is enough for a relay client.
        e = self.conn("submission")
        e.cmd("HELO client.test")
        self.assertReply(e.cmd("MAIL FROM:<bob@other.test>"), 250)
        self.assertReply(e.cmd("AUTH PLAIN " + plain(USER, PASSWORD)), 503, "5.5.1 send EHLO first")

    def test_auth_during_transaction_and_authenticated_relay_client(self):
        c = self.conn("submission")
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<bob@other.test>"), 250)
        self.assertReply(c.cmd("AUTH PLAIN " + plain(USER, PASSWORD)), 503,
                         "5.5.1 not allowed during mail transaction")
        c.cmd("RSET")
        self.assertReply(c.cmd("AUTH PLAIN " + plain(USER, PASSWORD)), 235)
        # Authenticated: the must-match rule applies again.
        self.assertReply(c.cmd("MAIL FROM:<bob@other.test>"), 550, "5.7.1 must match authenticated user")

    def test_client_outside_relay_networks(self):
        s = socket.create_connection(("127.0.0.1", self.srv.ports["submission"]), timeout=10,
                                     source_address=("127.0.0.2", 0))
        c = Conn(self.srv.ports["submission"], sock=s)
        self.addCleanup(c.close)
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<bob@other.test>"), 530, "5.7.0 authentication required")


class RelayAnySender(SubmissionCase):
    server_kwargs = dict(submission={**RELAY, "RelayAnySender": True})

    def test_any_sender_but_not_disabled(self):
        c = self.conn("submission")
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<x@foreign.test>"), 250)
        c.cmd("RSET")
        self.assertQueued(c, self.send(c, "y@foreign.test", ["someone@remote.test"], msg("z@foreign.test")))
        self.assertReply(c.cmd("MAIL FROM:<app@off.test>"), 451, "4.3.0 domain of smtp mail from is temporarily disabled")
        c.cmd("RSET")
        self.assertReply(self.send(c, "x@foreign.test", ["someone@remote.test"], msg("app@off.test")), 451,
                         "4.3.0 domain of message from header is temporarily disabled")


class RelayAuthThenSTARTTLS(SubmissionCase):
    """A relay client that authenticated, then did STARTTLS: the AUTH is forgotten, so
    its next MAIL without AUTH is relayed for RelayAccount, not for the earlier login."""
    server_kwargs = dict(tls=True, submission=RELAY)
    passwords = {"bob": PASSWORD}

    def test_account_reset_by_starttls(self):
        c = self.conn("submission")
        c.ehlo()
        self.assertReply(c.cmd("AUTH PLAIN " + plain("bob@other.test", PASSWORD)), 235)
        c.starttls(self.tls_ctx())
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<noreply@example.test>"), 250)  # relay path: no AUTH now
        self.assertEqual(self.log_count(f'msg="relay accepted" cid={self.srv_rid(c)} ip=127.0.0.1 account=app'), 1,
                         self.srv.log()[-3000:])

    def srv_rid(self, c):
        c.cmd("FOO")  # an error reply carries the receivedid
        return c.rid


class RelaySTARTTLS(SubmissionCase):
    """RelayNetworks on 587 without NoRequireSTARTTLS: MAIL needs TLS first."""
    server_kwargs = dict(tls=True, submission={"RelayNetworks": ["127.0.0.0/8"], "RelayAccount": "app"})

    def test_relay_needs_starttls(self):
        c = self.conn("submission")
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<bob@other.test>"), 530, "5.7.0 STARTTLS required")
        c.starttls(self.tls_ctx())
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<bob@other.test> REQUIRETLS"), 250)


if __name__ == "__main__":
    main()

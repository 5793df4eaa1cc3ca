"""MX end of data and RCPT policy against the real `tern serve` with a loopback NSD
(smtp.md §4 DNSBL, §9 DSNs for incoming mail, §11 incoming rate limits and quota, §14
multiple errors; RFC 8601 §5 Authentication-Results of our own host name removed).

DSNs about incoming mail are queued; the test servers hold every queued record (hold
rule), so each DSN is read back with `tern queue list`, `queue print` (JSON) and `queue
dump` (the raw message, parsed with Python's email package; its DKIM signature is
verified with Debian's dkimpy against the key's public half)."""
import base64
import email
import email.policy
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import dkim

from ternlib.smtpcase import DOMAINS, ServerCase, main
from ternlib.smtpclient import Conn

HOST = "mail.example.test"
KEYDIR = tempfile.mkdtemp(prefix="tern-mxdelivery-keys-")
KEY = os.path.join(KEYDIR, "dkim.pem")
subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", KEY], check=True, capture_output=True,
               timeout=30)
PUB = subprocess.run(["openssl", "pkey", "-in", KEY, "-pubout", "-outform", "DER"], check=True,
                     capture_output=True, timeout=30).stdout[-32:]
DKIM_TXT = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(PUB)


def tearDownModule():
    shutil.rmtree(KEYDIR, ignore_errors=True)


class Helpers:
    def send(self, rcpts, sender="someone@sender.test", body=None, mail_params="", c=None, rcpt_params=None):
        """One transaction; returns the final reply (asserts that every RCPT got 250)."""
        if c is None:
            c = self.conn()
            c.ehlo()
        self.assertReply(c.cmd(f"MAIL FROM:<{sender}>{mail_params}"), 250)
        for r in rcpts:
            p = (rcpt_params or {}).get(r, "")
            self.assertReply(c.cmd(f"RCPT TO:<{r}>{p}"), 250, None, r)
        self.assertReply(c.cmd("DATA"), 354)
        if body is None:
            body = "From: someone@sender.test\r\nSubject: hello\r\nMessage-Id: <m1@sender.test>\r\n\r\nhi\r\n"
        return c.cmd(body + ".")

    def delta(self, before, key):
        """How much the metric series key moved since the metrics snapshot before."""
        return self.srv.metrics().get(key, 0.0) - before.get(key, 0.0)

    def queue_records(self):
        out = self.srv.cli("queue", "list").stdout
        return {int(l.split(" ", 1)[0]): l for l in out.splitlines() if l}

    def new_records(self, before):
        return {k: v for k, v in self.queue_records().items() if k not in before}

    def dump(self, qid):
        r = subprocess.run([os.environ.get("TERN_BIN", "tern"), "-config", self.srv.config, "queue", "dump", str(qid)],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def print_rec(self, qid):
        return json.loads(self.srv.cli("queue", "print", str(qid)).stdout)

    def parse_dsn(self, raw):
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""), "bare LF in the DSN")
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        parts = msg.get_payload()
        self.assertEqual(len(parts), 3, [p.get_content_type() for p in parts])
        self.assertEqual(parts[1].get_content_type(), "message/delivery-status")
        # message/delivery-status: the per-message block, then one block per recipient
        blocks = [dict(b.items()) for b in parts[1].get_payload()]
        return msg, parts, blocks


class DNSBL(ServerCase, Helpers):
    # bl.test lists 127.0.0.5 and its test entry 127.0.0.2 (healthy); broken.test lists
    # 127.0.0.6 but not 127.0.0.2; all.test lists everything, 127.0.0.1 too (both unhealthy).
    dns_records = """
        2.0.0.127.bl      A  127.0.0.2
        5.0.0.127.bl      A  127.0.0.2
        5.0.0.127.bl      TXT "listed for testing"
        6.0.0.127.broken  A  127.0.0.2
        *.all             A  127.0.0.2
    """
    server_kwargs = {"smtp": {"DNSBLs": ["all.test", "broken.test", "bl.test"]}}

    def from_ip(self, ip):
        s = socket.create_connection(("127.0.0.1", self.srv.ports["smtp"]), timeout=10, source_address=(ip, 0))
        c = Conn(self.srv.ports["smtp"], sock=s)
        self.addCleanup(c.close)
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<someone@sender.test>"), 250)
        return c

    def test_listed_client(self):
        c = self.from_ip("127.0.0.5")
        self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 550, "5.7.1 your ip is listed in bl.test")
        self.assertReply(c.cmd("RCPT TO:<bob@other.test>"), 550, "5.7.1 your ip is listed in bl.test")
        # postmaster stays reachable (smtp.md §4)
        for pm in ["postmaster", "postmaster@example.test", f"postmaster@{HOST}"]:
            self.assertReply(c.cmd(f"RCPT TO:<{pm}>"), 250, "2.1.5 ok", pm)
        # Other refusals come first: an unknown user is not a DNSBL question.
        self.assertReply(c.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1 no such user")

    def test_unlisted_and_unhealthy_zones(self):
        for ip in ["127.0.0.1", "127.0.0.6", "127.0.0.7"]:
            c = self.from_ip(ip)
            self.assertReply(c.cmd("RCPT TO:<admin@example.test>"), 250, "2.1.5 ok", ip)

    def test_zone_health_is_cached(self):
        for ip in ["127.0.0.1", "127.0.0.5", "127.0.0.8"]:
            c = self.from_ip(ip)
            c.cmd("RCPT TO:<admin@example.test>")
        self.assertEqual(self.log_count("dnsbl zone unhealthy; not used\" zone=all.test"), 1)
        self.assertEqual(self.log_count("dnsbl zone unhealthy; not used\" zone=broken.test"), 1)
        self.assertEqual(self.log_count("zone=bl.test"), self.log_count("client ip listed in dnsbl"))


DSN_DOMAINS = f"""Domains:
  example.test:
    LocalpartCatchallSeparator: "+"
    DKIM:
      Selectors:
        sel1:
          PrivateKeyFile: {KEY}
      Sign: [sel1]
  other.test: {{}}
Accounts:
  admin:
    Domain: example.test
    Destinations:
      admin@example.test: {{}}
  carol:
    Domain: example.test
    Destinations:
      carol@example.test: {{}}
      gone@example.test: {{}}
  bob:
    Domain: other.test
    Destinations:
      bob@other.test: {{}}
    QuotaMessageSize: 1
"""


class IncomingDSN(ServerCase, Helpers):
    server_kwargs = {"domains": DSN_DOMAINS}

    def dkim_ok(self, raw):
        def dnsfunc(name, timeout=5):
            name = name.encode() if isinstance(name, str) else name
            return DKIM_TXT if name.rstrip(b".") == b"sel1._domainkey.example.test" else None
        return dkim.verify(raw, dnsfunc=dnsfunc)

    def test_notify_success_delivered_dsn(self):
        before = self.queue_records()
        m0 = self.srv.metrics()
        r = self.send(["admin@example.test", "carol@example.test"], mail_params=" ENVID=env+2B1",
                      rcpt_params={"admin@example.test": " NOTIFY=SUCCESS ORCPT=rfc822;orig@example.test"})
        self.assertReply(r, 250, "2.0.0 delivered")
        new = self.new_records(before)
        self.assertEqual(len(new), 1, new)
        qid, line = next(iter(new.items()))
        self.assertIn(" from:<> to:someone@sender.test ", line)
        rec = self.print_rec(qid)
        self.assertEqual(rec["SenderAccount"], "admin")  # the postmaster account
        raw = self.dump(qid)
        msg, parts, blocks = self.parse_dsn(raw)
        self.assertEqual(msg["From"], "<postmaster@example.test>")
        self.assertEqual(msg["To"], "<someone@sender.test>")
        self.assertEqual(msg["Subject"], "mail delivery report")
        self.assertEqual(msg["References"], "<m1@sender.test>")
        self.assertIn("s=sel1", msg["DKIM-Signature"])
        self.assertTrue(self.dkim_ok(raw), "DKIM signature of the DSN does not verify")
        self.assertEqual(self.delta(m0, 'tern_dkim_sign_total{key="ed25519"}'), 1)
        self.assertEqual(self.delta(m0, 'tern_smtpserver_delivery_total{result="accept",reason="ok"}'), 1)
        self.assertEqual(blocks[0]["Reporting-MTA"], f"dns; {HOST}")
        self.assertTrue(blocks[0]["Received-From-MTA"].startswith("dns; "), blocks[0])
        self.assertEqual(blocks[0]["Original-Envelope-Id"], "env+2B1")
        # only admin asked for SUCCESS: one recipient block
        self.assertEqual(len(blocks), 2, blocks)
        self.assertEqual(blocks[1]["Final-Recipient"], "rfc822; admin@example.test")
        self.assertEqual(blocks[1]["Original-Recipient"], "rfc822; orig@example.test")
        self.assertEqual(blocks[1]["Action"], "delivered")
        self.assertTrue(blocks[1]["Status"].startswith("2."), blocks[1])
        # headers only without RET=FULL
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")

    def test_no_dsn_for_null_sender_never_or_default(self):
        before = self.queue_records()
        self.assertReply(self.send(["admin@example.test"], sender="",
                                   rcpt_params={"admin@example.test": " NOTIFY=SUCCESS"}), 250)
        self.assertReply(self.send(["admin@example.test"], rcpt_params={"admin@example.test": " NOTIFY=NEVER"}), 250)
        self.assertReply(self.send(["admin@example.test"]), 250)  # no NOTIFY: FAILURE,DELAY only
        self.assertEqual(self.new_records(before), {})

    def test_partial_failure_dsn(self):
        """bob is over quota: the message is delivered to admin, 250, and one failure DSN
        covers bob; NOTIFY=NEVER keeps a recipient out."""
        before = self.queue_records()
        m0 = self.srv.metrics()
        body = ("From: someone@sender.test\r\nSubject: partly\r\nMessage-Id: <m2@sender.test>\r\n\r\n" +
                "body line\r\n")
        r = self.send(["admin@example.test", "bob@other.test"], body=body, mail_params=" RET=FULL",
                      rcpt_params={"admin@example.test": " NOTIFY=SUCCESS,FAILURE"})
        self.assertReply(r, 250, "2.0.0 delivered")
        new = self.new_records(before)
        self.assertEqual(len(new), 2, new)  # the failure DSN and admin's delivered DSN
        kinds = {}
        for qid in new:
            msg, parts, blocks = self.parse_dsn(self.dump(qid))
            kinds[msg["Subject"]] = (msg, parts, blocks)
        msg, parts, blocks = kinds["mail delivery failure"]
        self.assertEqual(msg["From"], "<postmaster@other.test>")  # the failed recipient's domain
        self.assertEqual([b.get("Final-Recipient") for b in blocks[1:]], ["rfc822; bob@other.test"])
        self.assertEqual(blocks[1]["Action"], "failed")
        self.assertEqual(blocks[1]["Status"], "5.2.2 (account storage full)")
        # RET=FULL: the message as stored, our headers first
        self.assertEqual(parts[2].get_content_type(), "message/rfc822")
        orig = parts[2].get_payload()[0]
        self.assertEqual(orig["Subject"], "partly")
        self.assertIn(HOST, orig["Authentication-Results"])
        self.assertIn("body line", orig.get_payload())
        self.assertIn("mail delivery report", kinds)
        # NOTIFY=NEVER on the failed recipient: only the delivered DSN
        before = self.queue_records()
        r = self.send(["admin@example.test", "bob@other.test"],
                      rcpt_params={"bob@other.test": " NOTIFY=NEVER", "admin@example.test": " NOTIFY=SUCCESS"})
        self.assertReply(r, 250)
        subjects = {self.parse_dsn(self.dump(q))[0]["Subject"] for q in self.new_records(before)}
        self.assertEqual(subjects, {"mail delivery report"})
        # reporting.md §8: both messages were accepted for some recipients only
        self.assertEqual(self.delta(m0, 'tern_smtpserver_delivery_total{result="accept",reason="partial"}'), 2)
        self.assertEqual(self.delta(m0, 'tern_smtpserver_delivery_total{result="accept",reason="ok"}'), 0)

    def test_all_failed_and_multiple_errors(self):
        before = self.queue_records()
        m0 = self.srv.metrics()
        # every recipient failed with the same code: that reply, no DSN
        self.assertReply(self.send(["bob@other.test"]), 452, "4.2.2 account storage full")
        # different codes: gone@example.test removed from the config between RCPT and DATA
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<someone@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<bob@other.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<gone@example.test>"), 250)
        path = os.path.join(self.srv.dir, "domains.conf")
        with open(path) as f:
            orig = f.read()
        with open(path + ".new", "w") as f:
            f.write(orig.replace("      gone@example.test: {}\n", ""))
        os.replace(path + ".new", path)
        try:
            deadline = time.monotonic() + 10
            while True:
                probe = self.conn()
                probe.ehlo()
                probe.cmd("MAIL FROM:<someone@sender.test>")
                if probe.cmd("RCPT TO:<gone@example.test>").code == 550:
                    break
                self.assertLess(time.monotonic(), deadline, "domains.conf change not reloaded")
                time.sleep(0.2)
            self.assertReply(c.cmd("DATA"), 354)
            r = c.cmd("Subject: x\r\n\r\nx\r\n.")
        finally:
            with open(path + ".new", "w") as f:
                f.write(orig)
            os.replace(path + ".new", path)
        self.assertEqual(r.code, 451, r)
        self.assertEqual(r.lines, ["4.3.0 452 4.2.2 account storage full",
                                   "4.3.0 451 4.3.0 recipient no longer configured",
                                   f"4.3.0 multiple errors ({c.rid})"])
        self.assertEqual(self.new_records(before), {})
        self.assertEqual(self.delta(m0, 'tern_smtpserver_delivery_total{result="reject",reason="quota"}'), 1)
        self.assertEqual(self.delta(m0, 'tern_smtpserver_delivery_total{result="reject",reason="mixed"}'), 1)
        key = 'tern_smtpserver_command_duration_seconds_count{kind="mx",cmd="data",code="451",ecode="4.3.0"}'
        self.assertEqual(self.delta(m0, key), 1)

    def test_own_authentication_results_removed(self):
        """Fields claiming our host name go (RFC 8601 §5), others stay byte for byte, the body
        is untouched; seen through the RET=FULL delivered DSN, which carries the stored message."""
        before = self.queue_records()
        body = ("Authentication-Results: mail.example.test; spf=pass smtp.mailfrom=forged@example.test\r\n"
                "From: someone@sender.test\r\n"
                "Authentication-Results: other.example;\r\n\tdkim=pass header.d=x\r\n"
                "authentication-results:  \"MAIL.EXAMPLE.TEST\" (forged);\r\n dmarc=pass\r\n"
                "Authentication-Results: mail.example.test.evil; none\r\n"
                "Subject: ar\r\n\r\n"
                "Authentication-Results: mail.example.test; body text stays\r\n")
        n = self.log_count("removed authentication-results")
        r = self.send(["admin@example.test"], body=body, mail_params=" RET=FULL",
                      rcpt_params={"admin@example.test": " NOTIFY=SUCCESS"})
        self.assertReply(r, 250)
        (qid,) = self.new_records(before)
        raw = self.dump(qid)
        orig = raw[raw.index(b"Content-Type: message/rfc822"):]
        self.assertIn(b"\r\n\r\nAuthentication-Results: mail.example.test; body text stays\r\n", orig)
        stored = orig.split(b"\r\n\r\n", 1)[1]
        head = stored.split(b"\r\n\r\n", 1)[0] + b"\r\n"
        self.assertIn(b"From: someone@sender.test\r\n"
                      b"Authentication-Results: other.example;\r\n\tdkim=pass header.d=x\r\n"
                      b"Authentication-Results: mail.example.test.evil; none\r\n"
                      b"Subject: ar\r\n", head)
        self.assertNotIn(b"forged", head)
        self.assertEqual(len(re.findall(rb"(?im)^authentication-results:", head)), 3, head)  # ours + 2 kept
        self.assertTrue(head.startswith(f"Authentication-Results: {HOST};".encode()), head[:200])
        self.assertEqual(self.log_count("removed authentication-results"), n + 1)


LIMIT_DOMAINS = """Domains:
  example.test: {}
  other.test: {}
Accounts:
  admin:
    Domain: example.test
    Destinations:
      admin@example.test: {}
  app:
    Domain: example.test
    Destinations:
      app@example.test: {}
  dave:
    Domain: example.test
    Destinations:
      dave@example.test: {}
  bob:
    Domain: other.test
    Destinations:
      bob@other.test: {}
    QuotaMessageSize: 3000
"""


class IncomingLimits(ServerCase, Helpers):
    server_kwargs = {"domains": LIMIT_DOMAINS,
                     "limits": {"IncomingMessagesPerMinute": [3, 1000, 1000],
                                "IncomingBytesPerMinute": [20000, 1000000, 1000000]}}

    def test_messages_per_minute(self):
        m0 = self.srv.metrics()
        for i in range(3):
            self.assertReply(self.send(["admin@example.test"]), 250, "2.0.0 delivered")
        self.assertReply(self.send(["admin@example.test"]), 452, "4.2.2 rate limit reached, try again later")
        # per destination account
        self.assertReply(self.send(["dave@example.test"]), 250)
        self.assertEqual(self.delta(m0, 'tern_smtpserver_delivery_total{result="accept",reason="ok"}'), 4)
        self.assertEqual(self.delta(m0, 'tern_smtpserver_delivery_total{result="reject",reason="ratelimit"}'), 1)

    def test_bytes_per_minute(self):
        big = "From: someone@sender.test\r\nSubject: big\r\n\r\n" + ("x" * 998 + "\r\n") * 25
        self.assertReply(self.send(["app@example.test"], body=big), 452,
                         "4.2.2 rate limit reached, try again later")
        self.assertReply(self.send(["app@example.test"]), 250)

    def test_quota(self):
        """QuotaMessageSize 3000 for bob: the stored-bytes counter grows by each message's size
        (prefix included) until one more would pass the quota."""
        body = "From: someone@sender.test\r\nSubject: q\r\n\r\n" + "y" * 700 + "\r\n"
        n = 0
        for _ in range(5):
            r = self.send(["bob@other.test"], body=body)
            if r.code != 250:
                break
            n += 1
        self.assertReply(r, 452, "4.2.2 account storage full")
        dump = self.srv.cli("store", "dump", "accounts").stdout
        m = re.search(r"accounts a/bob/c/storedbytes (\d+)", dump)
        self.assertTrue(m, dump)
        stored = int(m.group(1))
        sizes = [int(x) for x in re.findall(r"a/bob/m/\S+ mailmsg/v1 .*?Size=(\d+)", dump)]
        self.assertEqual(len(sizes), n)
        self.assertEqual(sum(sizes), stored)
        self.assertGreaterEqual(n, 1)
        self.assertLessEqual(stored, 3000)
        self.assertGreater(stored + max(sizes), 3000)


if __name__ == "__main__":
    main()

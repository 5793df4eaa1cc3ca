"""SMTP AUTH against the real `tern serve` (smtp.md §7, §12; badinput #38-#44).

Clients: Python smtplib (PLAIN, LOGIN, CRAM-MD5), our own SCRAM client written from
the RFCs (ternlib/scram.py, hashlib/hmac only), channel bindings from two TLS stacks
(Python ssl `tls-unique` on TLS 1.2; `openssl s_client -keymatexport` for
`tls-exporter` on TLS 1.3), and two clients nobody here wrote: GNU SASL's `gsasl`
(libgsasl + GnuTLS; SCRAM-SHA-1/256-PLUS succeed with tls-exporter on TLS 1.3 and
tls-unique on TLS 1.2) and Cyrus SASL's `smtptest`.

smtptest and -PLUS: smtptest 3.6.1 (cyrus-clients, libsasl2 2.1.28) sends
`AUTH SCRAM-SHA-256` — the mechanism name without -PLUS — with a GS2 header
`p=tls-unique`, and it only knows tls-unique (RFC 5929), which RFC 9266 replaces by
tls-exporter on TLS 1.3. Tern fails that exchange (p= under a non-PLUS mechanism;
on TLS 1.3 also the wrong binding type), so test_smtptest_plus asserts the refusal
and the exact client behaviour, and the -PLUS success paths use the other clients."""
import base64
import hmac
import hashlib
import os
import re
import smtplib
import ssl
import subprocess
import time

from ternlib.sclient import SClient
from ternlib.scram import Scram, b64, smtp_scram, unb64
from ternlib.smtpcase import PASSWORD, ServerCase, main

USER = "app@example.test"
SMTPTEST = "/usr/lib/cyrus/bin/smtptest"
GSASL = "/usr/bin/gsasl"
HIGH = [1000, 1000, 1000]


def plain(authz, user, pw):
    return b64(f"{authz}\0{user}\0{pw}".encode())


class AuthCase(ServerCase):
    passwords = {"app": PASSWORD, "admin": "admin-pass-1"}

    def tls_sub(self, tls_max=None):
        """A submission connection after STARTTLS and EHLO."""
        c = self.conn("submission")
        c.ehlo()
        c.starttls(self.tls_ctx(maximum=tls_max) if tls_max else self.tls_ctx())
        c.ehlo()
        return c

    def scram_fail(self, c, mech, user, pw, proof=None, **kw):
        """Runs a SCRAM exchange that must fail; returns the final reply (535 or 501)."""
        sc = Scram("sha256" if "256" in mech else "sha1", user, pw, **kw)
        r = c.cmd(f"AUTH {mech} {b64(sc.client_first())}")
        if r.code == 334:
            r = c.cmd(b64(sc.client_final(unb64(r.text), proof_override=proof)))
        if r.code == 334:  # server-final with e=...; the client answers and gets the 535
            self.assertTrue(unb64(r.text).startswith(b"e="), r)
            r = c.cmd("")
        return r


class Auth(AuthCase):
    server_kwargs = dict(tls=True, submissions=True, submission={},
                         limits={"AuthFailuresPerMinute": HIGH, "AuthFailuresPerDay": HIGH})

    # ---- smtplib: PLAIN, LOGIN, CRAM-MD5 ----

    def test_smtplib_mechanisms(self):
        for mech in ["PLAIN", "LOGIN", "CRAM-MD5"]:
            with smtplib.SMTP("127.0.0.1", self.srv.ports["submission"], local_hostname="client.test",
                              timeout=20) as m:
                m._host = "mail.example.test"  # the name smtplib checks the certificate against
                m.starttls(context=self.tls_ctx())
                m.ehlo("client.test")
                m.user, m.password = USER, PASSWORD
                code, resp = m.auth(mech, getattr(m, "auth_" + mech.lower().replace("-", "_")),
                                    initial_response_ok=(mech == "PLAIN"))
                self.assertEqual((code, resp), (235, b"2.7.0 authentication successful"), mech)
                self.assertEqual(m.mail(USER), (250, b"2.1.0 ok"))
            with smtplib.SMTP("127.0.0.1", self.srv.ports["submission"], timeout=20) as m:
                m._host = "mail.example.test"
                m.starttls(context=self.tls_ctx())
                m.user, m.password = USER, "wrong password"
                with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                    m.ehlo()
                    m.auth(mech, getattr(m, "auth_" + mech.lower().replace("-", "_")))
                self.assertEqual(e.exception.smtp_code, 535)
                self.assertTrue(e.exception.smtp_error.startswith(b"5.7.8 authentication failed ("))

    def test_plain_forms(self):
        c = self.tls_sub()
        self.assertEqual(c.cmd("AUTH PLAIN").raw, b"334 \r\n")  # no initial response: empty challenge
        self.assertReply(c.cmd(plain("", USER, PASSWORD)), 235, "2.7.0 authentication successful")
        self.assertReply(c.cmd("AUTH PLAIN " + plain("", USER, PASSWORD)), 503, "5.5.1 already authenticated")
        # authzid equal to the user is fine; a foreign one fails.
        c = self.tls_sub()
        self.assertReply(c.cmd("AUTH PLAIN " + plain(USER, USER, PASSWORD)), 235)
        c = self.tls_sub()
        self.assertReply(c.cmd("AUTH PLAIN " + plain("admin@example.test", USER, PASSWORD)), 535,
                         "5.7.8 authentication failed")
        # Mechanism names are case-insensitive; unknown ones are refused.
        self.assertReply(c.cmd("AUTH plain " + plain("", USER, PASSWORD)), 235)
        c = self.tls_sub()
        self.assertReply(c.cmd("AUTH DIGEST-MD5"), 504, "5.5.4 unrecognized authentication mechanism")
        self.assertReply(c.cmd("AUTH"), 501, "5.5.4 syntax: AUTH mechanism [initial-response]")

    def test_plain_malformed(self):
        c = self.tls_sub()
        for data in [b"nonul", b"one\0nul", b"\0a\0b\0c", b"\0\0pw", b"\0" + USER.encode() + b"\0",
                     b"\0" + b"u" * 256 + b"\0pw", b"\0" + USER.encode() + b"\0" + b"p" * 256]:
            self.assertReply(c.cmd("AUTH PLAIN " + b64(data)), 501, "5.5.2 malformed authentication data")
        self.assertReply(c.cmd("AUTH PLAIN ="), 501, "5.5.2 malformed authentication data")
        self.assertReply(c.cmd("AUTH PLAIN " + plain("", USER, PASSWORD + "x")), 535, "5.7.8 authentication failed")
        self.assertReply(c.cmd("AUTH PLAIN " + plain("", "ghost@example.test", PASSWORD)), 535,
                         "5.7.8 authentication failed")

    def test_login_prompts(self):
        c = self.tls_sub()
        self.assertEqual(c.cmd("AUTH LOGIN").raw, b"334 VXNlcm5hbWU6\r\n")
        self.assertEqual(c.cmd(b64(USER.encode())).raw, b"334 UGFzc3dvcmQ6\r\n")
        self.assertReply(c.cmd(b64(PASSWORD.encode())), 235, "2.7.0 authentication successful")
        # The user name as initial response.
        c = self.tls_sub()
        self.assertEqual(c.cmd("AUTH LOGIN " + b64(USER.encode())).raw, b"334 UGFzc3dvcmQ6\r\n")
        self.assertReply(c.cmd(b64(b"nope")), 535, "5.7.8 authentication failed")

    def test_cram_md5_challenge(self):
        c = self.tls_sub()
        r = c.cmd("AUTH CRAM-MD5")
        self.assertEqual(r.code, 334)
        chal = unb64(r.text)
        self.assertRegex(chal, rb"^<[^.@<>]+\.\d+@mail\.example\.test>$")
        stamp = int(re.search(rb"\.(\d+)@", chal).group(1))
        self.assertLess(abs(stamp - time.time()), 300)
        digest = hmac.new(PASSWORD.encode(), chal, hashlib.md5).hexdigest()
        self.assertReply(c.cmd(b64(f"{USER} {digest}".encode())), 235)
        # A second challenge is different.
        d = self.tls_sub()
        self.assertNotEqual(unb64(d.cmd("AUTH CRAM-MD5").text), chal)

    def test_bad_base64_and_abort(self):
        c = self.tls_sub()
        for bad in ["QQ=", "====", "Q===", "QUJD\tRA==", "QUJDRA=", "QUJDR", "QUJDRA=x", "QR==", "QUI=x"]:
            self.assertReply(c.cmd("AUTH PLAIN " + bad), 501, "5.5.2 invalid base64", bad)
        d = self.tls_sub()
        self.assertReply(d.cmd("AUTH LOGIN"), 334)
        self.assertReply(d.cmd("QUJD RA=="), 501, "5.5.2 invalid base64")
        self.assertReply(d.cmd("AUTH LOGIN"), 334)
        self.assertReply(d.cmd("*"), 501, "5.7.0 authentication aborted")
        self.assertReply(d.cmd("AUTH PLAIN " + plain("", USER, PASSWORD)), 235)

    def test_auth_line_too_long(self):
        c = self.tls_sub()
        self.assertReply(c.cmd("AUTH LOGIN"), 334)
        self.assertReply(c.cmd("QUFB" * 3100), 500, "5.5.6 authentication line too long")
        self.assertReply(c.cmd("NOOP"), 250)
        self.assertReply(c.cmd("AUTH PLAIN " + plain("", USER, PASSWORD)), 235)

    # ---- SCRAM ----

    def test_scram_sha1_and_sha256(self):
        for mech in ["SCRAM-SHA-1", "SCRAM-SHA-256"]:
            c = self.tls_sub()
            r, sc = smtp_scram(c, mech, USER, PASSWORD)
            self.assertReply(r, 235, "2.7.0 authentication successful")
            self.assertGreaterEqual(sc.iterations, 4096)
            self.assertReply(c.cmd(f"MAIL FROM:<{USER}>"), 250)
            # Without an initial response: an empty 334 first.
            c = self.tls_sub()
            sc = Scram("sha256" if "256" in mech else "sha1", USER, PASSWORD)
            self.assertEqual(c.cmd(f"AUTH {mech}").raw, b"334 \r\n")
            r = c.cmd(b64(sc.client_first()))
            r = c.cmd(b64(sc.client_final(unb64(r.text))))
            sc.verify_server_final(unb64(r.text))
            self.assertReply(c.cmd(""), 235)

    def test_scram_wrong_password_and_unknown_user(self):
        c = self.tls_sub()
        self.assertReply(self.scram_fail(c, "SCRAM-SHA-256", USER, "wrong"), 535, "5.7.8 authentication failed")
        # Unknown users get a stable fake salt and the same iteration count.
        firsts = []
        for user in ["ghost@example.test", "ghost@example.test", USER]:
            d = self.tls_sub()
            sc = Scram("sha256", user, "x")
            r = d.cmd(f"AUTH SCRAM-SHA-256 {b64(sc.client_first())}")
            self.assertEqual(r.code, 334)
            a = dict(kv.split("=", 1) for kv in unb64(r.text).decode().split(","))
            firsts.append((a["s"], a["i"]))
            self.assertReply(d.cmd("*"), 501, "5.7.0 authentication aborted")
        self.assertEqual(firsts[0], firsts[1])
        self.assertNotEqual(firsts[0][0], firsts[2][0])
        self.assertEqual(firsts[0][1], firsts[2][1])
        e = self.tls_sub()
        self.assertReply(self.scram_fail(e, "SCRAM-SHA-1", "ghost@example.test", "x"), 535)

    def test_scram_malformed(self):
        # badinput #44 (missing n=/r=, bad saslname escape, mandatory m=, p= under a non-PLUS
        # mechanism): 535; syntax that is not SCRAM at all: 501 (smtp.md §7).
        cases = {b"n,,r=abc": 535, b"n,,n=u": 535, b"n,,n=a=2Xb,r=abc": 535, b"n,,m=ext,n=u,r=abc": 535,
                 b"p=tls-unique,,n=u,r=abc": 535, b"x,,n=u,r=abc": 501, b"n,,n=u,r=": 501}
        for first, code in cases.items():
            c = self.tls_sub()  # one per case: no growing delay
            r = c.cmd("AUTH SCRAM-SHA-256 " + b64(first))
            self.assertReply(r, code, "5.7.8 authentication failed" if code == 535
                             else "5.5.2 malformed authentication data", first)
        # A nonce that does not extend ours; a wrong proof.
        d = self.tls_sub()
        sc = Scram("sha256", USER, PASSWORD)
        r = d.cmd("AUTH SCRAM-SHA-256 " + b64(sc.client_first()))
        nonce = dict(kv.split("=", 1) for kv in unb64(r.text).decode().split(","))["r"]
        r = d.cmd(b64(f"c=biws,r={nonce}x,p=AAAA".encode()))
        self.assertEqual(r.code, 334)
        self.assertTrue(unb64(r.text).startswith(b"e="), r)
        self.assertReply(d.cmd(""), 535, "5.7.8 authentication failed")
        e = self.tls_sub()
        self.assertReply(self.scram_fail(e, "SCRAM-SHA-256", USER, PASSWORD, proof=b"\0" * 32), 535,
                         "5.7.8 authentication failed")

    def test_scram_plus_tls_unique_tls12(self):
        for mech in ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"]:
            c = self.tls_sub(tls_max=ssl.TLSVersion.TLSv1_2)
            self.assertEqual(c.sock.version(), "TLSv1.2")
            cb = c.sock.get_channel_binding("tls-unique")
            r, _ = smtp_scram(c, mech, USER, PASSWORD, cb_type="tls-unique", cb_data=cb)
            self.assertReply(r, 235, "2.7.0 authentication successful", mech)
        # Wrong data, and the TLS 1.3 type on TLS 1.2.
        c = self.tls_sub(tls_max=ssl.TLSVersion.TLSv1_2)
        self.assertReply(self.scram_fail(c, "SCRAM-SHA-256-PLUS", USER, PASSWORD, cb_type="tls-unique",
                                         cb_data=b"\0" * 12), 535)
        c = self.tls_sub(tls_max=ssl.TLSVersion.TLSv1_2)
        self.assertReply(self.scram_fail(c, "SCRAM-SHA-256-PLUS", USER, PASSWORD, cb_type="tls-server-end-point",
                                         cb_data=b"\0" * 32), 535)

    def test_scram_plus_tls_exporter_tls13(self):
        for mech, starttls in [("SCRAM-SHA-256-PLUS", True), ("SCRAM-SHA-1-PLUS", False)]:
            port = self.srv.ports["submission" if starttls else "submissions"]
            with SClient(port, self.srv.cert, starttls=starttls) as sc:
                self.assertEqual(sc.protocol, "TLSv1.3")
                self.assertEqual(len(sc.exporter), 32)
                if not starttls:
                    self.assertEqual(sc.reply().code, 220)
                sc.cmd("EHLO client.test")
                r, _ = smtp_scram(sc, mech, USER, PASSWORD, cb_type="tls-exporter", cb_data=sc.exporter)
                self.assertReply(r, 235, "2.7.0 authentication successful", mech)
                self.assertReply(sc.cmd(f"MAIL FROM:<{USER}>"), 250)

    def test_scram_plus_wrong_type_for_version(self):
        # tls-exporter on TLS 1.2 (correct exporter bytes, wrong type for the version).
        with SClient(self.srv.ports["submission"], self.srv.cert, tls_max="1.2") as sc:
            self.assertEqual(sc.protocol, "TLSv1.2")
            sc.cmd("EHLO client.test")
            self.assertReply(self.scram_fail(sc, "SCRAM-SHA-256-PLUS", USER, PASSWORD, cb_type="tls-exporter",
                                             cb_data=sc.exporter), 535)
        # tls-unique on TLS 1.3.
        c = self.tls_sub()
        self.assertEqual(c.sock.version(), "TLSv1.3")
        cb = c.sock.get_channel_binding("tls-unique") or b"\0" * 32
        self.assertReply(self.scram_fail(c, "SCRAM-SHA-256-PLUS", USER, PASSWORD, cb_type="tls-unique",
                                         cb_data=cb), 535)
        # tls-server-end-point is never accepted.
        c = self.tls_sub()
        self.assertReply(self.scram_fail(c, "SCRAM-SHA-256-PLUS", USER, PASSWORD, cb_type="tls-server-end-point",
                                         cb_data=b"\0" * 32), 535)

    def test_scram_downgrade_detected(self):
        for mech in ["SCRAM-SHA-256", "SCRAM-SHA-1"]:
            c = self.tls_sub()
            self.assertReply(self.scram_fail(c, mech, USER, PASSWORD, gs2_flag="y"), 535, None, mech)
        # The same client with `n` (no channel binding support) is fine.
        c = self.tls_sub()
        r, _ = smtp_scram(c, "SCRAM-SHA-256", USER, PASSWORD, gs2_flag="n")
        self.assertReply(r, 235)

    # ---- the growing delay ----

    def test_delay_after_three_failures(self):
        """AUTH number n+1 after n > 3 failures waits n - 3 seconds (smtp.md §12)."""
        c = self.tls_sub()
        t0 = time.monotonic()
        for _ in range(4):
            self.assertReply(c.cmd("AUTH PLAIN " + plain("", USER, "bad")), 535)
        self.assertLess(time.monotonic() - t0, 3.0)
        for n, wait in [(5, 1.0), (6, 2.0)]:
            t = time.monotonic()
            self.assertReply(c.cmd("AUTH PLAIN " + plain("", USER, "bad"), timeout=15), 535)
            self.assertGreaterEqual(time.monotonic() - t, wait * 0.9, f"AUTH #{n}")
        # Other connections are not slowed down.
        d = self.tls_sub()
        t = time.monotonic()
        self.assertReply(d.cmd("AUTH PLAIN " + plain("", USER, PASSWORD)), 235)
        self.assertLess(time.monotonic() - t, 1.0)

    # ---- Cyrus smtptest ----

    def smtptest(self, mech, tls12=False, user=USER, password=PASSWORD):
        env = dict(os.environ)
        if tls12:  # OpenSSL config for smtptest's own TLS stack: at most TLS 1.2
            cnf = os.path.join(self.srv.dir, "tls12.cnf")
            with open(cnf, "w") as f:
                f.write("openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n"
                        "[sys]\nMaxProtocol = TLSv1.2\n")
            env["OPENSSL_CONF"] = cnf
        args = [SMTPTEST, "-p", str(self.srv.ports["submission"]), "-t", "", "-m", mech, "-a", user, "-u", user,
                "-w", password, "127.0.0.1"]
        return subprocess.run(args, input="QUIT\r\n", capture_output=True, text=True, timeout=30, env=env)

    def test_smtptest_mechanisms(self):
        for mech in ["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"]:
            r = self.smtptest(mech)
            self.assertIn("\nAuthenticated.\n", r.stdout, f"{mech}: {r.stdout}{r.stderr}")
            self.assertIn("S: 235 2.7.0 authentication successful", r.stdout)
        # A wrong password: the server-final message carries e=invalid-proof (smtptest then aborts).
        r = self.smtptest("SCRAM-SHA-256", password="wrong")
        self.assertIn("S: 334 " + b64(b"e=invalid-proof") + "\n", r.stdout)
        self.assertIn("Authentication failed.", r.stdout)
        r = self.smtptest("PLAIN", password="wrong")
        self.assertIn("S: 535 5.7.8 authentication failed", r.stdout)

    # ---- GNU SASL's gsasl (libgsasl + GnuTLS), a second client nobody here wrote ----

    def gsasl(self, mech, priority=None, password=PASSWORD):
        args = [GSASL, "--smtp", "--connect", f"127.0.0.1:{self.srv.ports['submission']}",
                "--x509-ca-file", self.srv.cert, "--hostname", self.srv.hostname, "--verbose",
                "-m", mech, "-a", USER, "-p", password]
        if priority:
            args += ["--priority", priority]
        return subprocess.run(args, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)

    def test_gsasl_scram_plus_both_bindings(self):
        """SCRAM-*-PLUS end to end with GNU SASL: tls-exporter on TLS 1.3 (RFC 9266) and
        tls-unique on TLS 1.2 (RFC 5929), each ending in 235; a wrong password gets 535."""
        for mech in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"):
            for prio, cb in ((None, b"p=tls-exporter,"), ("NORMAL:-VERS-ALL:+VERS-TLS1.2", b"p=tls-unique,")):
                r = self.gsasl(mech, prio)
                out = r.stdout + r.stderr
                # gsasl sends the client-first message after an empty 334, on a line of its own.
                m = re.search(r"^AUTH (\S+)\n334 ?\n(\S+)$", r.stdout, re.M)
                self.assertTrue(m, out)
                self.assertEqual(m.group(1), mech)
                self.assertTrue(base64.b64decode(m.group(2)).startswith(cb), (mech, prio, out))
                self.assertIn("(TLS1.2)" if prio else "(TLS1.3)", out)
                self.assertRegex(r.stdout, r"(?m)^235 2\.7\.0 ", (mech, prio, out))
                self.assertEqual(r.returncode, 0, out)
        r = self.gsasl("SCRAM-SHA-256-PLUS", password="wrong")
        self.assertNotEqual(r.returncode, 0)
        self.assertNotRegex(r.stdout, r"(?m)^235 ")

    def test_smtptest_plus(self):
        for tls12 in (False, True):
            r = self.smtptest("SCRAM-SHA-256-PLUS", tls12=tls12)
            self.assertIn("TLSv1.2" if tls12 else "TLSv1.3", r.stdout)
            m = re.search(r"^C: AUTH (\S+) (\S+)$", r.stdout, re.M)
            self.assertTrue(m, r.stdout)
            self.assertEqual(m.group(1), "SCRAM-SHA-256")  # the -PLUS suffix is not sent
            self.assertTrue(base64.b64decode(m.group(2)).startswith(b"p=tls-unique,"), m.group(2))
            self.assertIn("S: 535 5.7.8 authentication failed", r.stdout)


class AuthNoRequireSTARTTLS(AuthCase):
    server_kwargs = dict(tls=True, limits={"AuthFailuresPerMinute": HIGH, "AuthFailuresPerDay": HIGH})

    def test_plaintext_auth_and_plus_hint(self):
        c = self.conn("submission")
        r = c.ehlo()
        self.assertIn("STARTTLS", c.ext(r))
        self.assertIn("AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN",
                      r.lines)
        # A PLUS variant without TLS fails; so does a `y` client (PLUS was announced).
        self.assertReply(self.scram_fail(c, "SCRAM-SHA-256-PLUS", USER, PASSWORD, cb_type="tls-unique",
                                         cb_data=b"x" * 12), 535)
        self.assertReply(self.scram_fail(c, "SCRAM-SHA-256", USER, PASSWORD, gs2_flag="y"), 535)
        r, _ = smtp_scram(c, "SCRAM-SHA-256", USER, PASSWORD)
        self.assertReply(r, 235)
        d = self.conn("submission")
        d.ehlo()
        self.assertReply(d.cmd("AUTH PLAIN " + plain("", USER, PASSWORD)), 235)


class AuthLimiter(AuthCase):
    """The shared failed-auth limiter: 3 failures per minute from 127.0.0.1."""
    server_kwargs = dict(tls=True, limits={"AuthFailuresPerMinute": [3, 30, 90], "AuthFailuresPerDay": HIGH})

    def test_limiter_refuses_before_credentials(self):
        for _ in range(3):
            c = self.conn("submission")
            c.ehlo()
            self.assertReply(c.cmd("AUTH PLAIN " + plain("", USER, "wrong")), 535)
            c.close()
        # Now every AUTH is refused at once, even with the right password.
        c = self.conn("submission")
        c.ehlo()
        self.assertReply(c.cmd("AUTH PLAIN " + plain("", USER, PASSWORD)), 421,
                         "4.7.0 too many authentication failures")
        self.assertClosed(c)
        d = self.conn("submission")
        d.ehlo()
        self.assertReply(d.cmd("AUTH SCRAM-SHA-256 " + b64(b"n,,n=x,r=abc")), 421)
        self.assertClosed(d)


if __name__ == "__main__":
    main()

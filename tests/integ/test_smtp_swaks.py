"""swaks (a real, independent SMTP client) against `tern serve`: MX with PIPELINING over
STARTTLS, submission with every AUTH mechanism swaks has, and Submissions (implicit TLS).
The end of data is `250` once the queue lands, `451 4.3.0 error storing message` before."""
import re
import subprocess

from ternlib.smtpcase import PASSWORD, ServerCase, main

HOST = "mail.example.test"


class Swaks(ServerCase):
    dns = True
    server_kwargs = dict(tls=True, submissions=True, submission={})
    passwords = {"app": PASSWORD}

    def swaks(self, port, *args):
        r = subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--helo", "client.test",
                            "--tls-verify", "--tls-ca-path", self.srv.cert, "--tls-sni", HOST, *args],
                           capture_output=True, text=True, timeout=60)
        return r.stdout + r.stderr

    def assertEnd(self, out, kind):
        live = self.srv.cli("queue", "list", check=False).returncode == 0
        want = rf"^<~  250 2\.0\.0 {kind} \([A-Za-z0-9_-]{{16}}\)$" if live else \
            r"^<~\* 451 4\.3\.0 error storing message \([A-Za-z0-9_-]{16}\)$"
        self.assertRegex(out, re.compile(want, re.M), out)
        self.assertRegex(out, re.compile(r"^<~  221 2\.0\.0 bye$", re.M))

    def test_mx_pipelined_over_starttls(self):
        out = self.swaks(self.srv.ports["smtp"], "--tls", "--pipeline", "--from", "someone@sender.test",
                         "--to", "admin@example.test,nobody@example.test")
        self.assertIn("=== TLS started with cipher TLSv1.3", out)
        # The pipelined envelope: sent together, replies in order.
        self.assertRegex(out, r" ~> MAIL FROM:<someone@sender\.test>\n ~> RCPT TO:<admin@example\.test>\n"
                              r" ~> RCPT TO:<nobody@example\.test>\n ~> DATA\n<~  250 2\.1\.0 ok\n"
                              r"<~  250 2\.1\.5 ok\n<~\* 550 5\.1\.1 no such user \(\S+\)\n<~  354 ")
        self.assertEnd(out, "delivered")

    def test_submission_auth_mechanisms(self):
        for mech in ["PLAIN", "LOGIN", "CRAM-MD5"]:
            out = self.swaks(self.srv.ports["submission"], "--tls", "--auth", mech, "--auth-user",
                             "app@example.test", "--auth-password", PASSWORD, "--from", "app@example.test",
                             "--to", "bob@remote.test", "--header", "From: <app@example.test>")
            self.assertIn("<~  235 2.7.0 authentication successful", out, mech)
            self.assertEnd(out, "queued")
        out = self.swaks(self.srv.ports["submission"], "--tls", "--auth", "PLAIN", "--auth-user",
                         "app@example.test", "--auth-password", "wrong", "--from", "app@example.test",
                         "--to", "bob@remote.test")
        self.assertRegex(out, r"<~\* 535 5\.7\.8 authentication failed \(\S+\)")

    def test_submissions_implicit_tls(self):
        out = self.swaks(self.srv.ports["submissions"], "--tlsc", "--auth", "PLAIN", "--auth-user",
                         "app@example.test", "--auth-password", PASSWORD, "--from", "app@example.test",
                         "--to", "bob@remote.test", "--header", "From: <app@example.test>")
        self.assertIn("=== TLS started with cipher", out)
        self.assertIn(f"<~  220 {HOST} ESMTP tern", out)
        self.assertEnd(out, "queued")


if __name__ == "__main__":
    main()

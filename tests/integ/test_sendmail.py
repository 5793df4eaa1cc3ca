"""`tern sendmail` (README "The binary"), with the config in $TERN_SUBMIT_CONF.

Against aiosmtpd (deterministic checks of what arrives): the From: rewrite, the
envelope, recipients from arguments, -t and DefaultDestination, ignored sendmail
flags, `TLS-Required: No`, STARTTLS and implicit TLS with certificate verification
(the test CA given through SSL_CERT_FILE), REQUIRETLS, AUTH PLAIN, and the exit
status and stderr for server rejections. Against a real `tern localserve`: AUTH with
SCRAM-SHA-256 in plaintext and SCRAM-SHA-256-PLUS over STARTTLS."""
import logging
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from ternlib import check
from ternlib.localserve import PORTS, Localserve, env_for, pick_ip, run
from ternlib.server import TERN_BIN, free_port

logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # refused handshakes are expected here
warnings.simplefilter("ignore", DeprecationWarning)  # aiosmtpd's own (Session.login_data)
TMP = tempfile.mkdtemp(prefix="test-sendmail-")
CERT = os.path.join(TMP, "localhost.crt")
KEY = os.path.join(TMP, "localhost.key")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", KEY, "-out", CERT, "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost", "-addext", "basicConstraints=critical,CA:TRUE"],
               check=True, capture_output=True, timeout=60)


class Handler:
    def __init__(self):
        self.envelopes = []
        self.data_reply = "250 OK queued"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        responses.insert(-1, "250-REQUIRETLS")
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options),
                               envelope.original_content,
                               server.transport.get_extra_info("ssl_object") is not None))
        return self.data_reply


class Server(SMTP):
    def _getparams(self, params):  # accept MAIL ... REQUIRETLS (kept in mail_options)
        r = super()._getparams(params)
        if r is not None:
            r.pop("REQUIRETLS", None)
        return r


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"app@example.test" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535 itself


class TestController(Controller):
    def factory(self):
        return Server(self.handler, **self.SMTP_kwargs)


def tls_ctx():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(CERT, KEY)
    return ctx


HANDLER = Handler()
PLAIN_PORT, STARTTLS_PORT, IMPLICIT_PORT = free_port(), free_port(), free_port()
SERVERS = [
    TestController(HANDLER, hostname="127.0.0.1", port=PLAIN_PORT, auth_require_tls=True,
                   authenticator=authenticator),
    TestController(HANDLER, hostname="127.0.0.1", port=STARTTLS_PORT, tls_context=tls_ctx(),
                   require_starttls=True, authenticator=authenticator),
    # aiosmtpd offers AUTH on implicit TLS only without auth_require_tls (it looks at STARTTLS)
    TestController(HANDLER, hostname="127.0.0.1", port=IMPLICIT_PORT, ssl_context=tls_ctx(),
                   auth_require_tls=False, authenticator=authenticator),
]
for s in SERVERS:
    s.start()


def sendmail(conf, args, message, env_extra=None):
    path = os.path.join(TMP, "ternsubmit.conf")
    with open(path, "w") as f:
        f.write(conf)
    env = dict(os.environ, TERN_SUBMIT_CONF=path)
    env.pop("SSL_CERT_FILE", None)
    env.update(env_extra or {})
    HANDLER.envelopes.clear()
    return subprocess.run([TERN_BIN, "sendmail", *args], input=message, capture_output=True, env=env, timeout=120)


def plain_conf(extra=""):
    return f"Host: 127.0.0.1\nPort: {PLAIN_PORT}\nFrom: app@example.test\nDefaultDestination: ops@example.test\n{extra}"


CRON_MSG = b"From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@box> run-parts\n\nline one\nline two\n"


def test_plain_from_rewritten():
    r = sendmail(plain_conf(), ["someone@example.org"], CRON_MSG)
    assert r.returncode == 0, r.stderr
    (mail_from, rcpts, opts, content, tls), = HANDLER.envelopes
    assert mail_from == "app@example.test" and rcpts == ["someone@example.org"] and not tls
    assert content.startswith(b"From: <app@example.test>\r\nTo: root\r\nSubject: Cron <root@box> run-parts\r\n\r\n")
    assert content.endswith(b"\r\n\r\nline one\r\nline two\r\n")
    assert b"Cron Daemon" not in content and b"TLS-Required" not in content
    assert "REQUIRETLS" not in opts


def test_t_and_default_destination():
    r = sendmail(plain_conf(), ["-t"], b"To: root, dev@example.org\nSubject: s\n\nbody\n")
    assert r.returncode == 0, r.stderr
    (_, rcpts, _, _, _), = HANDLER.envelopes
    assert rcpts == ["ops@example.test", "dev@example.org"], rcpts
    r = sendmail(plain_conf(), ["root"], b"Subject: s\n\nbody\n")
    assert r.returncode == 0, r.stderr
    assert HANDLER.envelopes[0][1] == ["ops@example.test"]
    r = sendmail(plain_conf().replace("DefaultDestination: ops@example.test\n", ""), ["root"], b"x\n")
    assert r.returncode == 1 and b"DefaultDestination" in r.stderr, r.stderr
    assert HANDLER.envelopes == []


def test_cron_flags_and_display_name():
    r = sendmail(plain_conf(), ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "-f", "root", "root"], CRON_MSG)
    assert r.returncode == 0, r.stderr
    (mail_from, rcpts, _, content, _), = HANDLER.envelopes
    assert mail_from == "app@example.test" and rcpts == ["ops@example.test"]
    assert content.startswith(b'From: "CronDaemon" <app@example.test>\r\n')
    r = sendmail(plain_conf(), ["-F", "Caf\u00e9 Bot", "--", "x@example.org"], b"hi\n")
    assert r.returncode == 0, r.stderr
    assert HANDLER.envelopes[0][3] == b"From: =?utf-8?q?Caf=C3=A9_Bot?= <app@example.test>\r\n\r\nhi\r\n", \
        HANDLER.envelopes[0][3]


def test_requiretls_no_header():
    r = sendmail(plain_conf("RequireTLS: no\n"), ["x@example.org"], b"Subject: s\nTLS-Required: yes\n\nb\n")
    assert r.returncode == 0, r.stderr
    content = HANDLER.envelopes[0][3]
    assert b"\r\nTLS-Required: No\r\n\r\n" in content and b"TLS-Required: yes" not in content, content


def test_starttls_verified_auth_and_requiretls():
    conf = (f"Host: localhost\nPort: {STARTTLS_PORT}\nSTARTTLS: true\nFrom: app@example.test\n"
            "Username: app@example.test\nPassword: s3cret\nRequireTLS: yes\n")
    r = sendmail(conf, ["x@example.org"], b"Subject: s\n\nb\n", {"SSL_CERT_FILE": CERT})
    assert r.returncode == 0, r.stderr
    (_, _, opts, content, tls), = HANDLER.envelopes
    assert tls and "REQUIRETLS" in opts, opts
    # a wrong password: the server's 535 on stderr, exit 1
    r = sendmail(conf.replace("s3cret", "wrong"), ["x@example.org"], b"b\n", {"SSL_CERT_FILE": CERT})
    assert r.returncode == 1 and b"535" in r.stderr, r.stderr
    assert HANDLER.envelopes == []


def test_starttls_unverified_fails_unless_skipped():
    conf = f"Host: localhost\nPort: {STARTTLS_PORT}\nSTARTTLS: true\nFrom: app@example.test\n"
    r = sendmail(conf, ["x@example.org"], b"b\n")  # the test CA is not trusted
    assert r.returncode == 1 and b"TLS" in r.stderr, r.stderr
    assert HANDLER.envelopes == []
    r = sendmail(conf + "TLSInsecureSkipVerify: true\n", ["x@example.org"], b"b\n")
    assert r.returncode == 0, r.stderr
    # REQUIRETLS needs a verified connection: refused before MAIL
    r = sendmail(conf + "TLSInsecureSkipVerify: true\nRequireTLS: yes\n", ["x@example.org"], b"b\n")
    assert r.returncode == 1 and b"5.7.30" in r.stderr, r.stderr
    assert HANDLER.envelopes == []


def test_implicit_tls():
    conf = (f"Host: localhost\nPort: {IMPLICIT_PORT}\nTLS: true\nFrom: app@example.test\n"
            "Username: app@example.test\nPassword: s3cret\n")
    r = sendmail(conf, ["x@example.org"], b"Subject: s\n\nb\n", {"SSL_CERT_FILE": CERT})
    assert r.returncode == 0, r.stderr
    assert HANDLER.envelopes[0][4], "over TLS"


def test_rejection_and_errors():
    HANDLER.data_reply = "554 5.7.1 no thanks"
    try:
        r = sendmail(plain_conf(), ["x@example.org"], b"b\n")
    finally:
        HANDLER.data_reply = "250 OK queued"
    assert r.returncode == 1 and b"554 5.7.1 no thanks" in r.stderr, r.stderr
    r = sendmail(plain_conf(), [], b"b\n")
    assert r.returncode == 2 and b"usage" in r.stderr
    r = sendmail("Host: 127.0.0.1\n", ["x@example.org"], b"b\n")
    assert r.returncode == 1 and b"From: required" in r.stderr, r.stderr
    r = subprocess.run([TERN_BIN, "sendmail", "x@example.org"], input=b"b\n", capture_output=True, timeout=60,
                       env=dict(os.environ, TERN_SUBMIT_CONF=os.path.join(TMP, "missing.conf")))
    assert r.returncode == 1 and b"missing.conf" in r.stderr, r.stderr
    closed = free_port()
    r = sendmail(f"Host: 127.0.0.1\nPort: {closed}\nFrom: a@b.test\n", ["x@example.org"], b"b\n")
    assert r.returncode == 1 and b"cannot connect" in r.stderr, r.stderr


def test_against_localserve():
    ip = pick_ip()
    env = env_for(os.path.join(TMP, "home"), os.path.join(TMP, "xdg"))
    assert run(["localserve", "-ip", ip, "-initonly"], env).returncode == 0
    with Localserve([], env, ip) as ls:
        base = f"Host: {ip}\nPort: {PORTS['submission']}\nFrom: tern@localhost\nUsername: tern@localhost\n"
        r = sendmail(base + "Password: terntern\nAuthMethod: SCRAM-SHA-256\n", ["x@example.org"], b"Subject: s\n\nb\n")
        assert r.returncode == 0, r.stderr
        r = sendmail(base + "Password: wrong\nAuthMethod: SCRAM-SHA-256\n", ["x@example.org"], b"b\n")
        assert r.returncode == 1 and b"535" in r.stderr, r.stderr
        r = sendmail(base + "Password: terntern\nSTARTTLS: true\nTLSInsecureSkipVerify: true\n", ["x@example.org"],
                     b"b\n")
        assert r.returncode == 0, r.stderr
        deadline = time.time() + 10
        while "AUTH SCRAM-SHA-256-PLUS" not in ls.log() and time.time() < deadline:
            time.sleep(0.1)
        assert "AUTH SCRAM-SHA-256-PLUS" in ls.log(), "channel binding over STARTTLS"


try:
    check.run(globals())
finally:
    for s in SERVERS:
        s.stop()
    shutil.rmtree(TMP, ignore_errors=True)

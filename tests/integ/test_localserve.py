"""`tern localserve` end to end (spec localserve.md §1, §2): the files of a first
start, the certificate and keys (openssl), the admin password hash, refusal to
overwrite, the banner, the control socket, later starts reusing the config, and
AUTH + submission on port 1587 with the generated account. Everything runs under a
temporary HOME / XDG_CONFIG_HOME on a random 127.x.y.z address."""
import datetime
import hashlib
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import warnings

import yaml

from ternlib import check
from ternlib.localserve import PORTS, Localserve, env_for, pick_ip, run

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

TMP = tempfile.mkdtemp(prefix="test-localserve-")
IP = pick_ip()
XDG = os.path.join(TMP, "xdg")
DIR = os.path.join(XDG, "tern-localserve")
ENV = env_for(os.path.join(TMP, "home"), XDG)
FILES = ["tern.conf", "domains.conf", "adminpasswd", "localhost.crt", "localhost.key",
         "dkim.localserve.privatekey.pkcs8.pem"]


def openssl(*args, input=None):
    r = subprocess.run(["openssl", *args], capture_output=True, text=input is None or isinstance(input, str),
                       input=input, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_initonly_writes_the_files():
    os.makedirs(DIR)  # an existing, empty directory is fine
    r = run(["localserve", "-ip", IP, "-initonly"], ENV)
    assert r.returncode == 0, r.stderr
    for name in FILES:
        assert os.path.isfile(os.path.join(DIR, name)), name
    assert os.path.isdir(os.path.join(DIR, "db")), "the password is stored in the state at first start"
    with open(os.path.join(DIR, "tern.conf")) as f:
        st = yaml.safe_load(f)
    assert st["Hostname"] == "localhost" and st["DataDir"] == "." and st["LogLevel"] == "traceauth"
    assert st["User"] == str(os.getuid())
    assert st["TLS"]["CA"] == {"AdditionalToSystem": True, "CertFiles": ["localhost.crt"]}
    assert st["Postmaster"] == {"Account": "tern", "Mailbox": "Inbox"}
    assert st["Webhooks"]["AllowInternalTargets"] is True
    assert st["LocalserveTimeout"] == "60s"
    lst = st["Listeners"]["local"]
    assert lst["IPs"] == [IP]
    want = {"SMTP": 1025, "Submission": 1587, "Submissions": 1465, "IMAP": 1143, "IMAPS": 1993,
            "AccountHTTP": 1080, "AdminHTTP": 1080, "WebAPIHTTP": 1080, "AccountHTTPS": 1443,
            "AdminHTTPS": 1443, "WebAPIHTTPS": 1443, "MetricsHTTP": 1081}
    for svc, port in want.items():
        assert lst[svc]["Enabled"] is True and lst[svc]["Port"] == port, svc
    assert lst["Submission"]["NoRequireSTARTTLS"] is True and lst["IMAP"]["NoRequireSTARTTLS"] is True
    with open(os.path.join(DIR, "domains.conf")) as f:
        dc = yaml.safe_load(f)
    dom = dc["Domains"]["localhost"]
    assert dom["LocalpartCatchallSeparator"] == "+"
    assert dom["DKIM"]["Sign"] == ["localserve"]
    sel = dom["DKIM"]["Selectors"]["localserve"]
    assert sel["Expiration"] == "72h" and sel["PrivateKeyFile"] == "dkim.localserve.privatekey.pkcs8.pem"
    acc = dc["Accounts"]["tern"]
    assert acc["Domain"] == "localhost" and "tern@localhost" in acc["Destinations"]
    assert acc["KeepRetiredMessagePeriod"] == "72h" and acc["KeepRetiredWebhookPeriod"] == "72h"


def test_certificate_and_keys():
    crt = os.path.join(DIR, "localhost.crt")
    text = openssl("x509", "-in", crt, "-noout", "-text")
    assert "Subject: CN = localhost" in text, text
    assert "DNS:localhost" in text
    assert "prime256v1" in text or "P-256" in text, "ECDSA P-256"
    assert "CA:TRUE" in text
    dates = openssl("x509", "-in", crt, "-noout", "-startdate", "-enddate")
    fmt = "%b %d %H:%M:%S %Y %Z"
    start = datetime.datetime.strptime(dates.split("notBefore=")[1].split("\n")[0].strip().replace("  ", " "), fmt)
    end = datetime.datetime.strptime(dates.split("notAfter=")[1].split("\n")[0].strip().replace("  ", " "), fmt)
    days = (end - start).days
    assert 4 * 365 <= days <= 4 * 366 + 2, f"validity {days} days"
    assert openssl("x509", "-in", crt, "-noout", "-checkend", str(4 * 365 * 86400 - 3 * 86400)) is not None
    # The key belongs to the certificate.
    pub_crt = openssl("x509", "-in", crt, "-noout", "-pubkey")
    pub_key = openssl("pkey", "-in", os.path.join(DIR, "localhost.key"), "-pubout")
    assert pub_crt == pub_key
    dkim = openssl("pkey", "-in", os.path.join(DIR, "dkim.localserve.privatekey.pkcs8.pem"), "-noout", "-text")
    assert "ED25519 Private-Key" in dkim, dkim
    with open(os.path.join(DIR, "dkim.localserve.privatekey.pkcs8.pem")) as f:
        assert f.read().startswith("-----BEGIN PRIVATE KEY-----\n"), "unencrypted PKCS#8"
    for secret in ("localhost.key", "dkim.localserve.privatekey.pkcs8.pem", "adminpasswd"):
        assert os.stat(os.path.join(DIR, secret)).st_mode & 0o077 == 0, secret


def test_admin_password_hash():
    with open(os.path.join(DIR, "adminpasswd")) as f:
        h = f.read().strip()
    assert h.startswith("$2b$"), h
    assert crypt.crypt("ternadmin", h) == h
    assert crypt.crypt("ternadmin2", h) != h


def test_initonly_refuses_to_overwrite():
    before = {n: digest(os.path.join(DIR, n)) for n in FILES}
    r = run(["localserve", "-initonly"], ENV)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "tern.conf already exists" in r.stderr, r.stderr
    assert {n: digest(os.path.join(DIR, n)) for n in FILES} == before


def banner_checks(banner):
    assert f"Config and data: {DIR}" in banner, banner
    for scheme, port in (("smtp", 1025), ("smtp", 1587), ("smtps", 1465), ("imap", 1143), ("imaps", 1993),
                         ("http", 1080), ("https", 1443), ("http", 1081)):
        assert f"{scheme}://{IP}:{port}" in banner, (scheme, port, banner)
    assert "/webapi/" in banner and "/admin/" in banner and "/account/" in banner and "/metrics" in banner
    assert "tern@localhost" in banner and "terntern" in banner and "ternadmin" in banner
    assert f"swaks --server {IP}:1587" in banner
    # The webapi is not served yet: the banner must not offer a curl command that fails.
    assert "curl" not in banner and "/webapi/v0/Send) is not in this build yet" in banner


def submit():
    """AUTH PLAIN as tern@localhost on 1587 (plaintext allowed) and a message to
    someone@example.org; returns the end-of-data reply."""
    with smtplib.SMTP(IP, PORTS["submission"], timeout=30) as s:
        s.ehlo("client.example")
        s.user, s.password = "tern@localhost", "terntern"
        code, resp = s.auth("PLAIN", s.auth_plain, initial_response_ok=True)
        assert code == 235, (code, resp)
        code, resp = s.mail("tern@localhost")
        assert code == 250, resp
        code, resp = s.rcpt("someone@example.org")
        assert code == 250, resp
        return s.data(b"From: tern@localhost\r\nTo: someone@example.org\r\nSubject: hi\r\n\r\nhello\r\n")


def auth_wrong_password():
    with smtplib.SMTP(IP, PORTS["submission"], timeout=30) as s:
        s.ehlo("client.example")
        s.user, s.password = "tern@localhost", "wrong"
        try:
            s.auth("PLAIN", s.auth_plain, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code
    raise AssertionError("wrong password accepted")


def tls_checks():
    """STARTTLS on 1587 and implicit TLS on 1465 verify against the generated certificate."""
    ctx = ssl.create_default_context(cafile=os.path.join(DIR, "localhost.crt"))
    with smtplib.SMTP(IP, PORTS["submission"], timeout=30) as s:
        s.ehlo("client.example")
        s._host = "localhost"  # the name smtplib checks the certificate against
        code, _ = s.starttls(context=ctx)
        assert code == 220
        code, _ = s.ehlo("client.example")
        assert code == 250
    with socket.create_connection((IP, PORTS["submissions"]), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as t:
            assert t.recv(512).startswith(b"220 ")


def test_start_banner_status_and_submission():
    with Localserve([], ENV, IP) as ls:
        banner_checks(ls.banner)
        r = run(["-config", os.path.join(DIR, "tern.conf"), "status"], ENV)
        assert r.returncode == 0, r.stderr
        assert "hostname localhost" in r.stdout, r.stdout
        code, resp = submit()
        assert code == 250 and b"queued" in resp, (code, resp)
        assert auth_wrong_password() == 535
        tls_checks()
        assert ls.stop() == 0


def test_later_start_reuses_config():
    conf = os.path.join(DIR, "tern.conf")
    with open(conf, "a") as f:  # a change made in the meantime is used as it is
        f.write("# edited by the test\n")
    before = {n: digest(os.path.join(DIR, n)) for n in FILES}
    with Localserve(["-ip", "127.0.0.1"], ENV, IP) as ls:  # -ip is ignored on later starts
        banner_checks(ls.banner)
        assert f"smtp://{IP}:1025" in ls.banner
        code, resp = submit()  # the stored password is still there
        assert code == 250, (code, resp)
    assert {n: digest(os.path.join(DIR, n)) for n in FILES} == before


def test_first_start_without_initonly_and_default_dir():
    home = os.path.join(TMP, "home2")
    os.makedirs(home)
    env = env_for(home)  # no XDG_CONFIG_HOME: ~/.config/tern-localserve
    d = os.path.join(home, ".config", "tern-localserve")
    ip = pick_ip()
    with Localserve(["-ip", ip], env, ip) as ls:
        assert f"Config and data: {d}" in ls.banner, ls.banner
        assert f"smtp://{ip}:1587" in ls.banner
        for name in FILES:
            assert os.path.isfile(os.path.join(d, name)), name
        r = run(["-config", os.path.join(d, "tern.conf"), "status"], env)
        assert r.returncode == 0, r.stderr


def test_dir_flag_and_usage():
    d = os.path.join(TMP, "explicit", "dir")
    r = run(["localserve", "-dir", d, "-ip", IP, "-initonly"], ENV)
    assert r.returncode == 0, r.stderr
    assert os.path.isfile(os.path.join(d, "tern.conf"))
    r = run(["localserve", "-bogus"], ENV)
    assert r.returncode == 2 and "usage" in r.stderr
    r = run(["localserve", "-dir", os.path.join(TMP, "bad"), "-ip", "not-an-ip", "-initonly"], ENV)
    assert r.returncode == 1 and "not-an-ip" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(TMP, "bad", "tern.conf"))


try:
    check.run(globals())
finally:
    shutil.rmtree(TMP, ignore_errors=True)

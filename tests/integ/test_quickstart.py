"""`tern quickstart` (README "The binary"): the files, the printed passwords and DNS
records (DKIM records checked against the key files with openssl), refusal to
overwrite, and a config that validates: moved onto loopback test ports, it runs as
`tern serve`, and the printed account password works for AUTH."""
import base64
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import time
import warnings

import yaml

from ternlib import check
from ternlib.server import TERN_BIN, free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

TMP = tempfile.mkdtemp(prefix="test-quickstart-")


def quickstart(cwd, *args):
    return subprocess.run([TERN_BIN, "quickstart", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def records(out):
    """name -> list of (type, value) from the zone-file lines; TXT strings joined."""
    recs = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+\.)\s+IN\s+(\S+)\s+(.*)$", line)
        if not m:
            continue
        name, typ, value = m.groups()
        if typ == "TXT":
            value = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', value))
        recs.setdefault(name, []).append((typ, value))
    return recs


def spki_der(pem_path):
    return subprocess.run(["openssl", "pkey", "-in", pem_path, "-pubout", "-outform", "DER"],
                          capture_output=True, timeout=60, check=True).stdout


def run_quickstart(name, *args):
    cwd = os.path.join(TMP, name)
    os.makedirs(cwd)
    r = quickstart(cwd, *args)
    assert r.returncode == 0, r.stderr
    return cwd, r.stdout


CWD, OUT = run_quickstart("a", "bob@Example.test")
CONF = os.path.join(CWD, "config")


def test_files():
    for name in ("tern.conf", "domains.conf", "adminpasswd", "mail.example.test.crt", "mail.example.test.key"):
        assert os.path.isfile(os.path.join(CONF, name)), name
    keys = sorted(os.listdir(os.path.join(CONF, "dkim")))
    assert len(keys) == 2 and keys[0].endswith(".example.test.ed25519.pkcs8.pem") and \
        keys[1].endswith(".example.test.rsa2048.pkcs8.pem"), keys
    assert os.path.isdir(os.path.join(CWD, "data", "db"))
    with open(os.path.join(CONF, "tern.conf")) as f:
        st = yaml.safe_load(f)
    assert st["Hostname"] == "mail.example.test" and st["DataDir"] == "../data"
    assert st["HostTLSRPT"] == {"Account": "bob", "Mailbox": "TLSRPT", "Localpart": "tlsreports"}
    pub = st["Listeners"]["public"]
    assert pub["WebAPIHTTPS"]["Enabled"] is True
    assert pub["TLS"]["KeyCerts"] == [{"CertFile": "mail.example.test.crt", "KeyFile": "mail.example.test.key"}]
    with open(os.path.join(CONF, "domains.conf")) as f:
        dc = yaml.safe_load(f)
    dom = dc["Domains"]["example.test"]
    sels = dom["DKIM"]["Selectors"]
    assert len(sels) == 2 and sorted(dom["DKIM"]["Sign"]) == sorted(sels)
    assert dc["Accounts"]["bob"]["Destinations"] == {"bob@example.test": {}}
    text = subprocess.run(["openssl", "x509", "-in", os.path.join(CONF, "mail.example.test.crt"), "-noout", "-text"],
                          capture_output=True, text=True, timeout=60).stdout
    assert "DNS:mail.example.test" in text


def test_passwords_printed():
    acc = re.search(r"Account bob, address bob@example\.test, password: (\S+)", OUT)
    adm = re.search(r"Admin password .*: (\S+)", OUT)
    assert acc and adm, OUT
    assert len(acc.group(1)) >= 16 and acc.group(1) != adm.group(1)
    with open(os.path.join(CONF, "adminpasswd")) as f:
        h = f.read().strip()
    assert h.startswith("$2b$") and crypt.crypt(adm.group(1), h) == h


def test_dns_records():
    recs = records(OUT)
    assert ("MX", "10 mail.example.test.") in recs["example.test."]
    assert ("TXT", "v=spf1 mx ~all") in recs["example.test."]
    assert ("TXT", "v=spf1 a -all") in recs["mail.example.test."]
    assert ("TXT", "v=DMARC1; p=reject; rua=mailto:dmarcreports@example.test") in recs["_dmarc.example.test."]
    assert ("TXT", "v=TLSRPTv1; rua=mailto:tlsreports@example.test") in recs["_smtp._tls.example.test."]
    assert ("TXT", "v=TLSRPTv1; rua=mailto:tlsreports@mail.example.test") in recs["_smtp._tls.mail.example.test."]
    sts = recs["_mta-sts.example.test."][0]
    assert sts[0] == "TXT" and re.fullmatch(r"v=STSv1; id=[0-9A-Za-z]+", sts[1])
    assert recs["mta-sts.example.test."] == [("CNAME", "mail.example.test.")]
    with open(os.path.join(CONF, "domains.conf")) as f:
        sels = yaml.safe_load(f)["Domains"]["example.test"]["DKIM"]["Selectors"]
    for sel, s in sels.items():
        der = spki_der(os.path.join(CONF, s["PrivateKeyFile"]))
        (typ, value), = recs[f"{sel}._domainkey.example.test."]
        assert typ == "TXT"
        p = value.split("p=")[1]
        if "ed25519" in s["PrivateKeyFile"]:
            assert value.startswith("v=DKIM1; k=ed25519; p=")
            assert base64.b64decode(p) == der[-32:]
        else:
            assert value.startswith("v=DKIM1; k=rsa; p=")
            assert base64.b64decode(p) == der
            assert len(der) > 256, "RSA-2048"


def test_refuses_to_overwrite():
    before = {n: open(os.path.join(CONF, n), "rb").read() for n in ("tern.conf", "domains.conf", "adminpasswd")}
    r = quickstart(CWD, "bob@example.test")
    assert r.returncode == 1
    assert "tern.conf already exists" in r.stderr and "adminpasswd already exists" in r.stderr, r.stderr
    after = {n: open(os.path.join(CONF, n), "rb").read() for n in before}
    assert after == before
    r = quickstart(CWD, "carol@other.test")  # another domain: the config files still exist
    assert r.returncode == 1
    assert not os.path.exists(os.path.join(CONF, "mail.other.test.crt")), "nothing written on refusal"


def test_hostname_flag_and_usage():
    cwd, out = run_quickstart("b", "-hostname", "MX1.Example.net", "alice@example.net")
    with open(os.path.join(cwd, "config", "tern.conf")) as f:
        assert yaml.safe_load(f)["Hostname"] == "mx1.example.net"
    assert os.path.isfile(os.path.join(cwd, "config", "mx1.example.net.crt"))
    assert "example.net.                             IN MX    10 mx1.example.net." in out
    os.makedirs(os.path.join(TMP, "c"))
    for args in ([], ["nodomain"], ["a@b.test", "extra"], ["-hostname"]):
        r = quickstart(os.path.join(TMP, "c"), *args)
        assert r.returncode == 2 and "usage" in r.stderr, (args, r.returncode, r.stderr)
    assert not os.path.exists(os.path.join(TMP, "c", "config", "tern.conf"))


def test_config_serves_and_password_works():
    """The generated config, moved onto loopback test ports, starts `tern serve`."""
    path = os.path.join(CONF, "tern.conf")
    with open(path) as f:
        st = yaml.safe_load(f)
    st["User"] = str(os.getuid())
    ports = {}
    for name, lst in st["Listeners"].items():
        lst["IPs"] = ["127.0.0.1"]
        for svc, v in lst.items():
            if isinstance(v, dict) and v.get("Enabled"):
                v["Port"] = ports.setdefault(svc, free_port())
    with open(path, "w") as f:
        yaml.safe_dump(st, f)
    logf = open(os.path.join(TMP, "serve.log"), "wb")
    proc = subprocess.Popen([TERN_BIN, "-config", path, "serve"], stdout=logf, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        ok = False
        while time.time() < deadline and not ok:
            assert proc.poll() is None, open(os.path.join(TMP, "serve.log")).read()
            r = subprocess.run([TERN_BIN, "-config", path, "status"], capture_output=True, text=True, timeout=10)
            ok = r.returncode == 0
            time.sleep(0.1)
        assert ok, "serve did not come up"
        password = re.search(r"password: (\S+)", OUT).group(1)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the self-signed certificate of quickstart
        with smtplib.SMTP("127.0.0.1", ports["Submission"], timeout=30) as s:
            s.starttls(context=ctx)  # Submission requires STARTTLS in the quickstart config
            s.ehlo("client.example")
            s.user, s.password = "bob@example.test", password
            code, _ = s.auth("PLAIN", s.auth_plain, initial_response_ok=True)
            assert code == 235
    finally:
        proc.terminate()
        proc.wait(timeout=40)
        logf.close()


try:
    check.run(globals())
finally:
    shutil.rmtree(TMP, ignore_errors=True)

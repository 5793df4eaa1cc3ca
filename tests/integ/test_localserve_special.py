"""localserve's simulated failures against a real `tern localserve` (localserve.md §3-§5):
special localparts at MAIL FROM, RCPT TO and the end of data on the SMTP port (1025) and
the submission port (1587, AUTH tern@localhost / terntern), the exact reply texts with
the receivedid, the `timeout` localpart waiting LocalserveTimeout (set to 2s in the
config before the first serve), any recipient at any domain delivered to tern@localhost,
and outcomes of the queue's own deliveries to port 1025.

A submission to a special recipient is refused at the end of data (§5: one hit fails the
whole submission), so the queue meets special localparts through messages it queues
itself: a submission with NOTIFY=SUCCESS from tern+<word>@localhost (a catch-all form of
the login address, not special at MAIL: only `mailfrom...` is) is delivered to port 1025,
whose MX side queues a `delivered` DSN (smtp.md §9) to tern+<word>@localhost; the queue
delivers that DSN to port 1025, where the recipient's special localpart decides. Checked
with `tern queue list`, `queue retired list` and `store dump accounts`."""
import os
import re
import shutil
import smtplib
import tempfile
import time

from ternlib import check
from ternlib.localserve import PORTS, Localserve, env_for, pick_ip, run
from ternlib.server import SANITIZER_MARKS

TMP = tempfile.mkdtemp(prefix="test-localserve-special-")
IP = pick_ip()
DIR = os.path.join(TMP, "dir")
ENV = env_for(os.path.join(TMP, "home"))
CONF = os.path.join(DIR, "tern.conf")
TIMEOUT_S = 2
RID = re.compile(r" \(([A-Za-z0-9_-]{16})\)$")
MSG = b"From: tern@localhost\r\nSubject: special\r\n\r\nhello\r\n"
LS = None


def start():
    global LS
    r = run(["localserve", "-dir", DIR, "-ip", IP, "-initonly"], ENV)
    assert r.returncode == 0, r.stderr
    with open(CONF) as f:
        text = f.read()
    assert "LocalserveTimeout: 60s" in text
    with open(CONF, "w") as f:
        f.write(text.replace("LocalserveTimeout: 60s", f"LocalserveTimeout: {TIMEOUT_S}s"))
    LS = Localserve(["-dir", DIR], ENV, IP).start()


def cli(*args):
    r = run(["-config", CONF, *args], ENV)
    assert r.returncode == 0, r.stderr
    return r.stdout


def words(reply):
    """(code, text without the receivedid); the receivedid must be there for errors."""
    code, text = reply
    text = text.decode()
    m = RID.search(text)
    if code >= 400:
        assert m, f"no receivedid in {code} {text!r}"
    return code, RID.sub("", text)


def mx():
    c = smtplib.SMTP(IP, PORTS["smtp"], timeout=30)
    c.ehlo("client.invalid")  # any HELO name: no DNS check under localserve
    return c


def submission():
    c = smtplib.SMTP(IP, PORTS["submission"], timeout=30)
    c.ehlo("client.invalid")
    c.login("tern@localhost", "terntern")
    return c


def code_text(code):
    return f"{code // 100}.0.0 failure with code {code} due to special localpart"


def timed(fn, *args, **kw):
    t0 = time.monotonic()
    r = fn(*args, **kw)
    return r, time.monotonic() - t0


def test_special_mail_from():
    for conn in (mx, submission):
        c = conn()
        for local, code in [("mailfromtemperror", 451), ("mailfromPermError", 550), ("mailfrom552", 552),
                            ("mailfrom600", 600)]:
            assert words(c.mail(f"{local}@example.org")) == (code, code_text(code)), local
        r, took = timed(c.mail, "mailfromtimeout@example.org")
        assert words(r) == (451, "4.3.0 timing out command due to special localpart")
        assert took >= TIMEOUT_S - 0.5, took
        # Not special: a word at the end without the `mailfrom` start, or a number outside 400..600.
        for normal in ["user-temperror@example.org", "mailfrom399@example.org", "mailfrom601@example.org"]:
            if conn is submission:
                continue  # submission MAIL FROM must be the login address
            assert words(c.mail(normal)) == (250, "2.1.0 ok"), normal
            c.rset()
        c.quit()


def test_special_rcpt_to():
    for conn, sender in ((mx, "someone@example.org"), (submission, "tern@localhost")):
        c = conn()
        assert c.mail(sender)[0] == 250
        for local, code in [("rcpttotemperror", 451), ("rcptto-permerror", 550), ("rcptto452", 452),
                            ("rcptto600", 600)]:
            assert words(c.rcpt(f"{local}@anything.example")) == (code, code_text(code)), local
        r, took = timed(c.rcpt, "rcpttotimeout@localhost")
        assert words(r) == (451, "4.3.0 timing out command due to special localpart")
        assert took >= TIMEOUT_S - 0.5, took
        # Special at the end of data only: accepted at RCPT.
        assert c.rcpt("user-permerror@example.org")[0] == 250
        assert c.rcpt("rcptto@example.org")[0] == 250  # no outcome word: normal
        c.quit()
        c = conn()
        assert c.mail(sender)[0] == 250
        assert words(c.rcpt("rcptto421@localhost")) == (421, code_text(421))
        try:
            c.noop()
            assert False, "the connection stayed open after 421"
        except smtplib.SMTPServerDisconnected:
            pass


def data(c, sender, rcpts, msg=MSG):
    assert c.mail(sender)[0] == 250
    for r in rcpts:
        assert c.rcpt(r)[0] == 250, r
    return c.data(msg)


def dump_accounts():
    return cli("store", "dump", "accounts")


def test_special_end_of_data_mx():
    c = mx()
    before = dump_accounts().count("mailmsg/v1")
    # The first special recipient answers for the whole transaction (localserve.md §5).
    r = data(c, "someone@example.org", ["friend@example.org", "user-tempError@example.org", "x552@example.org"])
    assert words(r) == (451, code_text(451)), r
    assert words(data(c, "someone@example.org", ["user600@example.org"])) == (600, code_text(600))
    r, took = timed(data, c, "someone@example.org", ["usertimeout@example.org"])
    assert words(r) == (451, "4.0.0 timing out delivery due to special localpart")
    assert took >= TIMEOUT_S - 0.5, took
    assert dump_accounts().count("mailmsg/v1") == before, "nothing was stored"
    # Any address at any domain is delivered to tern@localhost (§4); no DSN for <>.
    r = data(c, "", ["nobody@unknown.example"], b"Subject: any\r\n\r\nany recipient\r\n")
    assert words(r) == (250, "2.0.0 delivered"), r
    c.quit()
    dump = dump_accounts()
    assert dump.count("mailmsg/v1") == before + 1
    assert "Account=tern" in dump


def test_special_end_of_data_submission():
    c = submission()
    queued = cli("queue", "list")
    r = data(c, "tern@localhost", ["friend@example.org", "user552@example.org"])
    assert words(r) == (552, code_text(552)), r
    r, took = timed(data, c, "tern@localhost", ["usertimeout@example.org"])
    assert words(r) == (451, "4.3.0 timing out submission due to special localpart")
    assert took >= TIMEOUT_S - 0.5, took
    c.quit()
    assert cli("queue", "list") == queued, "nothing queued for a refused submission"


def wait_queue(pred, what, timeout=30):
    return check.wait_until(what, lambda: (cli("queue", "list"), cli("queue", "retired", "list")),
                            lambda v: pred(*v), timeout, 0.2,
                            describe=lambda v: f"queue {v[0]!r} retired {v[1]!r}\n{LS.log()[-4000:]}")


def line_for(listing, rcpt):
    lines = [l for l in listing.splitlines() if f" to:{rcpt} " in l]
    assert len(lines) == 1, (rcpt, listing)
    return lines[0]


def test_queue_delivery_outcomes():
    """Submitted over 1587, delivered by the queue to 1025, whose `delivered` DSN goes back
    through the queue to the special sender address."""
    inbox_before = dump_accounts().count("mailmsg/v1")
    c = submission()
    words_ = ["permerror", "temperror", "600", "timeout"]
    for w in words_:
        c.sendmail(f"tern+{w}-{w}@localhost", ["friend@example.org"], MSG, rcpt_options=["NOTIFY=SUCCESS"])
    c.quit()
    addr = {w: f"tern+{w}-{w}@localhost" for w in words_}

    def settled(q, ret):
        return (f"to:{addr['permerror']} " in ret and "timing out delivery" in q and
                "protocol error" in q and "failure with code 451" in q)
    q, ret = wait_queue(settled, "special outcomes of the queue's deliveries")
    # The submissions themselves were delivered by port 1025 (any recipient goes to tern).
    for w in words_:
        lines = [l for l in ret.splitlines() if f"from:{addr[w]} to:friend@example.org " in l]
        assert len(lines) == 1 and " success " in lines[0] and "250 2.0.0 delivered" in lines[0], (w, ret)
    # 5xx: the DSN failed at once and was retired as a failure.
    l = line_for(ret, addr["permerror"])
    assert " failure from:<> " in l and f'error "remote: 550 {code_text(550)} (' in l, l
    # 4xx: retried later, the result is in the queue.
    l = line_for(q, addr["temperror"])
    assert " from:<> " in l and "next in " in l and f'error "remote: 451 {code_text(451)} (' in l, l
    # 600 has no SMTP class: the queue's client takes it as a protocol error (temporary).
    l = line_for(q, addr["600"])
    assert "next in " in l and "protocol error" in l, l
    # timeout: LocalserveTimeout (2s) is shorter than the client's timeouts: a 451.
    l = line_for(q, addr["timeout"])
    assert 'error "remote: 451 4.0.0 timing out delivery due to special localpart (' in l, l
    # tern's Inbox: the four messages, and the postmaster notice about the failed DSN
    # (a null sender's failure goes to the postmaster account, which is tern).
    deadline = time.monotonic() + 10
    while dump_accounts().count("mailmsg/v1") < inbox_before + 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    dump = dump_accounts()
    assert dump.count("mailmsg/v1") == inbox_before + 5, dump
    assert "a/tern/c/storedbytes" in dump


def test_clean_exit():
    rc = LS.stop()
    log = LS.log()
    assert rc == 0, log[-4000:]
    bad = [m for m in SANITIZER_MARKS if m in log]
    assert not bad, log[-20000:]


try:
    start()
    check.run(globals())
finally:
    if LS and LS.proc:
        if os.environ.get("TERN_TEST_LOG"):
            print(LS.log())
        LS.stop()
    if LS:
        os.unlink(LS.log_path)
    shutil.rmtree(TMP, ignore_errors=True)

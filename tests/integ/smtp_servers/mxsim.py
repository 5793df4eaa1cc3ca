"""Configurable SMTP receivers on loopback addresses, for Tern's delivery tests.

Usage: mxsim.py OUTFILE CONFIG_JSON

CONFIG_JSON is {"listeners": [LISTENER, ...]}; each LISTENER binds one address:
  name        label used in the records
  addr, port  e.g. "127.0.0.21", 2525 ("::1" for IPv6)
  greeting    first reply (default "220 <name> ESMTP"); "\\r\\n" separates lines.
              A non-2xx greeting is followed by reading commands and answering
              503 until QUIT.
  caps        EHLO keywords (default PIPELINING 8BITMIME SIZE ENHANCEDSTATUSCODES
              SMTPUTF8 DSN CHUNKING)
  ehlo_reply  replaces the whole EHLO reply (e.g. "550 5.7.1 no")
  mail_reply  reply to MAIL (default 250)
  mail421_on  the n-th MAIL of a connection gets "421 4.3.2 closing" and the
              connection closes (tests retry on a new connection)
  rcpt        {localpart: reply} replies for RCPT by local part
  rcpt_limit  RCPTs beyond this many accepted in one transaction get 452
  data_reply  reply after the message data (default 250)
  data_delay  seconds to wait before that reply
  tls         [cert, key]: offer STARTTLS
  tls_broken  offer STARTTLS, answer it with 220 and garbage, then hang up
  implicit    [cert, key]: TLS from the first byte (port 465 style)
  auth        {"user": u, "password": p}: offer AUTH SCRAM-SHA-256 (and PLAIN);
              MAIL needs AUTH first

Prints "ready" once every listener is bound (or "error <why>" and exits 1), then
serves until killed. OUTFILE gets one JSON line per event:
  {"ev": "conn", "l": name, "c": id, "active": n, "peer": ip}
  {"ev": "txn", "l", "c", "mail", "rcpts", "via", "body", "tls", "auth", "mech", "ehlo"}
  {"ev": "quit", "l", "c"}    and    {"ev": "close", "l", "c"}
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import ssl
import sys

OUT = sys.argv[1]
CONF = json.loads(sys.argv[2])
DEFAULT_CAPS = ["PIPELINING", "8BITMIME", "SIZE 10000000", "ENHANCEDSTATUSCODES", "SMTPUTF8", "DSN", "CHUNKING"]
LINE_MAX = 1 << 20
active = {}
serial = [0]


def record(rec):
    with open(OUT, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")


def tls_ctx(pair):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pair[0], pair[1])
    return ctx


class Scram:
    """SCRAM-SHA-256 server side (RFC 5802, RFC 7677), without channel binding."""

    def __init__(self, user, password):
        self.user, self.password = user, password
        self.salt = os.urandom(16)
        self.iters = 4096

    def first(self, msg):
        parts = msg.split(",", 2)
        if len(parts) != 3 or parts[0] not in ("n", "y"):
            return None
        self.gs2 = parts[0] + "," + parts[1] + ","
        self.bare = parts[2]
        attrs = dict(a.split("=", 1) for a in self.bare.split(","))
        if attrs.get("n") != self.user:
            self.bad = True
        self.nonce = attrs["r"] + base64.b64encode(os.urandom(18)).decode()
        self.server_first = "r=%s,s=%s,i=%d" % (self.nonce, base64.b64encode(self.salt).decode(), self.iters)
        return self.server_first

    def final(self, msg):
        without, _, proof = msg.rpartition(",p=")
        attrs = dict(a.split("=", 1) for a in without.split(","))
        if attrs.get("r") != self.nonce or attrs.get("c") != base64.b64encode(self.gs2.encode()).decode():
            return None
        sp = hashlib.pbkdf2_hmac("sha256", self.password.encode(), self.salt, self.iters)
        ck = hmac.new(sp, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(ck).digest()
        auth = ",".join([self.bare, self.server_first, without]).encode()
        sig = hmac.new(stored, auth, hashlib.sha256).digest()
        got = bytes(a ^ b for a, b in zip(base64.b64decode(proof), sig))
        if getattr(self, "bad", False) or hashlib.sha256(got).digest() != stored:
            return None
        sk = hmac.new(sp, b"Server Key", hashlib.sha256).digest()
        return "v=" + base64.b64encode(hmac.new(sk, auth, hashlib.sha256).digest()).decode()


async def session(cfg, reader, writer, implicit):
    name = cfg["name"]
    serial[0] += 1
    cid = serial[0]
    active[name] = active.get(name, 0) + 1
    peer = writer.get_extra_info("peername")
    record({"ev": "conn", "l": name, "c": cid, "active": active[name], "peer": peer[0] if peer else ""})
    state = {"tls": implicit, "auth": None, "ehlo": None, "mails": 0}

    def send(s):
        writer.write(s.encode("latin-1"))

    async def line():
        l = await reader.readline()
        return l.decode("latin-1").rstrip("\r\n") if l else None

    try:
        greeting = cfg.get("greeting", "220 %s ESMTP" % name)
        send(greeting.replace("\\r\\n", "\r\n") + "\r\n")
        await writer.drain()
        if not greeting.startswith("2"):
            for _ in range(100):
                cmd = await line()
                if cmd is None:
                    return
                if cmd.upper().startswith("QUIT"):
                    send("221 2.0.0 bye\r\n")
                    record({"ev": "quit", "l": name, "c": cid})
                    return
                send("503 5.5.1 go away\r\n")
                await writer.drain()
            return
        mail, rcpts, body, chunks = None, [], b"", []
        for _ in range(100000):
            cmd = await line()
            if cmd is None:
                return
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                state["ehlo"] = cmd.split(" ", 1)[1] if " " in cmd else ""
                if "ehlo_reply" in cfg:
                    send(cfg["ehlo_reply"].replace("\\r\\n", "\r\n") + "\r\n")
                else:
                    caps = [name] + list(cfg.get("caps", DEFAULT_CAPS))
                    if (cfg.get("tls") or cfg.get("tls_broken")) and not state["tls"]:
                        caps.append("STARTTLS")
                    if cfg.get("auth"):
                        caps.append("AUTH SCRAM-SHA-256 PLAIN")
                    send("".join("250-%s\r\n" % c for c in caps[:-1]) + "250 %s\r\n" % caps[-1])
            elif verb == "STARTTLS" and cfg.get("tls_broken"):
                send("220 2.0.0 ready to start TLS\r\nthis is not a TLS handshake\r\n")
                await writer.drain()
                return
            elif verb == "STARTTLS" and cfg.get("tls") and not state["tls"]:
                send("220 2.0.0 ready to start TLS\r\n")
                await writer.drain()
                await writer.start_tls(tls_ctx(cfg["tls"]))
                state["tls"] = True
                state["ehlo"] = None
            elif verb == "AUTH" and cfg.get("auth"):
                args = cmd.split()
                a = cfg["auth"]
                ok = False
                if len(args) >= 2 and args[1].upper() == "SCRAM-SHA-256":
                    sc = Scram(a["user"], a["password"])
                    first = base64.b64decode(args[2]).decode() if len(args) > 2 else None
                    if first is None:
                        send("334 \r\n")
                        await writer.drain()
                        first = base64.b64decode(await line()).decode()
                    sf = sc.first(first)
                    if sf:
                        send("334 %s\r\n" % base64.b64encode(sf.encode()).decode())
                        await writer.drain()
                        v = sc.final(base64.b64decode(await line()).decode())
                        if v:
                            send("334 %s\r\n" % base64.b64encode(v.encode()).decode())
                            await writer.drain()
                            await line()
                            ok = True
                elif len(args) == 3 and args[1].upper() == "PLAIN":
                    parts = base64.b64decode(args[2]).split(b"\0")
                    ok = len(parts) == 3 and parts[1].decode() == a["user"] and parts[2].decode() == a["password"]
                if ok:
                    state["auth"] = a["user"]
                    state["mech"] = args[1].upper()
                    send("235 2.7.0 authenticated\r\n")
                else:
                    send("535 5.7.8 authentication failed\r\n")
            elif verb == "MAIL":
                state["mails"] += 1
                if cfg.get("mail421_on") == state["mails"]:
                    send("421 4.3.2 closing\r\n")
                    await writer.drain()
                    return
                if cfg.get("auth") and not state["auth"]:
                    send("530 5.7.0 authentication required\r\n")
                    continue
                reply = cfg.get("mail_reply", "250 2.1.0 ok").replace("\\r\\n", "\r\n")
                send(reply + "\r\n")
                if reply.startswith("421"):
                    await writer.drain()
                    return
                mail, rcpts, body, chunks = (cmd if reply.startswith("2") else None), [], b"", []
            elif verb == "RCPT":
                local = cmd.split("<", 1)[-1].split("@", 1)[0]
                if mail is None:
                    send("503 5.5.1 need MAIL\r\n")
                elif local in cfg.get("rcpt", {}):
                    send(cfg["rcpt"][local].replace("\\r\\n", "\r\n") + "\r\n")
                elif len(rcpts) >= cfg.get("rcpt_limit", 1 << 30):
                    send("452 4.5.3 too many recipients\r\n")
                else:
                    rcpts.append(cmd)
                    send("250 2.1.5 ok\r\n")
            elif verb == "DATA":
                if not rcpts:
                    send("554 5.5.1 no valid recipients\r\n")
                    continue
                send("354 go ahead\r\n")
                await writer.drain()
                lines = []
                for _ in range(10000000):
                    l = await reader.readline()
                    if not l or l == b".\r\n":
                        break
                    lines.append(l[1:] if l.startswith(b".") else l)
                await finish_txn(cfg, state, cid, mail, rcpts, b"".join(lines), "DATA", writer)
                mail, rcpts = None, []
            elif verb == "BDAT":
                parts = cmd.split()
                n = int(parts[1])
                last = len(parts) > 2 and parts[2].upper() == "LAST"
                data = await reader.readexactly(n)
                if not rcpts:
                    send("554 5.5.1 no valid recipients\r\n")
                    continue
                body += data
                chunks.append(n)
                if last:
                    await finish_txn(cfg, state, cid, mail, rcpts, body, "BDAT", writer)
                    mail, rcpts, body = None, [], b""
                else:
                    send("250 2.0.0 chunk ok\r\n")
            elif verb == "RSET":
                mail, rcpts, body = None, [], b""
                send("250 2.0.0 ok\r\n")
            elif verb == "NOOP":
                send("250 2.0.0 ok\r\n")
            elif verb == "QUIT":
                record({"ev": "quit", "l": name, "c": cid})
                send("221 2.0.0 bye\r\n")
                await writer.drain()
                return
            else:
                send("502 5.5.2 unknown command\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, ValueError):
        pass
    finally:
        active[name] -= 1
        record({"ev": "close", "l": name, "c": cid})
        try:
            writer.close()
        except Exception:
            pass


async def finish_txn(cfg, state, cid, mail, rcpts, body, via, writer):
    record({"ev": "txn", "l": cfg["name"], "c": cid, "mail": mail, "rcpts": rcpts, "via": via,
            "body": body.decode("latin-1"), "tls": state["tls"], "auth": state["auth"], "mech": state.get("mech"), "ehlo": state["ehlo"]})
    if cfg.get("data_delay"):
        await asyncio.sleep(cfg["data_delay"])
    writer.write((cfg.get("data_reply", "250 2.0.0 accepted").replace("\\r\\n", "\r\n") + "\r\n").encode())


async def main():
    servers = []
    try:
        for cfg in CONF["listeners"]:
            implicit = cfg.get("implicit")
            ctx = tls_ctx(implicit) if implicit else None

            def handler(r, w, cfg=cfg, imp=bool(implicit)):
                return session(cfg, r, w, imp)
            servers.append(await asyncio.start_server(handler, cfg["addr"], cfg["port"], ssl=ctx,
                                                      limit=LINE_MAX, reuse_address=True))
    except OSError as e:
        print("error %s" % e, flush=True)
        sys.exit(1)
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


asyncio.run(main())

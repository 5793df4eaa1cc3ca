"""Loopback DNS servers for Tern's tests: a real NSD, a SERVFAIL server and a silent one.

Run with Debian's /usr/bin/python3 (needs python3-dnspython and the nsd package).
Everything listens on loopback only and is stopped by its own handle.

Python use::

    from ternlib.dnsserver import NSD, ServfailServer, SilentServer, zone

    z = zone("example.test", '''
        @      MX 10 mx1
        mx1    A  127.0.0.10
    ''')
    with NSD({"example.test": z}) as ns:          # ns.port, ns.addr == "127.0.0.1:PORT"
        ...                                       # point DNS.Resolvers at ns.addr
    with ServfailServer() as sf, SilentServer() as quiet:
        ...                                       # sf.addr answers SERVFAIL, quiet.addr never answers

Zone text may be a complete zone (with $ORIGIN/SOA) or, through zone(), just the
records: zone() adds $ORIGIN, $TTL, an SOA and an NS record.

DNSSEC: NSD only serves zones; validation needs a validating resolver. sign_zone()
signs zone text with fresh ECDSA P-256 keys (ldns-keygen/ldns-signzone, ldnsutils)
and returns the signed text and its DS record; Unbound runs a validating unbound
on loopback with stub zones pointing at NSD and those DS records as trust
anchors, so its answers carry the AD bit (or SERVFAIL when bogus)::

    signed, ds = sign_zone("secure.test", zone("secure.test", "@ MX 10 mx"))
    with NSD({"secure.test": signed}) as ns, Unbound({"secure.test": ns.addr}, [ds]) as ub:
        ...                                       # point DNS.Resolvers at ub.addr

Command-line use (for C tests, which cannot import Python)::

    /usr/bin/python3 dnsserver.py [--zone-dir DIR] [--zone NAME=FILE]... [--ipv6]
                                  [--sign NAME]... [--bogus NAME]... [--unbound]
                                  [--servfail] [--silent]

starts the requested servers, prints ONE line of JSON on stdout, e.g.
``{"nsd": 40123, "nsd6": 40123, "servfail": 40125, "silent": 40127}``, then runs until stdin reaches
EOF or it gets SIGTERM/SIGINT, and stops everything. --zone-dir serves every
``<zone name>.zone`` file in DIR (the file name minus ``.zone`` is the zone name).
--sign signs that zone before serving it; --bogus signs it and then alters its
first TXT record so validation fails; --unbound adds a validating unbound
("unbound": port) with a stub zone per served zone and the signed zones' DS records
as trust anchors.

NSD notes: response-rate limiting is switched off (``rrl-ratelimit: 0``; with it on,
loopback load gets truncated or dropped answers), it runs in the foreground
(``nsd -d``) without chroot or privilege drop, and all its files live in a private
temporary directory.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

NSD_BIN = shutil.which("nsd") or "/usr/sbin/nsd"
UNBOUND_BIN = shutil.which("unbound") or "/usr/sbin/unbound"
START_TIMEOUT_S = 10.0  # how long start() waits for a server to answer


def free_port(host="127.0.0.1"):
    """A port that is free on host for both UDP and TCP right now (racy, like any such helper)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.bind((host, 0))
        port = t.getsockname()[1]
        u = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            u.bind((host, port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port")


def zone(origin, records, ttl=300, serial=1):
    """Zone-file text for origin: $ORIGIN, $TTL, SOA and NS, then the given records.

    records is zone-file text relative to origin (leading indentation is removed).
    Negative answers carry the SOA, whose minimum is ttl."""
    origin = origin.rstrip(".")
    head = (f"$ORIGIN {origin}.\n$TTL {ttl}\n"
            f"@ IN SOA ns.{origin}. hostmaster.{origin}. {serial} 3600 600 86400 {ttl}\n"
            f"@ IN NS ns.{origin}.\n")
    return head + textwrap.dedent(records).strip() + "\n"


def _query_ok(host, port, qname, timeout=0.5, need_noerror=False):
    """Whether host:port answers a SOA query for qname (with need_noerror: successfully)."""
    q = dns.message.make_query(qname, dns.rdatatype.SOA)
    try:
        r = dns.query.udp(q, host, port=port, timeout=timeout)
        return not need_noerror or r.rcode() == dns.rcode.NOERROR
    except Exception:
        return False


def sign_zone(origin, text, tamper_txt=False):
    """Signs zone text for origin with new ECDSA P-256 KSK and ZSK (NSEC).

    Returns (signed zone text, DS record line for a trust anchor). With tamper_txt,
    the first TXT record's data is changed after signing, so its RRSIG no longer
    matches and a validating resolver answers SERVFAIL for it."""
    origin = origin.rstrip(".")
    d = tempfile.mkdtemp(prefix="tern-sign-")
    try:
        def run(*args):
            return subprocess.run(args, cwd=d, check=True, capture_output=True, text=True).stdout.strip()
        ksk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", origin)
        zsk = run("ldns-keygen", "-a", "ECDSAP256SHA256", origin)
        with open(os.path.join(d, "zone"), "w") as f:
            f.write(text)
        run("ldns-signzone", "-o", origin, "zone", zsk, ksk)
        with open(os.path.join(d, "zone.signed")) as f:
            signed = f.read()
        with open(os.path.join(d, ksk + ".ds")) as f:
            ds = " ".join(f.read().split())
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if tamper_txt:
        lines = signed.splitlines()
        for i, line in enumerate(lines):
            f = line.split()
            if len(f) >= 5 and f[3] == "TXT":
                lines[i] = " ".join(f[:4]) + ' "tampered after signing"'
                break
        else:
            raise ValueError("no TXT record to tamper with in " + origin)
        signed = "\n".join(lines) + "\n"
    return signed, ds


class NSD:
    """An NSD authoritative server on loopback serving the given zones.

    zones: {zone name: zone-file text}. port: fixed port or None for a free one.
    ipv6: also listen on [::1] at the same port. Use as a context manager or call
    start()/stop(). Attributes: port, addr ("127.0.0.1:PORT"), addr6 ("[::1]:PORT")."""

    def __init__(self, zones, port=None, ipv6=False):
        self.zones = {name.rstrip("."): text for name, text in zones.items()}
        if not self.zones:
            raise ValueError("NSD needs at least one zone")
        self.ipv6 = ipv6
        self.port = port
        self.dir = None
        self.proc = None

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    @property
    def addr6(self):
        return f"[::1]:{self.port}"

    def _write_conf(self):
        d = self.dir
        lines = [
            "server:",
            f"  ip-address: 127.0.0.1@{self.port}",
        ]
        if self.ipv6:
            lines.append(f"  ip-address: ::1@{self.port}")
        lines += [
            f"  port: {self.port}",
            '  username: ""',
            '  chroot: ""',
            '  database: ""',
            f'  zonesdir: "{d}"',
            f'  zonelistfile: "{d}/zone.list"',
            f'  xfrdfile: "{d}/xfrd.state"',
            f'  xfrdir: "{d}"',
            f'  pidfile: "{d}/nsd.pid"',
            f'  logfile: "{d}/nsd.log"',
            "  server-count: 1",
            "  rrl-ratelimit: 0",
            "  hide-version: yes",
            "  verbosity: 1",
            "remote-control:",
            "  control-enable: no",
        ]
        for name, text in self.zones.items():
            fn = f"{name}.zone"
            with open(os.path.join(d, fn), "w") as f:
                f.write(text)
            lines += ["zone:", f"  name: {name}", f'  zonefile: "{fn}"']
        conf = os.path.join(d, "nsd.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="tern-nsd-")
        if self.port is None:
            self.port = free_port()
        conf = self._write_conf()
        self.proc = subprocess.Popen([NSD_BIN, "-c", conf, "-d"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._errfile())
        waiting = list(self.zones)  # every zone must load, not just the server start
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self._errtext()
                log = self.log()
                self._cleanup()
                raise RuntimeError(f"nsd exited with {self.proc.returncode}: {err} {log}")
            waiting = [z for z in waiting if not _query_ok("127.0.0.1", self.port, z + ".", need_noerror=True)]
            if not waiting:
                return self
            time.sleep(0.05)
        log = self.log()
        self.stop()
        raise RuntimeError(f"nsd did not serve {waiting} within {START_TIMEOUT_S:.0f} s: {log}")

    def _errfile(self):
        # A file, not a pipe: nobody reads a pipe while the server runs, and a full one blocks it.
        self._err = open(os.path.join(self.dir, "stderr.txt"), "w+")
        return self._err

    def _errtext(self):
        self._err.seek(0)
        return self._err.read()

    def log(self):
        """NSD's log file contents so far ("" if none)."""
        try:
            with open(os.path.join(self.dir, "nsd.log")) as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._cleanup()

    def _cleanup(self):
        if getattr(self, "_err", None):
            self._err.close()
            self._err = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Unbound:
    """A validating unbound on 127.0.0.1 that asks NSD for the given zones.

    stubs: {zone name: "ip:port" of its authoritative server}. trust_anchors: DS (or
    DNSKEY) record lines; zones without one are answered without AD. Attributes:
    port, addr ("127.0.0.1:PORT"). Use as a context manager or start()/stop()."""

    def __init__(self, stubs, trust_anchors=(), port=None):
        self.stubs = {n.rstrip("."): a for n, a in stubs.items()}
        self.anchors = list(trust_anchors)
        self.port = port
        self.dir = None
        self.proc = None

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def _write_conf(self):
        d = self.dir
        lines = [
            "server:",
            f"  interface: 127.0.0.1@{self.port}",
            f"  port: {self.port}",
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{d}"',
            f'  pidfile: "{d}/unbound.pid"',
            "  use-syslog: no",
            f'  logfile: "{d}/unbound.log"',
            "  verbosity: 1",
            "  do-ip6: no",
            "  do-not-query-localhost: no",
            "  access-control: 127.0.0.0/8 allow",
            '  module-config: "validator iterator"',
            "  qname-minimisation: no",
            "  num-threads: 1",
            "  val-log-level: 1",
        ]
        # unbound answers .test, .arpa reverse zones and friends itself unless told not to.
        tops = sorted({n for name in self.stubs for n in (name, name.split(".")[-1])})
        lines += [f'  local-zone: "{n}." nodefault' for n in tops]
        # No root trust anchor: zones without an anchor of their own are insecure.
        for a in self.anchors:
            lines.append(f'  trust-anchor: "{a}"')
        for name, addr in self.stubs.items():
            host, _, port = addr.rpartition(":")
            lines += ["stub-zone:", f'  name: "{name}"', f"  stub-addr: {host}@{port}"]
        conf = os.path.join(d, "unbound.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="tern-unbound-")
        if self.port is None:
            self.port = free_port()
        conf = self._write_conf()
        self.proc = subprocess.Popen([UNBOUND_BIN, "-d", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._errfile())
        first = next(iter(self.stubs))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self._errtext()
                self._cleanup()
                raise RuntimeError(f"unbound exited with {self.proc.returncode}: {err}")
            if _query_ok("127.0.0.1", self.port, first + "."):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("unbound did not answer within %.0f s" % START_TIMEOUT_S)

    def log(self):
        """unbound's log file contents so far ("" if none)."""
        try:
            with open(os.path.join(self.dir, "unbound.log")) as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    stop = NSD.stop
    _cleanup = NSD._cleanup
    _errfile = NSD._errfile
    _errtext = NSD._errtext
    __enter__ = NSD.__enter__
    __exit__ = NSD.__exit__


class _UDPServer:
    """Base for the small Python servers: UDP (and a TCP listener) on 127.0.0.1."""

    def __init__(self, port=None):
        self.port = port
        self.udp = self.tcp = None
        self.thread = None
        self._stop = threading.Event()
        self.queries = 0  # UDP queries received

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def answer(self, wire):
        """Reply bytes for one query, or None to stay silent."""
        raise NotImplementedError

    def start(self):
        if self.port is None:
            self.port = free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.1)
        # A TCP listener that never reads: a TCP retry blocks until its timeout too.
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(64)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                wire, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.queries += 1
            try:
                reply = self.answer(wire)
            except Exception:
                reply = None  # unparsable query: stay silent
            if reply is not None:
                self.udp.sendto(reply, peer)

    def stop(self):
        self._stop.set()
        if self.thread:
            self.thread.join(timeout=5)
        for s in (self.udp, self.tcp):
            if s:
                s.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class ServfailServer(_UDPServer):
    """Answers every UDP query with SERVFAIL (RD/RA copied, no records)."""

    def answer(self, wire):
        q = dns.message.from_wire(wire)
        r = dns.message.make_response(q)
        r.set_rcode(dns.rcode.SERVFAIL)
        r.flags |= dns.flags.RA
        return r.to_wire()


class SilentServer(_UDPServer):
    """Receives queries and never answers (every query times out)."""

    def answer(self, wire):
        return None


def _main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zone-dir")
    ap.add_argument("--zone", action="append", default=[], metavar="NAME=FILE")
    ap.add_argument("--ipv6", action="store_true")
    ap.add_argument("--sign", action="append", default=[], metavar="NAME")
    ap.add_argument("--bogus", action="append", default=[], metavar="NAME")
    ap.add_argument("--unbound", action="store_true")
    ap.add_argument("--servfail", action="store_true")
    ap.add_argument("--silent", action="store_true")
    a = ap.parse_args(argv)
    zones = {}
    if a.zone_dir:
        for fn in sorted(os.listdir(a.zone_dir)):
            if fn.endswith(".zone"):
                with open(os.path.join(a.zone_dir, fn)) as f:
                    zones[fn[:-5]] = f.read()
    for spec in a.zone:
        name, _, path = spec.partition("=")
        with open(path) as f:
            zones[name] = f.read()
    anchors = []
    for name in a.sign + a.bogus:
        zones[name], ds = sign_zone(name, zones[name], tamper_txt=name in a.bogus)
        anchors.append(ds)
    servers, ports = [], {}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if zones:
            ns = NSD(zones, ipv6=a.ipv6).start()
            servers.append(ns)
            ports["nsd"] = ns.port
            if a.ipv6:
                ports["nsd6"] = ns.port
            if a.unbound:
                ub = Unbound({name: ns.addr for name in zones}, anchors).start()
                servers.append(ub)
                ports["unbound"] = ub.port
        if a.servfail:
            servers.append(ServfailServer().start())
            ports["servfail"] = servers[-1].port
        if a.silent:
            servers.append(SilentServer().start())
            ports["silent"] = servers[-1].port
        print(json.dumps(ports), flush=True)
        # Until stdin closes (the parent exited or closed its pipe) or a signal.
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        while not stop.wait(0.2):
            pass
    finally:
        for s in reversed(servers):
            s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

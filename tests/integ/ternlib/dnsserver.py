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

Command-line use (for C tests, which cannot import Python)::

    /usr/bin/python3 dnsserver.py [--zone-dir DIR] [--zone NAME=FILE]... [--ipv6]
                                  [--servfail] [--silent]

starts the requested servers, prints ONE line of JSON on stdout, e.g.
``{"nsd": 40123, "nsd6": 40123, "servfail": 40125, "silent": 40127}``, then runs until stdin reaches
EOF or it gets SIGTERM/SIGINT, and stops everything. --zone-dir serves every
``<zone name>.zone`` file in DIR (the file name minus ``.zone`` is the zone name).

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


def _query_ok(host, port, qname, timeout=0.5):
    """Whether host:port answers a SOA query for qname (any rcode counts as an answer)."""
    q = dns.message.make_query(qname, dns.rdatatype.SOA)
    try:
        dns.query.udp(q, host, port=port, timeout=timeout)
        return True
    except Exception:
        return False


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
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        first = next(iter(self.zones))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
                log = self.log()
                self._cleanup()
                raise RuntimeError(f"nsd exited with {self.proc.returncode}: {err} {log}")
            if _query_ok("127.0.0.1", self.port, first + "."):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("nsd did not answer within %.0f s" % START_TIMEOUT_S)

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
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        self._cleanup()

    def _cleanup(self):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


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

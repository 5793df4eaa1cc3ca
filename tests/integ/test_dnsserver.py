"""The loopback DNS servers of ternlib.dnsserver, which later tests build on:
NSD from zone text, SERVFAIL and silent servers, zone signing plus a validating
unbound, and the command-line mode the C tests use. Checked with dnspython."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dns.exception  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

from ternlib.dnsserver import NSD, ServfailServer, SilentServer, Unbound, sign_zone, zone  # noqa: E402


def ask(addr, name, rdtype, timeout=2.0, want_dnssec=False):
    host, _, port = addr.rpartition(":")
    q = dns.message.make_query(name, rdtype, want_dnssec=want_dnssec)
    return dns.query.udp(q, host.strip("[]"), port=int(port), timeout=timeout)


class DNSServerTest(unittest.TestCase):
    def test_nsd_serves_zone_text_and_stops(self):
        z = zone("mod.test", """
            @    MX 10 mx
            mx   A  127.0.0.80
        """)
        ns = NSD({"mod.test": z}).start()
        try:
            r = ask(ns.addr, "mod.test", "MX")
            self.assertEqual(r.rcode(), dns.rcode.NOERROR)
            self.assertEqual([str(rr.exchange) for rr in r.answer[0]], ["mx.mod.test."])
            self.assertEqual(ask(ns.addr, "none.mod.test", "A").rcode(), dns.rcode.NXDOMAIN)
            # Rate limiting is off: a burst is answered in full.
            for i in range(300):
                self.assertEqual(ask(ns.addr, f"n{i}.mod.test", "A").rcode(), dns.rcode.NXDOMAIN)
        finally:
            ns.stop()
        self.assertIsNotNone(ns.proc.poll())
        with self.assertRaises(dns.exception.Timeout):
            ask(ns.addr, "mod.test", "MX", timeout=0.3)

    def test_servfail_and_silent_servers(self):
        with ServfailServer() as sf, SilentServer() as quiet:
            self.assertEqual(ask(sf.addr, "x.test", "MX").rcode(), dns.rcode.SERVFAIL)
            with self.assertRaises(dns.exception.Timeout):
                ask(quiet.addr, "x.test", "MX", timeout=0.3)
            self.assertEqual(quiet.queries, 1)

    def test_signed_zone_validated_by_unbound(self):
        text = zone("signed.test", """
            @  MX  10 mx
            mx A   127.0.0.81
            @  TXT "original"
        """)
        good, ds = sign_zone("signed.test", text)
        bad, ds_bad = sign_zone("bad.test", text.replace("signed.test", "bad.test"), tamper_txt=True)
        with NSD({"signed.test": good, "bad.test": bad}) as ns, \
                Unbound({"signed.test": ns.addr, "bad.test": ns.addr}, [ds, ds_bad]) as ub:
            r = ask(ub.addr, "signed.test", "MX", want_dnssec=True)
            self.assertEqual(r.rcode(), dns.rcode.NOERROR)
            self.assertTrue(r.flags & dns.flags.AD)
            self.assertEqual(ask(ub.addr, "bad.test", "TXT", want_dnssec=True).rcode(), dns.rcode.SERVFAIL)
            self.assertFalse(ask(ns.addr, "signed.test", "MX", want_dnssec=True).flags & dns.flags.AD)

    def test_command_line_mode(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ternlib", "dnsserver.py")
        zones = os.path.join(os.environ.get("TERN_SRC", os.path.join(os.path.dirname(__file__), "..", "..")),
                             "tests", "unit", "actors", "dns_zones")
        p = subprocess.Popen(["/usr/bin/python3", script, "--zone-dir", zones, "--servfail"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            ports = json.loads(p.stdout.readline())
            self.assertEqual(ask(f"127.0.0.1:{ports['nsd']}", "example.test", "MX").rcode(), dns.rcode.NOERROR)
            self.assertEqual(ask(f"127.0.0.1:{ports['servfail']}", "x.test", "A").rcode(), dns.rcode.SERVFAIL)
        finally:
            p.stdin.close()  # EOF stops it
            self.assertEqual(p.wait(timeout=20), 0)
            p.stdout.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)

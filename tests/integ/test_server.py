"""The binary and its control socket (README "The binary"): version and help without a
server, status/metrics through DataDir/ctl, exit statuses, a second server on the same
DataDir refused with a clear message, the stale control socket of a killed server replaced."""
import os
import socket
import subprocess
import time

from ternlib import check
from ternlib.server import TERN_BIN, TernServer, free_port


def run(*args, **kw):
    return subprocess.run([TERN_BIN, *args], capture_output=True, text=True, timeout=60, **kw)


def test_version_and_help_need_no_server():
    r = run("version")
    assert r.returncode == 0 and r.stdout.startswith("tern "), r
    r = run("help")
    assert r.returncode == 0 and "usage: tern" in r.stdout, r
    r = run("-nosuchflag", "status")
    assert r.returncode == 2, r


def test_cli_without_server_fails_with_status_1():
    srv = TernServer(name="tern-noserver")
    try:
        r = srv.cli("status", check=False)
        assert r.returncode == 1 and "no server running" in r.stderr, r
    finally:
        srv.close()


def test_status_metrics_second_server_and_stale_socket():
    srv = TernServer(name="tern-server")
    try:
        srv.start()
        r = srv.cli("status")
        assert "hostname mail.example.test" in r.stdout and "workers " in r.stdout, r.stdout
        m = srv.metrics()
        assert "tern_smtp_sessions" in m, list(m)[:5]
        r = srv.cli("no", "such", "command", check=False)
        assert r.returncode == 2 and "unknown command" in r.stderr, r
        second = run("-config", srv.config, "serve")
        assert second.returncode == 1, second
        assert "in use by another tern process" in second.stderr, second.stderr
        srv.kill9()
        assert os.path.exists(os.path.join(srv.dir, "data", "ctl")), "the killed server's socket stays behind"
        srv.start()  # replaces the stale socket and binds the ports again at once
        assert srv.cli("status").returncode == 0
        srv.stop_clean()
    finally:
        srv.close()


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


def raw_http(port, text, wait=10):
    """Sends text (no blank line: an unfinished head) and reads until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as c:
        c.sendall(text.encode())
        out = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return out
            out += chunk


def test_metrics_http_with_curl():
    """MetricsHTTP answers a real HTTP client: GET /metrics (also with a query) is the
    Prometheus text, HEAD has the headers only, other paths 404, other methods 405."""
    port = free_port()
    srv = TernServer(name="tern-mhttp", listener_fields={"MetricsHTTP": {"Enabled": True, "Port": port}})
    base = f"http://127.0.0.1:{port}"
    try:
        srv.start()
        code, body = curl(base + "/metrics")
        assert code == 200 and "# TYPE tern_smtp_sessions gauge" in body, (code, body[:200])
        assert "tern_smtpserver_connection_total" in body or "tern_store_commits_total" in body
        code, body = curl(base + "/metrics?name=x")
        assert code == 200 and "tern_smtp_sessions" in body
        r = subprocess.run(["curl", "-sS", "-I", "--max-time", "10", base + "/metrics"],
                           capture_output=True, text=True, timeout=30)
        assert r.stdout.startswith("HTTP/1.1 200") and "Content-Length:" in r.stdout, r.stdout
        assert "text/plain; version=0.0.4" in r.stdout, r.stdout
        assert curl(base + "/") == (404, "not found; see /metrics\n")
        assert curl(base + "/metricsx") == (404, "not found; see /metrics\n")
        assert curl("-X", "POST", "--data", "x", base + "/metrics") == (405, "method not allowed\n")
        # A head over 8 KiB gets 431, one that never ends gets 408 after 10 s; both close.
        too_long = "GET /metrics HTTP/1.1\r\n" + "X-Pad: " + "a" * 9000 + "\r\n"
        assert raw_http(port, too_long).startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
        t0 = time.monotonic()
        reply = raw_http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n", wait=20)
        assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), reply[:100]
        assert 9 <= time.monotonic() - t0 < 20
        srv.stop_clean()
    finally:
        srv.close()


if __name__ == "__main__":
    check.run(globals())

"""Shared setup of the relay tests: an `app` account that submits without AUTH from
RelayNetworks (smtp.md §13a) with no send limits, SMTP transports to loopback ports,
and Postfix's smtp-sink as the receiving peer."""
import contextlib
import os
import socket
import subprocess
import time

from ternlib.server import DEFAULT_DOMAINS, TernServer, free_port

SUBMISSION = {"NoRequireSTARTTLS": True, "RelayNetworks": ["127.0.0.0/8"], "RelayAccount": "app",
              "RelayAnySender": True}

SINK = "/usr/sbin/smtp-sink"


def relay_server(name, transports, routes="  - Transport: sink\n", **kw):
    """A TernServer relaying for 127.0.0.0/8: transports is {name: loopback port} (plain
    SMTP, no STARTTLS), routes the YAML list under `Routes:` in domains.conf."""
    static = "Transports:\n" + "".join(
        f"  {t}:\n    SMTP: {{Host: 127.0.0.1, Port: {port}, NoSTARTTLS: true}}\n" for t, port in transports.items())
    return TernServer(name=name, domains=DEFAULT_DOMAINS + "Routes:\n" + routes, submission=SUBMISSION,
                      extra_static=static, **kw)


def start_sink(port, out, args=(), backlog=100):
    """smtp-sink on 127.0.0.1:port with extra args (e.g. -c, -D file), stdout to the open
    file out; as root it drops to nobody. Returns the process once the port answers."""
    argv = [SINK, *args] + (["-u", "nobody"] if os.geteuid() == 0 else [])
    p = subprocess.Popen(argv + [f"127.0.0.1:{port}", str(backlog)], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    p.wait()
    raise RuntimeError("smtp-sink did not start")


@contextlib.contextmanager
def relay_to_sink(name, sink_args=(), backlog=100, more_transports=None, routes="  - Transport: sink\n"):
    """A relay_server whose transport `sink` goes to a fresh smtp-sink (stdout in
    srv.dir/sink.out); yields (srv, sink) and kills the sink and removes the server's
    directory on the way out."""
    sink_port = free_port()
    srv = relay_server(name, {"sink": sink_port, **(more_transports or {})}, routes)
    try:
        with open(os.path.join(srv.dir, "sink.out"), "wb") as out:
            sink = start_sink(sink_port, out, sink_args, backlog)
        try:
            yield srv, sink
        finally:
            sink.kill()
            sink.wait()
    finally:
        srv.close()

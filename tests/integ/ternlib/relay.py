"""Shared setup of the relay tests: an `app` account that submits without AUTH from
RelayNetworks (smtp.md §13a) with no send limits, SMTP transports to loopback ports,
and Postfix's smtp-sink as the receiving peer."""
import os
import socket
import subprocess
import time

from ternlib.server import TernServer

ACCOUNTS = """Domains:
  example.test: {}
Accounts:
  admin:
    Domain: example.test
    Destinations:
      admin@example.test: {}
  app:
    Domain: example.test
    Destinations:
      app@example.test: {}
    MaxOutgoingMessagesPerDay: -1
    MaxFirstTimeRecipientsPerDay: -1
"""

SUBMISSION = {"NoRequireSTARTTLS": True, "RelayNetworks": ["127.0.0.0/8"], "RelayAccount": "app",
              "RelayAnySender": True}

SINK = "/usr/sbin/smtp-sink"


def relay_server(name, transports, routes="  - Transport: sink\n", **kw):
    """A TernServer relaying for 127.0.0.0/8: transports is {name: loopback port} (plain
    SMTP, no STARTTLS), routes the YAML list under `Routes:` in domains.conf."""
    static = "Transports:\n" + "".join(
        f"  {t}:\n    SMTP: {{Host: 127.0.0.1, Port: {port}, NoSTARTTLS: true}}\n" for t, port in transports.items())
    return TernServer(name=name, domains=ACCOUNTS + "Routes:\n" + routes, submission=SUBMISSION,
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

"""Relay end to end with real peers: smtp-source submits over the submission port
(RelayNetworks, no AUTH), Tern queues durably and delivers over an SMTP transport
route into Postfix's smtp-sink. Every message must arrive exactly once and the
queue must drain; run under the sanitizer build this also shakes out races between
the queue, the router and the connections (bounded: a few thousand messages)."""
import os
import re
import subprocess
import time

from ternlib import check
from ternlib.relay import relay_to_sink

N = int(os.environ.get("TERN_RELAY_N", "3000"))

def test_relay_smtp_source_to_sink_exactly_once():
    with relay_to_sink("tern-relay", ["-c"], backlog=1000) as (srv, sink):
        srv.start()
        r = subprocess.run(["/usr/sbin/smtp-source", "-s", "20", "-m", str(N), "-l", "1024", "-f", "a@example.org",
                            "-t", "b@remote.test", f"127.0.0.1:{srv.ports['submission']}"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        deadline = time.time() + 120
        while time.time() < deadline:
            m = srv.metrics()
            if m.get('tern_queue_deliveries_total{result="delivered"}', 0) >= N and not srv.cli("queue", "list").stdout:
                break
            time.sleep(0.2)
        m = srv.metrics()
        brief = {k: v for k, v in m.items() if k.startswith(("tern_queue_", "tern_smtpserver_submission"))
                 and "_bucket" not in k}
        assert m.get('tern_smtpserver_submission_total{result="ok"}') == N, brief
        assert m.get('tern_queue_deliveries_total{result="delivered"}') == N, brief
        assert srv.cli("queue", "list").stdout == "", "queue not empty"
        sink.terminate()  # smtp-sink writes its counter out when it exits
        sink.wait(timeout=10)
        with open(os.path.join(srv.dir, "sink.out"), "rb") as f:
            counts = [int(x) for x in re.findall(rb"mesg=(\d+)", f.read())]
        assert counts and counts[-1] == N, f"sink counted {counts[-1:] or 0} messages, want {N}"
        srv.stop_clean()


if __name__ == "__main__":
    check.run(globals())

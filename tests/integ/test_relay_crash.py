"""kill -9 during a delivery burst (queue.md: nothing lost, duplicates at most what
was in flight), with real peers: Python's smtplib submits N messages, each with its
own X-Test-Id, while a hold rule keeps them queued; the rule is removed and every
record unheld, and Tern is killed with SIGKILL once Postfix's smtp-sink has taken
part of the burst. After the restart the queue must drain, every id that got "250"
must be in the sink's dump at least once. The records that were in flight wait for
their retry time after the restart (attempt accounting is committed before the first
command): they must be no more than the in-flight credit (flight_max, from Tern's
start-up log line), and the ids seen twice no more than they are."""
import os
import re
import shutil
import smtplib
import tempfile
import threading
import time

from ternlib import check
from ternlib.relay import relay_server, start_sink
from ternlib.server import free_port

N = int(os.environ.get("TERN_CRASH_N", "1200"))
CLIENTS = 4

def start_dump_sink(directory, port):
    """smtp-sink with -c (running count on stdout) and -D (every transaction appended to
    one dump file); it runs as nobody, so the directory is world-writable."""
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o1777)
    with open(os.path.join(directory, "count"), "wb") as out:
        return start_sink(port, out, ["-c", "-D", os.path.join(directory, "dump")], backlog=256)


def sink_count(directory):
    try:
        with open(os.path.join(directory, "count"), "rb") as f:
            counts = re.findall(rb"mesg=(\d+)", f.read()[-512:])
    except OSError:
        return 0
    return int(counts[-1]) if counts else 0


def submit(port, ids, acked, lock):
    """Sends one message per id over one connection; records the ids answered 250."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.ehlo("app.example.test")
        for i in ids:
            msg = (f"From: app@example.test\r\nTo: rcpt@remote.test\r\nSubject: crash {i}\r\n"
                   f"Message-Id: <crash-{i}@example.test>\r\nX-Test-Id: crash-{i}\r\n\r\n"
                   + "body line for the crash test\r\n" * 20)
            c.sendmail("app@example.test", [f"rcpt{i % 7}@remote.test"], msg)
            with lock:
                acked.add(i)


def test_kill9_during_delivery_burst_loses_nothing():
    sink_port = free_port()
    srv = relay_server("tern-crash", {"sink": sink_port})
    sink_dir = tempfile.mkdtemp(prefix="tern-crash-sink-")  # outside srv.dir (0700): smtp-sink runs as nobody
    sink = start_dump_sink(sink_dir, sink_port)
    try:
        srv.start()
        out = srv.cli("queue", "holdrule", "add").stdout.strip()
        rule = re.match(r"id (\d+): all messages$", out)
        assert rule, out
        acked, lock = set(), threading.Lock()
        threads = [threading.Thread(target=submit, args=(srv.ports["submission"], range(k, N, CLIENTS), acked, lock))
                   for k in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert len(acked) == N, f"{len(acked)} of {N} submissions acknowledged"
        assert sink_count(sink_dir) == 0, "a held message was delivered"

        srv.cli("queue", "holdrule", "remove", rule.group(1))
        assert re.match(r"\d+ messages changed$", srv.cli("queue", "unhold").stdout.strip())
        check.wait_until("a third of the burst at the sink", lambda: sink_count(sink_dir) >= N // 3, timeout=120,
                         interval=0.05)
        srv.kill9()
        at_kill = sink_count(sink_dir)
        with open(srv.log_path, "rb") as f:
            flight = re.findall(rb"flight_max=(\d+)", f.read())
        assert flight, "no flight_max in the start-up log"
        flight_max = int(flight[-1])

        srv.start()
        # Attempt accounting moved each in-flight record's NextAttempt before its first
        # command: the restarted queue delivers everything else, and those wait.
        last = [-1, time.time()]

        def settled():
            n = sink_count(sink_dir)
            if n != last[0]:
                last[:] = [n, time.time()]
            return time.time() - last[1] > 3
        check.wait_until("delivery to settle after the restart", settled, timeout=180)
        waiting = srv.cli("queue", "list").stdout.splitlines()
        assert len(waiting) <= flight_max, f"{len(waiting)} records wait, more than the credit {flight_max}"
        out = srv.cli("queue", "schedule", "-now", "0").stdout.strip()
        assert re.match(r"\d+ messages changed$", out), out
        check.wait_until("the queue to drain after the restart",
                         lambda: sink_count(sink_dir) >= N and srv.cli("queue", "list").stdout == "", timeout=180)
        srv.stop_clean()
        sink.terminate()  # the dump and the counter are complete once smtp-sink has exited
        sink.wait(timeout=10)

        with open(os.path.join(sink_dir, "dump"), "rb") as f:
            seen = {}
            for m in re.findall(rb"X-Test-Id: crash-(\d+)", f.read()):
                seen[int(m)] = seen.get(int(m), 0) + 1
        lost = sorted(acked - set(seen))
        dups = sorted(i for i, c in seen.items() if c > 1)
        print(f"killed at {at_kill} of {N} delivered; {len(waiting)} waited for their retry time; "
              f"lost {len(lost)}, duplicates {len(dups)}, "
              f"flight_max {flight_max}")
        assert not lost, f"lost after kill -9: {lost[:20]}"
        assert max(seen.values()) <= 2, "a message was delivered three times"
        # A duplicate is a message the sink took whose result the kill cut off: it was in
        # flight, so it is one of the records that waited for their retry time.
        assert len(dups) <= len(waiting), f"{len(dups)} duplicates > {len(waiting)} records in flight"
        assert set(seen) <= acked, "the sink got a message that was never acknowledged"
    finally:
        sink.kill()
        sink.wait()
        srv.close()
        shutil.rmtree(sink_dir, ignore_errors=True)


if __name__ == "__main__":
    check.run(globals())

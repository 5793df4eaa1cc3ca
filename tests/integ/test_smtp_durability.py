"""Durability of "250" (smtp.md §6, badinput #69-#71): parallel clients submit
messages while the server is killed with SIGKILL at a random moment; after a
restart every message that got "250" must be in the queue, intact (its body
hash matches), and nothing half-written may show up. Repeated several times,
bounded in time. Delivery is paused with a hold rule so the queue only grows."""
import os
import random
import smtplib
import subprocess
import threading
import time

from ternlib import check
from ternlib.relay import SUBMISSION
from ternlib.server import TERN_BIN, TernServer

CLIENTS = 8
ROUNDS = int(os.environ.get("TERN_KILL_ROUNDS", "5"))
DEADLINE = time.time() + float(os.environ.get("TERN_KILL_SECONDS", "120"))

def body_for(token):
    return (f"From: app@example.test\r\nTo: r{token}@remote.test\r\nSubject: durability {token}\r\n"
            f"Message-Id: <{token}@client.test>\r\n\r\n" + ("line %s\r\n" % token) * 40).encode()


def client(port, prefix, acked, stop):
    n = 0
    while not stop.is_set():
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=10)
            s.ehlo("client.test")
            while not stop.is_set():
                token = f"{prefix}x{n}"
                n += 1
                s.sendmail("app@example.test", [f"r{token}@remote.test"], body_for(token))
                acked.append(token)  # only after the 250
        except Exception:
            time.sleep(0.01)


def queued(srv):
    """{token: queue id} for every record in the queue."""
    out = {}
    for line in srv.cli("queue", "list").stdout.splitlines():
        parts = line.split()
        for p in parts:
            if p.startswith("to:r") and p.endswith("@remote.test"):
                out[p[4:-len("@remote.test")]] = parts[0]
    return out


def test_kill9_loop_nothing_acknowledged_is_lost():
    srv = TernServer(submission=SUBMISSION)
    total_acked = kills = 0
    try:
        srv.start()
        srv.cli("queue", "holdrule", "add")
        for rnd in range(ROUNDS):
            if time.time() > DEADLINE:
                break
            acked, stop = [], threading.Event()
            threads = [threading.Thread(target=client, args=(srv.ports["submission"], f"{rnd}c{i}", acked, stop))
                       for i in range(CLIENTS)]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.3, 1.5))
            srv.kill9()
            kills += 1
            stop.set()
            for t in threads:
                t.join(timeout=30)
            srv.start()
            have = queued(srv)
            missing = [t for t in acked if t not in have]
            assert not missing, f"round {rnd}: {len(missing)} acknowledged messages lost, e.g. {missing[:5]}"
            # Every acknowledged message is intact: spot-check up to 20 bodies byte for byte.
            for token in random.sample(acked, min(20, len(acked))):
                dump = subprocess.run([TERN_BIN, "-config", srv.config, "queue", "dump", have[token]],
                                      capture_output=True, timeout=30).stdout
                want = body_for(token)
                assert dump.endswith(want), f"round {rnd}: message {token} corrupted"
            total_acked += len(acked)
        print(f"kills={kills} acknowledged={total_acked} lost=0")
        assert kills >= 1 and total_acked > 0
        srv.stop_clean()
    finally:
        srv.close()


if __name__ == "__main__":
    check.run(globals())

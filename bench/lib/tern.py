"""A Tern instance for the rig: config generation, life cycle, queue CLI.

DESIGN: everything is written from the spec's interfaces only (config.md,
smtp.md §13a, queue.md §13, README "The binary"), so the harness works the day
the server does: a Submission listener on a loopback port whose RelayNetworks
is 127.0.0.0/8 (no AUTH, no STARTTLS needed), owned by RelayAccount `bench`
with send limits lifted, a transport `sink` of type SMTP (NoSTARTTLS) to the
sink and one global route to it, so no DNS is involved. Delivery is paused
with a hold rule (`queue holdrule add`, which holds new and existing records)
and resumed with `holdrule remove` + `queue unhold`. Any step that fails
because the binary cannot do it yet raises NotRunnable with the reason, which
the report prints instead of a number.
"""
import os
import re
import shutil
import signal
import subprocess
import time

from procs import (BenchError, NotRunnable, free_port, register_stopper, run, spawn,
                   stop, unregister_stopper, wait_smtp_greeting)

START_TIMEOUT = 30
STOP_TIMEOUT = 40      # badinput.md #79: a transfer in progress gets 30 s
CLI_TIMEOUT = 120

TERN_CONF = """# Benchmark instance (bench/lib/tern.py).
Hostname: tern.bench.test
DataDir: ../data
LogLevel: {loglevel}
User: "{user}"
Postmaster:
  Account: bench
  Mailbox: Postmaster
Listeners:
  bench:
    IPs: [127.0.0.1]
    Submission:
      Enabled: true
      Port: {port}
      NoRequireSTARTTLS: true
      RelayNetworks: [127.0.0.0/8]
      RelayAccount: bench
      RelayAnySender: true
Transports:
  sink:
    SMTP:
      Host: 127.0.0.1
      Port: {sink_port}
      NoSTARTTLS: true
{queue}"""

DOMAINS_CONF = """# Benchmark instance (bench/lib/tern.py).
Domains:
  tern.bench.test: {}
Accounts:
  bench:
    Domain: tern.bench.test
    Destinations:
      bench@tern.bench.test: {}
    MaxOutgoingMessagesPerDay: -1
    MaxFirstTimeRecipientsPerDay: -1
Routes:
  - Transport: sink
"""


def default_binary():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(root, "build", "tern")


class Tern:
    name = "tern"
    durability = "D1"
    single_process = True

    def __init__(self, workdir, sink_port, binary=None, loglevel="info", queue_opts=None):
        self.bin = binary or default_binary()
        if not os.access(self.bin, os.X_OK):
            raise NotRunnable(f"{self.bin} missing (cmake -S . -B build "
                              "-DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 --target tern)")
        r = run([self.bin, "version"], timeout=20, check=False)
        if r.returncode != 0:
            raise NotRunnable(f"`tern version` failed ({r.returncode})")
        self.version = r.stdout.strip()
        self.base = os.path.join(workdir, "tern")
        self.conf_dir = os.path.join(self.base, "conf")
        self.data = os.path.join(self.base, "data")
        self.conf = os.path.join(self.conf_dir, "tern.conf")
        self.log = os.path.join(self.base, "tern.log")
        self.port = free_port()
        self.sink_port = sink_port
        self.loglevel = loglevel
        self.queue_opts = queue_opts or {}
        self.p = None
        self.hold_rule = None
        self.cpus = None       # taskset CPU list for the server, set by the rig
        self._write_config()

    def _write_config(self):
        os.makedirs(self.conf_dir, exist_ok=True)
        queue = ""
        if self.queue_opts:
            queue = "Queue:\n" + "".join(f"  {k}: {v}\n" for k, v in self.queue_opts.items())
        with open(self.conf, "w") as f:
            f.write(TERN_CONF.format(loglevel=self.loglevel, user=os.geteuid(), port=self.port,
                                     sink_port=self.sink_port, queue=queue))
        with open(os.path.join(self.conf_dir, "domains.conf"), "w") as f:
            f.write(DOMAINS_CONF)

    # -- life cycle -------------------------------------------------------
    def start(self):
        """Starts `tern serve`; returns seconds until the listener greets."""
        t = time.monotonic()
        self.p = spawn([self.bin, "-config", self.conf, "serve"], log=self.log, cpus=self.cpus)
        register_stopper("tern", self.stop)
        try:
            wait_smtp_greeting(self.port, START_TIMEOUT, alive=lambda: self.p.poll() is None)
        except BenchError as e:
            rc = self.p.poll()
            stop(self.p, grace=2)
            self.p = None
            why = f"serve exited with status {rc}" if rc is not None else str(e)
            raise NotRunnable(f"{why}: {self._log_tail()}")
        return time.monotonic() - t

    def _log_tail(self):
        try:
            with open(self.log, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 300))
                lines = f.read().decode(errors="replace").strip().splitlines()
                return lines[-1] if lines else "(no output)"
        except OSError:
            return "(no log)"

    def pids(self):
        return [self.p.pid] if self.p and self.p.poll() is None else []

    def main_pid(self):
        return self.p.pid if self.p and self.p.poll() is None else None

    def stop(self):
        try:
            self.reap_flush()
        finally:
            if self.p:
                stop(self.p, grace=STOP_TIMEOUT)
                self.p = None
            unregister_stopper(self.stop)

    def kill9(self):
        if self.p:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait(timeout=10)
            self.p = None
        unregister_stopper(self.stop)

    # -- queue CLI ----------------------------------------------------------
    def cli(self, *args, timeout=CLI_TIMEOUT):
        r = run([self.bin, "-config", self.conf] + list(args), timeout=timeout, check=False)
        if r.returncode != 0:
            raise NotRunnable(f"`tern {' '.join(args)}` failed ({r.returncode}): "
                              f"{(r.stderr or r.stdout).strip()[-200:]}")
        return r.stdout

    def queue_empty(self):
        return self.cli("queue", "list", "-n", "1").strip() == ""

    def queue_count(self):
        return len(self.cli("queue", "list", timeout=3600).splitlines())

    def held_count(self):
        return len(self.cli("queue", "list", "-hold", "true", timeout=3600).splitlines())

    def purge(self):
        self.cli("queue", "drop", timeout=3600)

    def ingest_port(self):
        return self.port

    def hold_begin(self):
        """Pauses delivery with a hold rule for all messages; returns the port."""
        out = self.cli("queue", "holdrule", "add").strip()
        m = re.match(r"id (\d+): all messages$", out)
        if not m:
            raise NotRunnable(f"`queue holdrule add` printed {out[:80]!r}, not 'id <n>: all messages'")
        self.hold_rule = m.group(1)
        return self.port

    def hold_end(self):
        if self.hold_rule is not None:
            self.cli("queue", "holdrule", "remove", self.hold_rule)
            self.hold_rule = None

    def release_all(self):
        """Removes the hold rule and unholds every record."""
        self.hold_end()
        out = self.cli("queue", "unhold", timeout=3600).strip()
        if not re.match(r"\d+ messages changed$", out):
            raise BenchError(f"`queue unhold` printed {out[:80]!r}")
        return int(out.split()[0])

    def flush(self):
        """The counterpart of `postqueue -f`: `queue schedule -now 0` of the records whose
        NextAttempt lies ahead. Those are the ones in flight at a kill -9: their
        NextAttempt moved before their first command (queue.md §3), so without this
        they wait for their first retry. Runs in the background, as postqueue -f only
        asks the queue manager: the operation walks the whole queue (500 k records
        in W5) while restart → first delivery is being measured; `reap_flush` checks it."""
        self.reap_flush()
        argv = [self.bin, "-config", self.conf, "queue", "schedule", "-nextattempt", ">1m", "-now", "0"]
        self.flush_p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def reap_flush(self):
        p, self.flush_p = getattr(self, "flush_p", None), None
        if p is None:
            return
        out = p.communicate(timeout=3600)[0].decode("utf-8", "replace").strip()
        if p.returncode != 0 or not re.match(r"\d+ messages changed$", out):
            raise BenchError(f"`queue schedule -now 0` failed ({p.returncode}): {out[:80]!r}")

    def describe(self):
        return {"version": self.version, "binary": self.bin, "durability": self.durability,
                "config": self.conf_dir, "loglevel": self.loglevel,
                "queue": self.queue_opts or "defaults"}

    def cleanup_files(self):
        shutil.rmtree(self.base, ignore_errors=True)


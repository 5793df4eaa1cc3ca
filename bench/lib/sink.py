"""The receiving end of the rig: Postfix's smtp-sink on a loopback port.

DESIGN: the sink runs with `-c`, which writes running counters
("sess=.. quit=.. mesg=..", CR-separated) to stdout after every session end,
QUIT and "."; stdout goes to a file and `count()` reads the last complete
record from its tail, so counting costs the sink nothing extra. For W5 the
sink also appends every transaction to one dump file (`-D`), from which
`bench_ids()` counts each X-Bench-Id header, i.e. lost and duplicated
messages. As root the sink needs `-u nobody`, so its directory must be
writable by nobody.
"""
import os
import re

from procs import BenchError, spawn, stop, wait_smtp_greeting

SINK = "/usr/sbin/smtp-sink"
SINK_BACKLOG = 1024
SINK_MAX_CONCURRENCY = 1024
_MESG = re.compile(rb"mesg=(\d+)")


class Sink:
    def __init__(self, workdir, port, *, dump=False, cpus=None):
        if not os.access(SINK, os.X_OK):
            raise BenchError(f"{SINK} missing (Debian package postfix)")
        self.dir = os.path.join(workdir, f"sink-{port}")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o1777)
        self.port = port
        self.counter = os.path.join(self.dir, "counter")
        self.dump = os.path.join(self.dir, "dump") if dump else None
        argv = [SINK, "-c", "-m", str(SINK_MAX_CONCURRENCY)]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        if self.dump:
            argv += ["-D", self.dump]
        argv += [f"127.0.0.1:{port}", str(SINK_BACKLOG)]
        with open(self.counter, "wb") as out:
            self.p = spawn(argv, log=os.path.join(self.dir, "stderr"), stdout=out, cpus=cpus)
        wait_smtp_greeting(port, 10, alive=lambda: self.p.poll() is None)

    def count(self):
        """Messages received since the sink started ("." answered)."""
        try:
            with open(self.counter, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 256))
                tail = f.read()
        except OSError:
            return 0
        m = _MESG.findall(tail)
        return int(m[-1]) if m else 0

    def alive(self):
        return self.p.poll() is None

    def bench_ids(self, prefix):
        """{seq: times seen} for X-Bench-Id: <prefix>-<seq> in the dump."""
        if not self.dump:
            raise BenchError("sink was started without a dump file")
        seen = {}
        key = f"X-Bench-Id: {prefix}-".encode()
        try:
            with open(self.dump, "rb") as f:
                for line in f:
                    if line.startswith(key):
                        try:
                            n = int(line[len(key):].strip())
                        except ValueError:
                            continue
                        seen[n] = seen.get(n, 0) + 1
        except FileNotFoundError:
            pass
        return seen

    def close(self):
        stop(self.p, grace=3)

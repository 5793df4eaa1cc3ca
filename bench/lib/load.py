"""Load generators: Postfix's smtp-source and our paced client.

DESIGN: smtp-source is the spec's load (HELO, no pipelining, one connection
per message without -d); it stops at the first unexpected reply, so a clean
exit means every message got "250". The paced client
(bench/smtp_paced_bench.c) is compiled here with the system C compiler into
the work directory, so the harness does not depend on a CMake build of the
tree; it is used where the spec needs something smtp-source cannot do: a
target rate with per-message latency (W8) and unique message ids (W5).
"""
import json
import os
import time

from procs import BenchError, run

SOURCE = "/usr/sbin/smtp-source"
FROM = "bench@example.test"
TO = "sink@example.test"
PACED_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "smtp_paced_bench.c")
CFLAGS = ["-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Wshadow",
          "-Wno-unused-parameter", "-Wno-missing-field-initializers"]


def smtp_source(port, n, sessions, size, timeout, cpus=None):
    """Sends n messages of `size` payload bytes over `sessions` parallel
    sessions; returns wall seconds. Raises BenchError if any reply was not
    the expected one."""
    if not os.access(SOURCE, os.X_OK):
        raise BenchError(f"{SOURCE} missing (Debian package postfix)")
    argv = [SOURCE, "-s", str(sessions), "-m", str(n), "-l", str(size), "-M", "bench.test",
            "-f", FROM, "-t", TO, f"127.0.0.1:{port}"]
    t = time.monotonic()
    run(argv, timeout=timeout, cpus=cpus)
    return time.monotonic() - t


def build_paced(workdir):
    """Compiles the paced client; returns its path."""
    exe = os.path.join(workdir, "smtp_paced_bench")
    for cc in ("cc", "gcc", "clang"):
        try:
            run([cc] + CFLAGS + ["-o", exe, PACED_SRC], timeout=120)
            return exe
        except (BenchError, FileNotFoundError) as e:
            last = e
    raise BenchError(f"cannot compile {PACED_SRC}: {last}")


def paced(exe, port, n, sessions, size, rate, timeout, *, idprefix="m", latfile=None,
          cpus=None):
    """Runs the paced client; returns its JSON result (dict). `rate` 0 means
    unpaced. Raises BenchError unless every message got "250"."""
    argv = [exe, "-p", str(port), "-n", str(n), "-s", str(sessions), "-l", str(size),
            "-r", f"{rate:.3f}", "-f", FROM, "-t", TO, "-i", idprefix, "-T", str(int(timeout))]
    if latfile:
        argv += ["-o", latfile]
    r = run(argv, timeout=timeout + 30, check=False, cpus=cpus)
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError(f"paced client gave no result (exit {r.returncode}): {r.stderr[-300:]}")
    if res["ok"] != n:
        raise BenchError(f"paced client: {res['ok']} of {n} accepted (tempfail {res['tempfail']}, "
                         f"permfail {res['permfail']}, errors {res['errors']}, unsent "
                         f"{res['unsent']}, timed out {res['timed_out']}): {r.stderr.strip()[-300:]}")
    return res

"""Processes the harness starts, and how they are stopped.

DESIGN: every child is started through `spawn()`, which records it in a
registry; `cleanup_all()` (run from `finally`, atexit and the SIGINT/SIGTERM
handlers) ends each one by its own id: SIGTERM to its process group, a short
grace period, then SIGKILL. Daemons that leave our process tree (the private
Postfix master) register a stop callback instead. Every wait in this module has
a deadline, so no loop here can run forever.
"""
import os
import signal
import socket
import subprocess
import time

_children = []      # subprocess.Popen objects started by spawn()
_stoppers = []      # (name, callable) for daemons outside our tree


class BenchError(Exception):
    """A step of a workload failed; the message says which and why."""


class NotRunnable(BenchError):
    """The peer cannot run here (missing binary, feature not there yet...)."""


def spawn(argv, *, log=None, stdout=None, env=None, cwd=None, cpus=None):
    """Starts argv in its own process group, stderr (and stdout unless given)
    to the file `log`. `cpus` (e.g. "1") pins it with taskset."""
    if cpus is not None:
        argv = ["taskset", "-c", str(cpus)] + list(argv)
    logf = open(log, "ab") if log else subprocess.DEVNULL
    out = stdout if stdout is not None else logf
    try:
        p = subprocess.Popen(argv, stdout=out, stderr=logf, stdin=subprocess.DEVNULL,
                             env=env, cwd=cwd, start_new_session=True)
    finally:
        if log:
            logf.close()
    _children.append(p)
    return p


def run(argv, *, timeout, check=True, env=None, cwd=None, cpus=None, input=None):
    """Runs argv to completion with a time limit; returns CompletedProcess.
    On timeout the whole process group is killed and BenchError raised."""
    if cpus is not None:
        argv = ["taskset", "-c", str(cpus)] + list(argv)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         env=env, cwd=cwd, start_new_session=True)
    _children.append(p)
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p, grace=1)
        raise BenchError(f"{argv[0]}: no result after {timeout:.0f} s: {' '.join(map(str, argv))}")
    finally:
        if p in _children and p.poll() is not None:
            _children.remove(p)
    res = subprocess.CompletedProcess(argv, p.returncode, out.decode(errors="replace"),
                                      err.decode(errors="replace"))
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(map(str, argv))}: exit {p.returncode}: "
                         f"{(res.stderr or res.stdout).strip()[-400:]}")
    return res


def stop(p, grace=5.0, sig=signal.SIGTERM):
    """Ends child p (and its process group): sig, wait `grace` s, SIGKILL."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    else:
        # The leader is gone; members of its group may still live.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if p in _children:
        _children.remove(p)


def register_stopper(name, fn):
    _stoppers.append((name, fn))


def unregister_stopper(fn):
    _stoppers[:] = [(n, f) for (n, f) in _stoppers if f is not fn]


def cleanup_all():
    """Stops everything this harness started (children, then daemons)."""
    for p in list(_children):
        stop(p, grace=3)
    for name, fn in list(reversed(_stoppers)):
        try:
            fn()
        except Exception as e:  # cleanup must go on with the others
            print(f"bench: cleanup of {name} failed: {e}", flush=True)
    _stoppers.clear()


def install_signal_handlers():
    """SIGINT, SIGTERM and SIGHUP end the run through KeyboardInterrupt, so
    the `finally` that stops every process runs. SIGINT is set explicitly:
    a shell starts background jobs with it ignored."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def ignore_signals():
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_smtp_greeting(port, timeout, alive=None):
    """Waits until 127.0.0.1:port answers with a 220 greeting. `alive` is an
    optional callable that returns False once the server process died."""
    deadline = time.monotonic() + timeout
    last = "no connection"
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise BenchError(f"server exited before listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(2)
                line = s.recv(512)
                if line.startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
                last = line[:80].decode(errors="replace")
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    raise BenchError(f"no SMTP greeting on 127.0.0.1:{port} after {timeout} s ({last})")


def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until it is true; returns the time it took. Raises
    BenchError after `timeout` s."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        if pred():
            return time.monotonic() - t0
        if time.monotonic() >= deadline:
            raise BenchError(f"timeout after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def descendants(pid):
    """pid and all its live descendants, from /proc (ppid links)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(b")") + 2:].split()
        children.setdefault(int(rest[1]), []).append(int(d))
    out, todo = [], [pid]
    while todo and len(out) < 100000:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def kill_tree(pid, sig=signal.SIGKILL):
    """Sends sig to pid and every descendant at once (a crash, for W5)."""
    for p in descendants(pid):
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass

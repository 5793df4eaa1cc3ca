"""Run `tern localserve` for integration tests.

localserve's ports are fixed (1025, 1587, ...), so each test run listens on its own
random loopback address 127.a.b.c (given with -ip on the first start): runs on the
same machine, and a developer's own localserve on 127.0.0.1, never collide. Every
wait is bounded in time.
"""
import os
import random
import select
import socket
import subprocess
import tempfile
import time

from ternlib.server import TERN_BIN, terminate

PORTS = {"smtp": 1025, "submission": 1587, "submissions": 1465, "imap": 1143, "imaps": 1993,
         "http": 1080, "https": 1443, "metrics": 1081}


def ports_free(ip):
    for port in PORTS.values():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((ip, port))
            except OSError:
                return False
    return True


def pick_ip():
    """A loopback address whose localserve ports are all free."""
    for _ in range(50):
        ip = f"127.{random.randint(16, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"
        if ports_free(ip):
            return ip
    raise RuntimeError("no free loopback address for localserve ports")


def env_for(home, xdg=None):
    env = dict(os.environ)
    env["HOME"] = home
    if xdg is None:
        env.pop("XDG_CONFIG_HOME", None)
    else:
        env["XDG_CONFIG_HOME"] = xdg
    return env


def run(args, env, timeout=120, input=None):
    return subprocess.run([TERN_BIN, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          input=input)


class Localserve:
    """A running `tern localserve`; its banner is captured from stdout."""

    def __init__(self, args, env, ip):
        self.args, self.env, self.ip = args, env, ip
        self.proc = None
        self.banner = ""
        fd, self.log_path = tempfile.mkstemp(prefix="localserve-", suffix=".log")
        os.close(fd)

    def start(self, timeout=60):
        self.banner = ""
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([TERN_BIN, "localserve", *self.args], stdout=subprocess.PIPE,
                                     stderr=logf, stdin=subprocess.DEVNULL, env=self.env)
        logf.close()
        deadline = time.time() + timeout
        out = b""
        # The banner ends with the CLI hint line and an empty line; it is flushed
        # before the listeners accept.
        while time.time() < deadline and b"queue list\n\n" not in out:
            if self.proc.poll() is not None:
                raise RuntimeError(f"localserve exited with {self.proc.returncode}:\n{self.log()}")
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
        self.banner = out.decode()
        if "queue list" not in self.banner:
            raise RuntimeError("no banner in time:\n" + self.banner + self.log())
        while time.time() < deadline:  # the banner precedes accepting: wait for the port
            try:
                with socket.create_connection((self.ip, PORTS["smtp"]), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("localserve does not accept connections:\n" + self.log())

    def stop(self, timeout=40):
        if not self.proc:
            return None
        rc = terminate(self.proc, timeout)
        self.proc.stdout.close()
        self.proc = None
        return rc

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-20000:]
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- localserve log ----\n" + self.log())
        self.stop()
        os.unlink(self.log_path)

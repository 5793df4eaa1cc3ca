"""Start and stop a real `tern serve` on loopback for integration tests.

A TernServer writes tern.conf/domains.conf into a fresh temporary directory,
picks free loopback ports, starts build/tern (path from $TERN_BIN), waits until
the control socket answers, and offers helpers: cli() runs `tern -config ...
<args>`, stop() sends SIGTERM, kill9() sends SIGKILL, restart() starts again on
the same DataDir. Every wait is bounded in time.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TERN_BIN = os.environ.get("TERN_BIN", os.path.join(os.path.dirname(__file__), "../../../build/tern"))


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def yaml_quote(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


class TernServer:
    """One Tern process with its own config and data directory."""

    def __init__(self, name="tern", hostname="mail.example.test", extra_static="", domains=None,
                 listener_extra="", accounts=None, keep=False):
        self.dir = tempfile.mkdtemp(prefix=name + "-")
        self.hostname = hostname
        self.ports = {k: free_port() for k in ("smtp", "submission", "submissions", "metrics")}
        self.proc = None
        self.log_path = os.path.join(self.dir, "tern.log")
        self.keep = keep
        self.write_config(extra_static, listener_extra, domains, accounts)

    def write_config(self, extra_static, listener_extra, domains, accounts):
        conf = f"""Hostname: {self.hostname}
DataDir: data
LogLevel: debug
User: "{os.getuid()}"
Postmaster:
  Account: admin
  Mailbox: Inbox
Listeners:
  local:
    IPs: [127.0.0.1]
    SMTP: {{Enabled: true, Port: {self.ports['smtp']}}}
    Submission: {{Enabled: true, Port: {self.ports['submission']}, NoRequireSTARTTLS: true}}
{listener_extra}
{extra_static}
"""
        with open(os.path.join(self.dir, "tern.conf"), "w") as f:
            f.write(conf)
        if domains is None:
            domains = """Domains:
  example.test:
    LocalpartCatchallSeparator: "+"
Accounts:
  admin:
    Domain: example.test
    Destinations:
      admin@example.test: {}
  app:
    Domain: example.test
    Destinations:
      app@example.test: {}
      noreply@example.test: {}
    MaxOutgoingMessagesPerDay: -1
    MaxFirstTimeRecipientsPerDay: -1
"""
        with open(os.path.join(self.dir, "domains.conf"), "w") as f:
            f.write(domains)

    @property
    def config(self):
        return os.path.join(self.dir, "tern.conf")

    def start(self, timeout=30):
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([TERN_BIN, "-config", self.config, "serve"],
                                     stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tern exited with {self.proc.returncode}:\n{self.log()}")
            r = self.cli("status", check=False, timeout=5)
            if r.returncode == 0 and self._port_open(self.ports["smtp"]):
                return self
            time.sleep(0.05)
        raise RuntimeError("tern did not start in time:\n" + self.log())

    @staticmethod
    def _port_open(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def cli(self, *args, check=True, timeout=60, input=None):
        r = subprocess.run([TERN_BIN, "-config", self.config, *args], capture_output=True,
                           text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise RuntimeError(f"tern {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def stop(self, timeout=40):
        if not self.proc:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def kill9(self):
        if self.proc:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-20000:]
        except OSError:
            return ""

    def close(self):
        self.stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- tern log ----\n" + self.log())
        self.close()

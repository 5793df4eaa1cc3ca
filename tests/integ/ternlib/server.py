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


def yaml_flow(v):
    """v (dict, list, str, int, bool) as one line of YAML flow style."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {yaml_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(yaml_flow(x) for x in v) + "]"
    return yaml_quote(v)


def make_cert(directory, hostname, name="tls"):
    """A self-signed ECDSA P-256 certificate for hostname (openssl req) in directory.
    Also valid for the loopback addresses (clients such as gsasl check the name they
    connected to). Returns (cert path, key path); the certificate is also its own CA."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + hostname,
                    "-addext", "subjectAltName=DNS:" + hostname + ",IP:127.0.0.1,IP:::1",
                    "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


# domains.conf of a TernServer unless the test gives its own: the admin account (the
# Postmaster) and `app`, which may send without the per-day limits.
DEFAULT_DOMAINS = """Domains:
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

def terminate(proc, timeout=40):
    """SIGTERM, then SIGKILL after timeout seconds; returns the exit status (None: no process)."""
    if not proc:
        return None
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer")


class TernServer:
    """One Tern process with its own config and data directory.

    Listener options (all optional): tls=True generates a certificate (self.cert)
    and adds the TLS block; smtp / submission are dicts of extra fields for those
    services (submission defaults to NoRequireSTARTTLS: true, pass {} for the
    spec default); submissions=True enables implicit TLS (needs tls);
    listener_fields is a dict of further listener fields (SMTPMaxMessageSize...).
    dns: list of resolvers for DNS.Resolvers; limits: dict for Limits."""

    def __init__(self, name="tern", hostname="mail.example.test", extra_static="", domains=None,
                 listener_extra="", accounts=None, keep=False, tls=False, smtp=None, submission=None,
                 submissions=False, listener_fields=None, dns=None, limits=None):
        self.dir = tempfile.mkdtemp(prefix=name + "-")
        self.hostname = hostname
        self.ports = {k: free_port() for k in ("smtp", "submission", "submissions", "metrics")}
        self.proc = None
        self.log_path = os.path.join(self.dir, "tern.log")
        self.keep = keep
        self.cert = self.key = None
        if tls:
            self.cert, self.key = make_cert(self.dir, hostname)
        self.opts = dict(smtp=smtp, submission=submission, submissions=submissions,
                         listener_fields=listener_fields, dns=dns, limits=limits)
        self.write_config(extra_static, listener_extra, domains, accounts)

    def _listener_text(self):
        o = self.opts
        smtp = {"Enabled": True, "Port": self.ports["smtp"], **(o["smtp"] or {})}
        sub = {"Enabled": True, "Port": self.ports["submission"],
               **({"NoRequireSTARTTLS": True} if o["submission"] is None else o["submission"])}
        lines = [f"    SMTP: {yaml_flow(smtp)}", f"    Submission: {yaml_flow(sub)}"]
        if o["submissions"]:
            lines.append(f"    Submissions: {yaml_flow({'Enabled': True, 'Port': self.ports['submissions']})}")
        if self.cert:
            lines.append(f"    TLS: {yaml_flow({'KeyCerts': [{'CertFile': self.cert, 'KeyFile': self.key}]})}")
        for k, v in (o["listener_fields"] or {}).items():
            lines.append(f"    {k}: {yaml_flow(v)}")
        return "\n".join(lines)

    def _static_text(self):
        o = self.opts
        out = []
        if o["dns"]:
            out.append(f"DNS: {yaml_flow({'Resolvers': list(o['dns'])})}")
        if o["limits"]:
            out.append(f"Limits: {yaml_flow(o['limits'])}")
        return "\n".join(out)

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
{self._listener_text()}
{listener_extra}
{self._static_text()}
{extra_static}
"""
        with open(os.path.join(self.dir, "tern.conf"), "w") as f:
            f.write(conf)
        if domains is None:
            domains = DEFAULT_DOMAINS
        with open(os.path.join(self.dir, "domains.conf"), "w") as f:
            f.write(domains)

    @property
    def config(self):
        return os.path.join(self.dir, "tern.conf")

    def start(self, timeout=30):
        with open(self.log_path, "ab") as logf:  # the child keeps its own descriptor
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
        rc = terminate(self.proc, timeout)
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

    def stop_clean(self, timeout=40):
        """SIGTERM, then checks the exit status is 0 and the log has no sanitizer report
        (LeakSanitizer runs at exit in the Asan build). Returns the log text on failure."""
        rc = self.stop(timeout)
        with open(self.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        bad = [m for m in SANITIZER_MARKS if m in log]
        if rc != 0 or bad:
            at = min([log.find(m) for m in bad] or [max(0, len(log) - 20000)])
            raise AssertionError(f"tern exit status {rc}, sanitizer reports {bad}:\n{log[at:at + 20000]}")

    def set_password(self, account, password):
        """`tern config account password <account>` with the password on stdin."""
        self.cli("config", "account", "password", account, input=password)

    def metrics(self):
        """`tern metrics` parsed into {"name{labels}": value}."""
        out = {}
        for line in self.cli("metrics").stdout.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out

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

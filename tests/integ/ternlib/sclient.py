"""`openssl s_client` as an SMTP peer: OpenSSL's own TLS stack, driven line by line.

Python's ssl module cannot export keying material, so the tls-exporter channel
binding (RFC 9266: label EXPORTER-Channel-Binding, no context, 32 bytes) is taken
from `s_client -keymatexport`, which prints it after the handshake. Commands are
written to s_client's stdin (-crlf turns LF into CRLF, -nocommands keeps lines
starting with R/Q/k from being taken as s_client commands) and replies are read
from its stdout, where only lines shaped like SMTP replies count. Every read has a
deadline; close() ends the process.

    with SClient(port, cafile, starttls=True, tls_max=None) as sc:
        sc.exporter          # 32 bytes, or None
        r = sc.cmd("EHLO client.test")  # smtpclient.Reply
"""
import os
import re
import selectors
import subprocess
import time

from ternlib.smtpclient import Reply

REPLY_RE = re.compile(r"^([2-5][0-9][0-9])([- ])(.*)$")


class SClient:
    def __init__(self, port, cafile, starttls=True, tls_max=None, hostname="mail.example.test", timeout=15):
        args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", cafile, "-verify_return_error",
                "-servername", hostname, "-verify_hostname", hostname, "-crlf", "-nocommands", "-ign_eof",
                "-keymatexport", "EXPORTER-Channel-Binding", "-keymatexportlen", "32"]
        if starttls:
            args += ["-starttls", "smtp", "-name", "client.test"]
        if tls_max == "1.2":
            args.append("-tls1_2")
        self.timeout = timeout
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.seen = []           # every stdout line, for diagnostics
        self.exporter = None
        self.protocol = None
        self._read_session_info()

    def _line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                raise TimeoutError(f"s_client: no output within the deadline; seen {self.seen[-20:]}")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise EOFError(f"s_client exited: {self.seen[-20:]} {self.proc.stderr.read().decode()[-2000:]}")
            self.buf += chunk
        i = self.buf.index(b"\n")
        line, self.buf = self.buf[:i].rstrip(b"\r").decode("utf-8", "replace"), self.buf[i + 1:]
        self.seen.append(line)
        return line

    def _read_session_info(self):
        """Reads the handshake summary up to the `---` that closes the exporter block."""
        deadline = time.monotonic() + self.timeout
        while True:
            line = self._line(deadline)
            m = re.match(r"\s*Keying material: ([0-9A-Fa-f]+)$", line)
            if m:
                self.exporter = bytes.fromhex(m.group(1))
            m = re.match(r"^New, (TLSv[0-9.]+), Cipher is", line)
            if m:
                self.protocol = m.group(1)
            if self.exporter is not None and line == "---":
                return

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def reply(self):
        deadline = time.monotonic() + self.timeout
        lines, raw = [], ""
        while True:
            line = self._line(deadline)
            m = REPLY_RE.match(line)
            if not m:
                continue  # TLS 1.3 session tickets and other s_client chatter
            raw += line + "\r\n"
            lines.append(m.group(3))
            if m.group(2) == " ":
                return Reply(int(m.group(1)), lines, raw.encode())

    def cmd(self, line):
        self.send(line)
        return self.reply()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.sel.close()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

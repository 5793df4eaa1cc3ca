"""A raw SMTP client for Tern's integration tests: exact bytes out, exact replies in.

smtplib hides framing (it adds CRLF, dot-stuffs, retries EHLO); these tests need to
send pipelined batches in one write, bare CR/LF, NUL and broken UTF-8, and to see
every reply line. Every read has a deadline; nothing here waits without bound.

Each reply read is checked against smtp.md §10: lines end in CRLF with no other CR
or LF, a multi-line reply uses `code-` then `code `, and every 4xx/5xx reply ends
with ` (<16-char receivedid>)`, the same id for the whole connection.

    c = Conn(port)                       # reads the 220 greeting
    r = c.cmd("EHLO client.test")        # Reply: r.code, r.lines, r.text
    rs = c.pipeline(["MAIL FROM:<>", "RCPT TO:<a@b>"])   # one write, n replies
    c.starttls(ctx)                      # STARTTLS + handshake (after the 220)
    c.expect_closed()                    # the server closed the connection
"""
import re
import socket
import ssl
import time

RID_RE = re.compile(rb" \(([A-Za-z0-9_-]{16})\)$")
DEFAULT_TIMEOUT = 10.0


class ProtocolViolation(AssertionError):
    """The server broke the reply format (smtp.md §10) or closed unexpectedly."""


class Reply:
    """One SMTP reply: code (int), lines (list of str, text after `code[- ]`), raw bytes."""

    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines
        self.raw = raw

    @property
    def text(self):
        """The last line's text (enhanced code + words [+ receivedid])."""
        return self.lines[-1]

    @property
    def words(self):
        """The last line's text without the trailing receivedid."""
        return RID_RE.sub(b"", self.lines[-1].encode()).decode()

    def __repr__(self):
        return f"Reply({self.code}, {self.lines!r})"


class Conn:
    """One client connection. greet=False skips reading the greeting."""

    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT, greet=True, sock=None):
        self.sock = sock or socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""
        self.rid = None
        self.greeting = self.reply() if greet else None

    # ---- bytes ----

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no reply within the deadline")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ProtocolViolation(f"connection closed by server; pending {self.buf!r}")
        self.buf += chunk

    def _line(self, deadline):
        while b"\n" not in self.buf:
            self._fill(deadline)
        i = self.buf.index(b"\n")
        line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
        if not line.endswith(b"\r\n") or b"\r" in line[:-2]:
            raise ProtocolViolation(f"reply line without CRLF or with bare CR: {line!r}")
        return line[:-2]

    # ---- replies ----

    def reply(self, timeout=None):
        """Reads one complete reply and checks its format."""
        deadline = time.monotonic() + (timeout or self.timeout)
        lines, raw, code = [], b"", None
        while True:
            line = self._line(deadline)
            raw += line + b"\r\n"
            m = re.match(rb"^([2-5][0-9][0-9])([- ])(.*)$", line, re.S)
            if not m:
                raise ProtocolViolation(f"bad reply line {line!r}")
            c = int(m.group(1))
            if code is not None and c != code:
                raise ProtocolViolation(f"code changed inside a multi-line reply: {raw!r}")
            code = c
            lines.append(m.group(3).decode("utf-8", "replace"))
            if m.group(2) == b" ":
                break
        self._check_rid(code, lines, raw)
        return Reply(code, lines, raw)

    def _check_rid(self, code, lines, raw):
        m = RID_RE.search(lines[-1].encode())
        if code >= 400 and not m:
            raise ProtocolViolation(f"error reply without receivedid: {raw!r}")
        if m:
            rid = m.group(1).decode()
            if self.rid is None:
                self.rid = rid
            elif rid != self.rid:
                raise ProtocolViolation(f"receivedid changed from {self.rid} to {rid}: {raw!r}")

    def replies(self, n, timeout=None):
        return [self.reply(timeout) for _ in range(n)]

    def cmd(self, line, timeout=None):
        """Sends one command line (CRLF added) and reads its reply."""
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply(timeout)

    def pipeline(self, lines, timeout=None):
        """Sends all command lines in one write and reads one reply per line."""
        data = b"".join((x.encode() if isinstance(x, str) else x) + b"\r\n" for x in lines)
        self.send(data)
        return self.replies(len(lines), timeout)

    def ehlo(self, name="client.example.test"):
        r = self.cmd("EHLO " + name)
        assert r.code == 250, r
        return r

    def ext(self, r):
        """EHLO keywords (first word of each line after the first)."""
        return [x.split(" ")[0] for x in r.lines[1:]]

    # ---- connection state ----

    def expect_closed(self, timeout=None):
        """Waits until the server closes; returns bytes that came before the close."""
        deadline = time.monotonic() + (timeout or self.timeout)
        got = self.buf
        self.buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"server did not close within the deadline; got {got!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                return got
            if not chunk:
                return got
            got += chunk

    def nothing_pending(self, wait=0.3):
        """True when no further byte arrives within `wait` seconds (a bounded check)."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        self.buf += chunk
        return False

    def starttls(self, ctx, server_hostname="mail.example.test"):
        r = self.cmd("STARTTLS")
        assert r.code == 220 and r.text == "2.0.0 ready to start TLS", r
        assert not self.buf, f"bytes after the STARTTLS reply: {self.buf!r}"
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        self.sock.settimeout(self.timeout)
        return self.sock

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def tls_client_ctx(cafile, minimum=None, maximum=None):
    """A verifying client context trusting cafile, optionally pinned to TLS versions."""
    ctx = ssl.create_default_context(cafile=cafile)
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def tls_connect(port, cafile, host="127.0.0.1", server_hostname="mail.example.test", timeout=DEFAULT_TIMEOUT,
                maximum=None):
    """An implicit-TLS (Submissions) connection; reads the greeting."""
    ctx = tls_client_ctx(cafile, maximum=maximum)
    raw = socket.create_connection((host, port), timeout=timeout)
    s = ctx.wrap_socket(raw, server_hostname=server_hostname)
    return Conn(port, sock=s, timeout=timeout)

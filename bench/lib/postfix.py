"""A private Postfix instance: its own config, queue and log in a temp dir.

DESIGN: the instance never reads or writes /etc/postfix: `postfix -c DIR`
points every Postfix program at DIR/main.cf, whose queue_directory,
data_directory and maillog_file are under the bench work directory. It
listens on two loopback ports: the relay port (plain smtpd, mail goes to
relayhost = the sink) and the hold port (same smtpd with
`smtpd_client_restrictions = check_client_access static:HOLD`, so every
accepted message is written to the hold queue with the same fsyncs as normal
mail and delivery never starts: W1 ingest and W5 backlog). Tuning follows
bench.md and nothing else is changed from Postfix's defaults (D1: Postfix
fsyncs each queue file before "250"). Postfix's master must be started as
root; as another user the peer is reported as not runnable. `postfix start`
fails silently without syslog, so it runs under `script` to show its errors.
"""
import os
import pwd
import shutil
import signal
import time

from procs import (BenchError, NotRunnable, kill_tree, register_stopper, run,
                   unregister_stopper, wait_smtp_greeting, wait_until)

QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")
START_TIMEOUT = 30
STOP_TIMEOUT = 30

MAIN_CF = """# Private benchmark instance (bench/lib/postfix.py). Not the system Postfix.
compatibility_level = 3.6
queue_directory = {base}/spool
data_directory = {base}/data
maillog_file = {base}/log/maillog
maillog_file_prefixes = {base}/log
syslog_name = postfix-bench
myhostname = postfix.bench.test
mydomain = bench.test
myorigin = $myhostname
mydestination =
relay_domains =
local_recipient_maps =
local_transport = error:local delivery disabled
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
biff = no
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{sink_port}
# bench.md tuning
default_process_limit = 200
default_destination_concurrency_limit = 100
smtp_destination_concurrency_limit = 100
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
"""

# name type private unpriv chroot wakeup maxproc command
SERVICES = """\
127.0.0.1:{port} inet n - n - - smtpd
127.0.0.1:{hold_port} inet n - n - - smtpd
  -o smtpd_client_restrictions=check_client_access,static:HOLD
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def version():
    try:
        return run(["postconf", "-d", "-h", "mail_version"], timeout=20).stdout.strip()
    except (BenchError, FileNotFoundError):
        return None


class Postfix:
    name = "postfix"
    durability = "D1"
    single_process = False

    def __init__(self, workdir, sink_port):
        if os.geteuid() != 0:
            raise NotRunnable("Postfix's master must be started as root")
        for exe in ("/usr/sbin/postfix", "/usr/sbin/postconf", "/usr/sbin/postsuper"):
            if not os.access(exe, os.X_OK):
                raise NotRunnable(f"{exe} missing (Debian package postfix)")
        from procs import free_port
        self.base = os.path.join(workdir, "postfix")
        self.etc = os.path.join(self.base, "etc")
        self.spool = os.path.join(self.base, "spool")
        self.port = free_port()
        self.hold_port = free_port()
        self.sink_port = sink_port
        self.version = version()
        self._write_config()
        self.running = False
        self.cpus = None       # taskset CPU list for master (inherited by daemons)

    def _write_config(self):
        pf = pwd.getpwnam("postfix")
        for d in ("etc", "spool", "data", "log"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        for d in ("data", "log"):
            os.chown(os.path.join(self.base, d), pf.pw_uid, pf.pw_gid)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(base=self.base, sink_port=self.sink_port))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(SERVICES.format(port=self.port, hold_port=self.hold_port))
        run(["postconf", "-c", self.etc, "-F", "*/*/chroot = n"], timeout=30)

    # -- life cycle -------------------------------------------------------
    def master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def pids(self):
        pid = self.master_pid()
        return [pid] if pid else []

    def main_pid(self):
        return None

    def start(self):
        """Starts the master; returns seconds until the relay port greets."""
        t = time.monotonic()
        # Under a pty, postfix-script's errors reach us instead of a missing syslog.
        r = run(["script", "-qec", f"postfix -c {self.etc} start", "/dev/null"],
                timeout=START_TIMEOUT, check=False, cpus=self.cpus)
        if r.returncode != 0:
            raise BenchError(f"postfix start failed ({r.returncode}): {r.stdout.strip()[-400:]}")
        self.running = True
        register_stopper("postfix", self.stop)
        wait_smtp_greeting(self.port, START_TIMEOUT)
        wait_smtp_greeting(self.hold_port, START_TIMEOUT)
        return time.monotonic() - t

    def stop(self):
        if not self.running:
            return
        pid = self.master_pid()
        run(["postfix", "-c", self.etc, "stop"], timeout=STOP_TIMEOUT, check=False)
        if pid:
            try:
                wait_until(lambda: not _alive(pid), STOP_TIMEOUT, what="postfix master exit")
            except BenchError:
                kill_tree(pid)
        self.running = False
        unregister_stopper(self.stop)

    def kill9(self):
        """Kills master and every Postfix process of this instance at once."""
        pid = self.master_pid()
        if pid:
            kill_tree(pid, signal.SIGKILL)
            wait_until(lambda: not _alive(pid), 10, what="postfix master death")
        self.running = False
        unregister_stopper(self.stop)

    # -- queue ------------------------------------------------------------
    def queue_count(self, queues=QUEUES):
        n = 0
        for q in queues:
            n += _count_files(os.path.join(self.spool, q))
        return n

    def held_count(self):
        return self.queue_count(("hold",))

    def queue_empty(self):
        return self.queue_count() == 0

    def purge(self):
        run(["postsuper", "-c", self.etc, "-d", "ALL"], timeout=600, check=False)

    def ingest_port(self):
        """Port whose mail is accepted and held (delivery paused)."""
        return self.hold_port

    def hold_begin(self):
        return self.hold_port

    def hold_end(self):
        pass

    def release_all(self):
        """Moves every held message to the deferred queue and asks the queue
        manager to deliver them all now."""
        run(["postsuper", "-c", self.etc, "-H", "ALL"], timeout=3600, check=False)
        self.flush()

    def flush(self):
        run(["postqueue", "-c", self.etc, "-f"], timeout=60, check=False)

    def describe(self):
        return {"version": self.version, "durability": self.durability, "config": self.etc,
                "tuning": "mynetworks 127.0.0.0/8, default_process_limit 200, "
                          "default/smtp_destination_concurrency_limit 100, "
                          "smtpd_client_connection_count/rate_limit 0, chroot n, default fsync"}

    def cleanup_files(self):
        shutil.rmtree(self.base, ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _count_files(top):
    n = 0
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        else:
                            n += 1
                    except OSError:
                        continue
        except OSError:
            continue
    return n

"""What the machine is and what the processes under test cost.

DESIGN: everything comes from /proc and /sys, read directly: CPU seconds are
utime+stime+cutime+cstime summed over a process tree (a process that exits
and is reaped has its time folded into its parent's cutime/cstime, so the sum
over the live tree counts Postfix's short-lived daemons too); memory is sampled
by a background thread (sum over the tree, every 0.5 s) and,
for a single process, also read from VmHWM after resetting it through
clear_refs. Memory is PSS (smaps_rollup), so Postfix's shared libraries
are not counted once per process. Device flushes come from /proc/diskstats (system-wide, so noisy on
a shared machine); fsync/fdatasync syscalls are counted by `strace -c` in a
separate run, because tracing slows the process down.
"""
import os
import platform
import re
import signal
import statistics
import subprocess
import threading
import time

from procs import BenchError, descendants, spawn, stop

CLK_TCK = os.sysconf("SC_CLK_TCK")
FSYNC_PROBE_BLOCK = 4096


def machine():
    """A description of this machine for every report."""
    info = {"kernel": platform.release(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total_mib"] = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    try:
        virt = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True, timeout=5)
        info["virtualization"] = virt.stdout.strip() or "none"
    except (OSError, subprocess.TimeoutExpired):
        info["virtualization"] = "unknown"
    try:
        with open("/etc/debian_version") as f:
            info["debian"] = f.read().strip()
    except OSError:
        pass
    return info


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def fs_of(path):
    """(device, fstype, mountpoint) of the filesystem that holds path."""
    path = os.path.realpath(path)
    best = ("?", "?", "/")
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            mnt = mnt.replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[2]):
                best = (dev, fstype, mnt)
    return best


def fsync_probe(directory, seconds):
    """Appends 4 KiB blocks with write+fdatasync for `seconds` in one thread;
    returns latency statistics in ms."""
    path = os.path.join(directory, "fsync-probe.dat")
    lat = []
    block = b"\0" * FSYNC_PROBE_BLOCK
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end and len(lat) < 10_000_000:
            t = time.perf_counter_ns()
            os.write(fd, block)
            os.fdatasync(fd)
            lat.append((time.perf_counter_ns() - t) / 1e6)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    dev, fstype, mnt = fs_of(directory)
    return {"seconds": seconds, "count": len(lat), "block_bytes": FSYNC_PROBE_BLOCK,
            "mean_ms": statistics.fmean(lat), "p50_ms": lat[len(lat) // 2],
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))], "max_ms": lat[-1],
            "per_s": len(lat) / seconds, "device": dev, "fstype": fstype, "mount": mnt}


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        st = f.read()
    return st[st.rfind(b")") + 2:].split()


def cpu_seconds(root_pids):
    """CPU seconds (user+system, including reaped children) of the trees."""
    total = 0
    seen = set()
    for root in root_pids:
        for pid in descendants(root):
            if pid in seen:
                continue
            seen.add(pid)
            try:
                f = _stat_fields(pid)
            except OSError:
                continue
            # fields after "(comm) ": state=0 ... utime=11 stime=12 cutime=13 cstime=14
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total / CLK_TCK


def memory_bytes(root_pids):
    """(PSS, RSS) summed over the trees. PSS splits shared pages between the
    processes that map them, so a multi-process MTA (Postfix) is not charged
    its shared libraries once per process; the RSS sum is kept for reference."""
    pss = rss = 0
    for root in root_pids:
        for pid in descendants(root):
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Rss:"):
                            rss += int(line.split()[1]) * 1024
                        elif line.startswith("Pss:"):
                            pss += int(line.split()[1]) * 1024
                            break
            except (OSError, IndexError, ValueError):
                continue
    return pss, rss


def pss_bytes(root_pids):
    return memory_bytes(root_pids)[0]


def reset_hwm(pid):
    """Resets VmHWM of one process (clear_refs 5); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def vm_hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def disk_flushes(device):
    """Completed flush requests of a block device (diskstats field 16), or None."""
    name = os.path.basename(device)
    try:
        with open("/proc/diskstats") as f:
            for line in f:
                p = line.split()
                # major minor name, then fields 1..17; field 16 = flushes completed
                if len(p) >= 20 and p[2] == name:
                    return int(p[18])
    except OSError:
        pass
    return None


class Sampler:
    """Samples the memory (PSS) of process trees every `interval` s in a
    thread; `peak` is the largest sum seen."""

    def __init__(self, root_pids_fn, interval=0.5):
        self.fn = root_pids_fn
        self.interval = interval
        self.peak = 0          # PSS
        self.peak_rss_sum = 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            try:
                pss, rss = memory_bytes(self.fn())
                self.peak = max(self.peak, pss)
                self.peak_rss_sum = max(self.peak_rss_sum, rss)
                self.samples += 1
            except Exception:
                pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(timeout=5)


class SyscallCounter:
    """`strace -f -c` attached to every process of the given trees, counting
    the sync family of syscalls. Use as a context manager around one run."""

    SYSCALLS = "fsync,fdatasync,sync_file_range,syncfs,msync"

    def __init__(self, root_pids, out_path, log):
        self.roots = root_pids
        self.out = out_path
        self.log = log
        self.p = None

    def __enter__(self):
        pids = []
        for r in self.roots:
            pids.extend(descendants(r))
        argv = ["strace", "-f", "-c", "-e", f"trace={self.SYSCALLS}", "-o", self.out]
        for pid in pids:
            argv += ["-p", str(pid)]
        self.p = spawn(argv, log=self.log)
        # strace reports each attach on stderr; wait (bounded) for all of them.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise BenchError(f"strace exited ({self.p.returncode}); see {self.log}")
            try:
                with open(self.log, "rb") as f:
                    n = f.read().count(b"attached")
            except OSError:
                n = 0
            if n >= len(pids):
                break
            time.sleep(0.05)
        time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        stop(self.p, grace=10, sig=signal.SIGINT)

    def counts(self):
        """{syscall: calls} from the strace -c summary."""
        res = {}
        try:
            with open(self.out) as f:
                for line in f:
                    m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
                    if m and m.group(2) != "total":
                        res[m.group(2)] = int(m.group(1))
        except OSError:
            pass
        return res

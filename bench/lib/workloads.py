"""One measured run of each workload (bench.md): W0, W1, W2, W8, W5.

DESIGN: a run function takes the rig (shared sink, peers, options) and one
configuration, does exactly one run and returns a flat dict of metrics, or
raises BenchError / NotRunnable. Repetition (warm-up + measured runs),
interleaving of peers and summaries live in bench/run. Each run leaves the
peer as it found it: the queue is empty and delivery is not paused, also when
it fails part-way (the `finally` blocks purge and remove hold rules).
Every wait has a deadline derived from N and --min-rate.
"""
import os
import smtplib
import threading
import time

import load
import sysinfo
from procs import BenchError, NotRunnable, free_port, wait_until
from sink import Sink

PROBE_TIMEOUT = 20


def run_timeout(rig, n):
    return rig.args.timeout + n / rig.args.min_rate


def _resources_begin(rig, mta):
    pid = mta.main_pid()
    if pid:
        sysinfo.reset_hwm(pid)
    return {"cpu": sysinfo.cpu_seconds(mta.pids()),
            "flushes": sysinfo.disk_flushes(rig.device), "t": time.monotonic()}


def _resources_end(rig, mta, begin, sampler, n, res):
    cpu = sysinfo.cpu_seconds(mta.pids()) - begin["cpu"]
    res["cpu_s"] = round(cpu, 3)
    res["cpu_s_per_1000"] = round(cpu / n * 1000, 3)
    res["cpu_us_per_msg"] = round(cpu / n * 1e6, 1)
    res["peak_pss_mib"] = round(sampler.peak / 2**20, 1)
    res["peak_rss_sum_mib"] = round(sampler.peak_rss_sum / 2**20, 1)
    pid = mta.main_pid()
    if pid:
        hwm = sysinfo.vm_hwm(pid)
        if hwm:
            res["vm_hwm_mib"] = round(hwm / 2**20, 1)
    fl = sysinfo.disk_flushes(rig.device)
    if fl is not None and begin["flushes"] is not None:
        res["device_flushes_per_msg"] = round((fl - begin["flushes"]) / n, 3)
    res["loadavg"] = sysinfo.loadavg()


def w0(rig, cfg):
    """C0: smtp-source straight into the sink."""
    n, base = cfg["n"], rig.sink.count()
    el = load.smtp_source(rig.sink.port, n, cfg["sessions"], cfg["size"], run_timeout(rig, n),
                          cpus=rig.cpu_load)
    wait_until(lambda: rig.sink.count() >= base + n, 10, what="sink count")
    return {"msg_s": round(n / el, 1), "elapsed_s": round(el, 3), "loadavg": sysinfo.loadavg()}


def probe_relay(rig, mta):
    """One message through the relay path, to the sink, queue empty after."""
    base = rig.sink.count()
    msg = (f"From: <{load.FROM}>\r\nTo: <{load.TO}>\r\nSubject: probe\r\n\r\nprobe\r\n")
    try:
        with smtplib.SMTP("127.0.0.1", mta.port, "bench.test", timeout=10) as s:
            s.sendmail(load.FROM, [load.TO], msg)
        wait_until(lambda: rig.sink.count() > base, PROBE_TIMEOUT, what="probe at the sink")
        wait_until(mta.queue_empty, PROBE_TIMEOUT, what="empty queue after the probe")
    except (OSError, smtplib.SMTPException, BenchError) as e:
        raise NotRunnable(f"probe message not relayed to the sink: {e}")


def w1(rig, mta, cfg):
    """Ingest only: delivery paused, accepted msg/s and resource use."""
    n = cfg["n"]
    try:
        port = mta.hold_begin()
        begin = _resources_begin(rig, mta)
        with sysinfo.Sampler(mta.pids) as sm:
            el = load.smtp_source(port, n, cfg["sessions"], cfg["size"], run_timeout(rig, n),
                                  cpus=rig.cpu_load)
        res = {"msg_s": round(n / el, 1), "elapsed_s": round(el, 3)}
        _resources_end(rig, mta, begin, sm, n, res)
        held = mta.held_count()
        if held != n:
            raise BenchError(f"{held} messages held after accepting {n}")
        return res
    finally:
        _reset(mta)


def w1_fsyncs(rig, mta, cfg, n):
    """A separate, slower W1 run under strace -f -c: sync syscalls/message."""
    log = os.path.join(rig.workdir, f"strace-{mta.name}.log")
    out = os.path.join(rig.workdir, f"strace-{mta.name}.out")
    for f in (log, out):
        if os.path.exists(f):
            os.unlink(f)
    try:
        port = mta.hold_begin()
        with sysinfo.SyscallCounter(mta.pids(), out, log) as sc:
            load.smtp_source(port, n, cfg["sessions"], cfg["size"], run_timeout(rig, n) * 5,
                             cpus=rig.cpu_load)
            time.sleep(0.5)
        # strace writes its summary when it detaches, i.e. after __exit__.
        counts = sc.counts()
        held = mta.held_count()
        if held != n:
            raise BenchError(f"{held} messages held after accepting {n} under strace")
    finally:
        _reset(mta)
    calls = counts.get("fsync", 0) + counts.get("fdatasync", 0)
    return {"n": n, "syscalls": counts, "fsync_fdatasync_per_msg": round(calls / n, 3),
            "method": "strace -f -c -e trace=" + sysinfo.SyscallCounter.SYSCALLS +
                      " attached to every process of the MTA (io_uring fsyncs are not seen)"}


def _reset(mta):
    """Leaves the queue empty and delivery unpaused (best effort)."""
    try:
        mta.purge()
    except BenchError:
        pass
    try:
        mta.hold_end()
    except BenchError:
        pass


def w2(rig, mta, cfg):
    """Relay end to end: from the first connection until the sink has all N
    and the MTA's queue is empty."""
    n, base = cfg["n"], rig.sink.count()
    timeout = run_timeout(rig, n)
    begin = _resources_begin(rig, mta)
    with sysinfo.Sampler(mta.pids) as sm:
        acc = load.smtp_source(mta.port, n, cfg["sessions"], cfg["size"], timeout,
                               cpus=rig.cpu_load)
        wait_until(lambda: rig.sink.count() >= base + n, timeout, interval=0.02,
                   what=f"{n} messages at the sink")
        wait_until(mta.queue_empty, timeout, interval=0.02, what="empty queue")
    el = time.monotonic() - begin["t"]
    res = {"msg_s": round(n / el, 1), "elapsed_s": round(el, 3),
           "accept_msg_s": round(n / acc, 1), "sink_extra": rig.sink.count() - base - n}
    _resources_end(rig, mta, begin, sm, n, res)
    return res


def w8(rig, mta, cfg):
    """Latency from "." to "250" at a fixed offered rate, delivery running."""
    n, base = cfg["n"], rig.sink.count()
    timeout = run_timeout(rig, n) + n / cfg["rate"]
    latfile = os.path.join(rig.workdir, f"lat-{mta.name}-{cfg['level']}.txt")
    r = load.paced(rig.paced_exe, mta.port, n, cfg["sessions"], cfg["size"], cfg["rate"],
                   timeout, latfile=latfile, cpus=rig.cpu_load)
    wait_until(lambda: rig.sink.count() >= base + n and mta.queue_empty(), timeout,
               what="queue drained after the latency run")
    lat = r["lat_us"]
    return {"rate": cfg["rate"], "rate_achieved": r["rate_achieved"],
            "p50_ms": lat["p50"] / 1000, "p99_ms": lat["p99"] / 1000,
            "p999_ms": lat["p999"] / 1000, "max_ms": lat["max"] / 1000,
            "behind_max_ms": r["behind_ms"]["max"], "loadavg": sysinfo.loadavg()}


class _Background:
    """Runs fn() on a thread; join() returns its duration or raises its exception."""

    def __init__(self, fn):
        self.err, self.dt = None, None
        self.t = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.t.start()

    def _run(self, fn):
        t0 = time.monotonic()
        try:
            fn()
        except BaseException as e:  # handed to the caller by join()
            self.err = e
        self.dt = time.monotonic() - t0

    def failed(self):
        return self.err is not None

    def join(self, timeout):
        self.t.join(timeout)
        if self.t.is_alive():
            raise BenchError(f"release still running after {timeout} s")
        if self.err:
            raise self.err
        return self.dt


def w5(rig, make_mta, cfg, run_no):
    """Backlog: N held, restart, release, kill -9 at half drain, restart,
    drain; counts lost and duplicated messages at the sink by X-Bench-Id."""
    n = cfg["n"]
    wd = os.path.join(rig.workdir, f"w5-{run_no}")
    os.makedirs(wd, exist_ok=True)
    sink = Sink(wd, free_port(), dump=True, cpus=rig.cpu_load)
    mta = None
    prefix = f"w5r{run_no}"
    timeout = run_timeout(rig, n)
    try:
        mta = make_mta(wd, sink.port)
        mta.start()
        port = mta.hold_begin()
        r = load.paced(rig.paced_exe, port, n, cfg["sessions"], cfg["size"], 0, timeout,
                       idprefix=prefix, cpus=rig.cpu_load)
        held = mta.held_count()
        if held != n:
            raise BenchError(f"{held} held after queueing {n}")
        res = {"queue_msg_s": round(r["rate_achieved"], 1)}
        mta.stop()
        with sysinfo.Sampler(mta.pids) as sm:
            t0 = time.monotonic()
            res["startup_s"] = round(mta.start(), 3)
            res["pss_after_restart_mib"] = round(sysinfo.pss_bytes(mta.pids()) / 2**20, 1)
            # The release (unhold of N records) runs beside the wait for the first
            # delivery: a peer that delivers while it is still releasing shows it.
            release = _Background(mta.release_all)
            wait_until(lambda: sink.count() > 0 or release.failed(), timeout, interval=0.01,
                       what="first delivery")
            t_first = time.monotonic()
            res["restart_to_delivery_s"] = round(t_first - t0, 3)
            res["release_s"] = round(release.join(timeout), 3)
            wait_until(lambda: sink.count() >= n // 2, timeout, interval=0.01, what="half drained")
            at_kill = sink.count()
            mta.kill9()
            t_kill = time.monotonic()
            res["drain1_msg_s"] = round(at_kill / (t_kill - t_first), 1)
            after_kill = res["sink_at_kill"] = sink.count()
            mta.start()
            mta.flush()
            wait_until(lambda: sink.count() > after_kill or mta.queue_empty(), timeout,
                       interval=0.01, what="delivery after kill -9")
            res["restart2_to_delivery_s"] = round(time.monotonic() - t_kill, 3)
            wait_until(mta.queue_empty, timeout, interval=0.05, what="queue drained")
            t_done = time.monotonic()
            time.sleep(1)   # late deliveries still in flight
            res["drain2_msg_s"] = round((sink.count() - after_kill) / (t_done - t_kill), 1)
        res["peak_pss_mib"] = round(sm.peak / 2**20, 1)
        ids = sink.bench_ids(prefix)
        unique = sum(1 for k in ids if 0 <= k < n)
        res["lost"] = n - unique
        res["duplicates"] = sum(v - 1 for v in ids.values())
        res["sink_total"] = sink.count()
        return res
    finally:
        if mta is not None:
            try:
                mta.stop()
            except BenchError:
                pass
            mta.cleanup_files()
        sink.close()

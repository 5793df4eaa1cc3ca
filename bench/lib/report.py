"""Turns one invocation's results into JSON, a Markdown table and a PNG.

DESIGN: the JSON file is the record (every run of every peer, warm-ups
included, plus machine, fdatasync probe and parameters); the Markdown and the
plot are derived from it only, so `bench/run --report FILE.json` can redraw
them. Each table row is one metric of one workload configuration: C0 (the
ceiling at the same size and sessions), Postfix and Tern as "median
(min–max)" over the measured runs, then Tern ÷ Postfix and Tern ÷ C0 computed
from the medians. A peer that could not run shows "not runnable (reason)".
"""
import json
import os
import statistics

# (workload, metric, label, unit, higher_is_better, compare_with_c0)
ROWS = [
    ("W1", "msg_s", "accepted msg/s", "", True, True),
    ("W1", "cpu_us_per_msg", "MTA CPU µs/msg", "", False, False),
    ("W1", "fsync_fdatasync_per_msg", "fsync+fdatasync/msg (strace, 1 run)", "", False, False),
    ("W1", "device_flushes_per_msg", "device flushes/msg (diskstats, system-wide)", "", False, False),
    ("W2", "msg_s", "msg/s end to end", "", True, True),
    ("W2", "accept_msg_s", "accepted msg/s", "", True, True),
    ("W2", "cpu_s_per_1000", "MTA CPU s/1000 msg", "", False, False),
    ("W2", "peak_pss_mib", "peak memory MiB (PSS, all processes)", "", False, False),
    ("W2", "vm_hwm_mib", "peak RSS MiB (VmHWM, single process)", "", False, False),
    ("W8", "p50_ms", "p50 ms", "", False, False),
    ("W8", "p99_ms", "p99 ms", "", False, False),
    ("W8", "p999_ms", "p99.9 ms", "", False, False),
    ("W8", "rate_achieved", "offered msg/s (achieved)", "", True, False),
    ("W5", "startup_s", "restart with N held: process start → ready s", "", False, False),
    ("W5", "restart_to_delivery_s", "restart → first delivery s (release of N beside it)", "", False, False),
    ("W5", "release_s", "release of N held (unhold) s", "", False, False),
    ("W5", "restart2_to_delivery_s", "kill -9 → delivering again s (restart incl.)", "", False, False),
    ("W5", "drain1_msg_s", "drain msg/s (before kill -9)", "", True, False),
    ("W5", "drain2_msg_s", "drain msg/s (after kill -9, incl. restart)", "", True, False),
    ("W5", "lost", "lost", "", False, False),
    ("W5", "duplicates", "duplicates", "", False, False),
    ("W5", "pss_after_restart_mib", "memory after restart MiB (PSS, N queued)", "", False, False),
    ("W5", "peak_pss_mib", "peak memory MiB (PSS)", "", False, False),
]


def summarize(runs):
    """{metric: {median, min, max}} over numeric metrics of the runs."""
    keys = {k for r in runs for k, v in r.items() if isinstance(v, (int, float))
            and not isinstance(v, bool)}
    out = {}
    for k in sorted(keys):
        vals = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
        if vals:
            out[k] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
    return out


def save_json(doc, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _fmt(v):
    if v is None:
        return "–"
    if float(v).is_integer() and abs(v) < 100:
        return str(int(v))
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}".replace(",", " ")
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def _cell(entry, metric, notes=None):
    """(text, median) of one metric of one peer; a peer that did not run
    gets a short word and its full reason goes to `notes` (numbered)."""
    if entry is None:
        return "–", None
    if entry["status"] != "ok":
        if notes is None:
            return entry["status"], None
        reason = f"{entry['peer']}: {entry['status']}"
        if reason not in notes:
            notes.append(reason)
        word = entry["status"].split(" (")[0]
        return f"{word} [{notes.index(reason) + 1}]", None
    summ = entry.get("summary") or summarize(entry["runs"])   # no summary: interrupted
    s = summ.get(metric)
    if s is None:
        return "–", None
    if s["min"] == s["max"]:
        return _fmt(s["median"]), s["median"]
    return f"{_fmt(s['median'])} ({_fmt(s['min'])}–{_fmt(s['max'])})", s["median"]


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def _cfg_label(cfg):
    parts = []
    if "size" in cfg:
        parts.append(f"{cfg['size'] // 1024} KiB" if cfg["size"] % 1024 == 0 else f"{cfg['size']} B")
    if "sessions" in cfg:
        parts.append(f"{cfg['sessions']} sess")
    if "level" in cfg:
        parts.append(f"{cfg['level']} % of W1 max")
    if "n" in cfg:
        parts.append(f"N={cfg['n']}")
    return ", ".join(parts)


def markdown(doc):
    res = doc["results"]
    by = {}
    for e in res:
        by.setdefault((e["workload"], e["cfg_id"]), {})[e["peer"]] = e
    c0 = {(e["cfg"]["size"], e["cfg"]["sessions"]): e for e in res
          if e["workload"] == "W0" and e["status"] == "ok"}
    fs = doc.get("fdatasync") or {}
    m = doc["machine"]
    lines = [
        f"Run {doc['started']} · commit `{doc['git'].get('commit', '?')[:12]}`"
        f"{' (dirty)' if doc['git'].get('dirty') else ''} · {doc['peers_info'].get('tern', {}).get('version', 'tern ?')}"
        f" · Postfix {doc['peers_info'].get('postfix', {}).get('version', '?')}",
        "",
        f"Machine: {m.get('cpu_model', '?')}, {m.get('cpus')} CPUs, {m.get('mem_total_mib')} MiB, "
        f"kernel {m.get('kernel')}, {m.get('virtualization')}; load average at start "
        f"{doc['loadavg_start']}. Run as uid {doc['uid']}. CPUs pinned: {doc['pinned']}. "
        f"Durability: D1 for both MTAs (Postfix default fsync; Tern syncs before 250).",
        "",
        f"fdatasync (4 KiB appends, 1 thread, {fs.get('seconds', '?')} s on {fs.get('device', '?')} "
        f"{fs.get('fstype', '')}): p50 {_fmt(fs.get('p50_ms'))} ms, p99 {_fmt(fs.get('p99_ms'))} ms, "
        f"{_fmt(fs.get('per_s'))}/s.",
        "",
        f"Each cell: median (min–max) of {doc['params']['runs']} measured runs after "
        f"{doc['params']['warmup']} warm-up. C0 = smtp-source → smtp-sink at the same size and "
        "sessions (the ceiling).",
        "",
        "| Workload | Config | Metric | C0 | Postfix | Tern | Tern ÷ Postfix | Tern ÷ C0 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for (wl, cfg_id), peers in by.items():
        if wl == "W0":
            e = peers.get("c0")
            cell, _ = _cell(e, "msg_s", notes)
            lines.append(f"| W0 | {_cfg_label(e['cfg'])} | msg/s | {cell} | | | | |")
            continue
        cfg = next(iter(peers.values()))["cfg"]
        for (rwl, metric, label, _u, _hib, with_c0) in ROWS:
            if rwl != wl:
                continue
            pc, pv = _cell(peers.get("postfix"), metric, notes)
            tc, tv = _cell(peers.get("tern"), metric, notes)
            if pv is None and tv is None and "[" not in pc + tc:
                continue
            c0c, c0v = "", None
            if with_c0 and (cfg.get("size"), cfg.get("sessions")) in c0:
                c0c, c0v = _cell(c0[(cfg["size"], cfg["sessions"])], "msg_s")
            lines.append(f"| {wl} | {_cfg_label(cfg)} | {label} | {c0c} | {pc} | {tc} | "
                         f"{_ratio(tv, pv)} | {_ratio(tv, c0v) if with_c0 else ''} |")
    if notes:
        lines.append("")
        for i, reason in enumerate(notes):
            lines.append(f"[{i + 1}] {reason}  ")
    extra = [e for e in res if e.get("note")]
    if extra:
        lines.append("")
        for e in extra:
            lines.append(f"- {e['workload']} {e['peer']} {_cfg_label(e['cfg'])}: {e['note']}")
    return "\n".join(lines) + "\n"


def plot(doc, path):
    """Throughput per workload configuration and W8 latency per load level."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib missing (apt-get install python3-matplotlib)"
    ok = [e for e in doc["results"] if e["status"] == "ok" and e.get("summary")]
    thr = [e for e in ok if e["workload"] in ("W0", "W1", "W2")]
    lat = [e for e in ok if e["workload"] == "W8"]
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5))
    colors = {"c0": "#888888", "postfix": "#1f77b4", "tern": "#d62728"}
    ax = axes[0]
    labels = []
    for e in thr:
        lab = f"{e['workload']} {_cfg_label(e['cfg']).replace(', N=', chr(10) + 'N=')}"
        if lab not in labels:
            labels.append(lab)
    width = 0.27
    for i, peer in enumerate(("c0", "postfix", "tern")):
        xs, ys, lo, hi = [], [], [], []
        for e in thr:
            if e["peer"] != peer:
                continue
            s = e["summary"]["msg_s"]
            lab = f"{e['workload']} {_cfg_label(e['cfg']).replace(', N=', chr(10) + 'N=')}"
            xs.append(labels.index(lab) + (i - 1) * width)
            ys.append(s["median"])
            lo.append(s["median"] - s["min"])
            hi.append(s["max"] - s["median"])
        if xs:
            ax.bar(xs, ys, width, yerr=[lo, hi], label=peer, color=colors[peer], capsize=2)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=7, rotation=30, ha="right")
    ax.set_ylabel("msg/s (median, min–max)")
    ax.set_title("Throughput (W0 ceiling, W1 ingest, W2 relay end to end)")
    ax.legend()
    ax = axes[1]
    for peer in ("postfix", "tern"):
        pts = sorted((e["cfg"]["level"], e["summary"]) for e in lat if e["peer"] == peer)
        for q, style in (("p50_ms", "-"), ("p99_ms", "--"), ("p999_ms", ":")):
            xs = [p[0] for p in pts if q in p[1]]
            ys = [p[1][q]["median"] for p in pts if q in p[1]]
            if xs:
                ax.plot(xs, ys, style, marker="o", color=colors[peer], label=f"{peer} {q[:-3]}")
    ax.set_yscale("log")
    ax.set_xlabel("offered load, % of the MTA's own W1 max")
    ax.set_ylabel('"." → "250" latency, ms')
    ax.set_title("W8 latency under load (delivery running)")
    if lat:
        ax.legend(fontsize=8)
    fig.suptitle(f"bench/run {doc['started']} — {doc['machine'].get('cpus')} CPUs, "
                 f"fdatasync p50 {_fmt((doc.get('fdatasync') or {}).get('p50_ms'))} ms, "
                 f"pinned: {doc['pinned']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None

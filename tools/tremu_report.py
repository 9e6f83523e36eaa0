#!/usr/bin/env python3
"""The cost report's generator: raw results in, Markdown (+ SVG plots) out.

    python3 tools/tremu_report.py RAW OUT [--gnuplot=auto|on|off]

RAW is what tools/tremu-report recorded, one folder per engine:

    RAW/host.txt                 key=value lines (host, date, versions)
    RAW/ENGINE/engine.txt        name=, status=ok|failed|unavailable, reason=, command=
                                 (failed: the microbenchmark guest did not
                                 finish; what it printed is still shown)
    RAW/ENGINE/microbench.txt    the microbenchmark guest's serial output
    RAW/ENGINE/boot.txt          run_one lines: cpu_s wall_s rss_MiB boot_s after_boot_s
    RAW/ENGINE/workload.txt      the same for the CPU workload
    RAW/ENGINE/stats.txt         tremu -d stats of the workload run, or
    RAW/ENGINE/stats.json        {"engine":..,"seconds":..,"counters":{name:count}}

OUT gets report.md and, when gnuplot is there (and not --gnuplot=off or
TREMU_REPORT_GNUPLOT=off), micro.svg, times.svg and exits.svg with the data
and gnuplot scripts that made them. Without gnuplot the report has the same
tables and says why there are no plots. Standard library only."""
import json
import os
import re
import shutil
import subprocess
import sys

ENGINES = ["tremu-interp", "tremu", "tremu-kvm", "qemu", "qemu-kvm"]
LABELS = {
    "tremu-interp": "tremu interpreter",
    "tremu": "tremu JIT",
    "tremu-kvm": "tremu kvm",
    "qemu": "QEMU tcg",
    "qemu-kvm": "QEMU kvm",
}
# The microbenchmark's operations, in the guest's order (tests/guests/microbench.S),
# and what first-generation VT-x (no EPT, no TPR shadow: Adams and Agesen's
# hardware) does with each.
OPS = [
    ("syscall", "SYSCALL/SYSRETQ round trip from ring 3", "native"),
    ("int80", "INT 0x80/IRETQ round trip from ring 3", "native"),
    ("out80", "OUT to port 0x80", "exit"),
    ("in_uart", "IN from COM1's line status register", "exit"),
    ("cr8", "MOV to CR8 (TPR)", "exit (no TPR shadow)"),
    ("pte", "page-table entry write + INVLPG + touch", "exit (shadow paging)"),
    ("pagefault", "#PF on a not-present page, handled and resumed", "exit (shadow paging)"),
    ("cpuid", "CPUID leaf 0", "exit"),
    ("vmcall", "VMCALL (null hypercall)", "exit"),
    ("ctxsw", "context switch: stack switch + CR3 write", "exit (CR3 load)"),
]
# -d stats counters that are not events a hardware VMM would exit on:
# totals of other counters or rates (everything else counts as an exit).
NOT_EXITS = {"instructions retired", "instructions per second",
             "unclaimed port I/O", "unclaimed MMIO"}


def read_kv(path):
    d = {}
    try:
        with open(path) as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition("=")
                if sep:
                    d[k.strip()] = v.strip()
    except OSError:
        pass
    return d


def parse_microbench(text):
    """The guest's lines -> {"ops": {name: cycles or None}, "na": {name: why}, ...}."""
    r = {"ops": {}, "total": {}, "na": {}, "done": False, "tsc_mhz_pit": 0, "tsc_mhz_cpuid": 0,
         "overhead": None, "failure": None}
    for line in text.replace("\r", "").splitlines():
        line = line.strip()
        kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
        if line == "done":
            r["done"] = True
        elif line.startswith("unexpected vector"):
            r["failure"] = line
        elif "op" in kv and "cycles" in kv:
            if kv["cycles"] == "n/a":
                r["ops"][kv["op"]] = None
                r["na"][kv["op"]] = kv.get("reason", "not available")
            else:
                try:
                    r["ops"][kv["op"]] = float(kv["cycles"])
                    if "total" in kv:
                        r["total"][kv["op"]] = float(kv["total"])
                except ValueError:
                    r["failure"] = line
        elif line.startswith("overhead") and "cycles" in kv:
            r["overhead"] = float(kv["cycles"])
        for k in ("tsc_mhz_pit", "tsc_mhz_cpuid", "iters", "samples"):
            if k in kv and re.fullmatch(r"\d+", kv[k]):
                r[k] = int(kv[k])
    return r


def tsc_mhz(mb):
    """The rate that turns this engine's cycles into ns: CPUID 16H when the
    engine fills it (tremu's TSC is exactly that; on Intel hosts under kvm
    it is the invariant TSC's base rate), else the guest's own measurement
    against its PIT (QEMU leaves 16H out; a loaded host makes it a few per
    cent high, as descheduling only lengthens the guest's wait)."""
    if mb.get("tsc_mhz_cpuid"):
        return mb["tsc_mhz_cpuid"], "CPUID 16H"
    if mb.get("tsc_mhz_pit"):
        return mb["tsc_mhz_pit"], "PIT"
    return 0, None


def parse_stats_text(text, engine):
    """tremu's `-d stats` text -> the JSON dump's schema
    {"engine":..,"seconds":..,"counters":{name: count}}.
    Reads the first block ("== tremu event counters ==") up to the next
    "--" heading; seconds from the "instructions per second" line."""
    counters, seconds, inside = {}, None, False
    for line in text.splitlines():
        if line.startswith("=="):
            inside = "event counters" in line
            continue
        if line.startswith("--"):
            inside = False
            continue
        if not inside:
            continue
        m = re.match(r"^\s+(.+?)\s{2,}(-?\d+(?:\.\d+)?)(.*)$", line)
        if not m:
            continue
        name, value, rest = m.group(1), m.group(2), m.group(3)
        if name == "instructions per second":
            s = re.search(r"over ([\d.]+) s", rest)
            if s:
                seconds = float(s.group(1))
            continue
        counters[name] = float(value) if "." in value else int(value)
    return {"engine": engine, "seconds": seconds, "counters": counters}


def read_exit_counters(folder, engine):
    """The one reader of exit counters: stats.json (the schema above) when
    the run wrote one, else stats.txt (today's -d stats text). None when
    there are neither."""
    jpath = os.path.join(folder, "stats.json")
    tpath = os.path.join(folder, "stats.txt")
    if os.path.isfile(jpath):
        with open(jpath) as f:
            d = json.load(f)
        d.setdefault("engine", engine)
        return d
    if os.path.isfile(tpath):
        with open(tpath, errors="replace") as f:
            d = parse_stats_text(f.read(), engine)
        return d if d["counters"] else None
    return None


def exits_total(stats):
    return sum(v for k, v in stats["counters"].items()
               if k not in NOT_EXITS and isinstance(v, (int, float)))


def median(xs):
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2] if xs else None


def parse_runs(path):
    """run_one lines -> medians (cpu, wall, rss, boot, after) or None."""
    rows = []
    try:
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) == 5:
                    try:
                        rows.append([float(x) for x in w])
                    except ValueError:
                        pass
    except OSError:
        return None
    if not rows:
        return None
    return [median([r[i] for r in rows]) for i in range(5)] + [len(rows)]


def load(raw):
    engines = []
    names = [e for e in ENGINES if os.path.isdir(os.path.join(raw, e))]
    names += sorted(e for e in os.listdir(raw)
                    if os.path.isdir(os.path.join(raw, e)) and e not in ENGINES)
    for e in names:
        d = os.path.join(raw, e)
        info = read_kv(os.path.join(d, "engine.txt"))
        mbtext = ""
        try:
            with open(os.path.join(d, "microbench.txt"), errors="replace") as f:
                mbtext = f.read()
        except OSError:
            pass
        engines.append({
            "name": e,
            "label": info.get("label", LABELS.get(e, e)),
            "status": info.get("status", "unavailable"),
            "reason": info.get("reason", ""),
            "command": info.get("command", ""),
            "mb": parse_microbench(mbtext) if mbtext else None,
            "boot": parse_runs(os.path.join(d, "boot.txt")),
            "work": parse_runs(os.path.join(d, "workload.txt")),
            "workload": info.get("workload", ""),
            "stats": read_exit_counters(d, e),
        })
    return engines


def fmt(x, nd=1):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return "%.0f" % x
    return ("%%.%df" % nd) % x


def md_table(head, rows, left=1):
    """A Markdown table; the first LEFT columns are text (left-aligned), the
    rest figures (right-aligned)."""
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" if i < left else "---:" for i in range(len(head))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def gnuplot_bars(out, name, title, ylabel, cats, series, log):
    """A clustered bar chart: cats on x, one bar per series (label, values);
    values None or <= 0 (on a log scale) are left out, and so is a series
    with no value left. Writes NAME.dat, NAME.gp and runs gnuplot to make
    NAME.svg; returns its name, or None when there is nothing to plot."""
    series = [(l, v) for l, v in series
              if any(x is not None and (x > 0 or not log) for x in v)]
    if not series:
        return None
    dat = os.path.join(out, name + ".dat")
    with open(dat, "w") as f:
        f.write("# category " + " ".join('"%s"' % s[0] for s in series) + "\n")
        for i, c in enumerate(cats):
            vals = []
            for _, v in series:
                x = v[i]
                vals.append("?" if x is None or (log and x <= 0) else "%g" % x)
            f.write('"%s" %s\n' % (c, " ".join(vals)))
    gp = os.path.join(out, name + ".gp")
    plots = []
    for k, (label, _) in enumerate(series):
        src = "'%s.dat'" % name if k == 0 else "''"
        xt = ":xtic(1)" if k == 0 else ""
        plots.append("%s using %d%s title '%s'" % (src, k + 2, xt, label.replace("'", "")))
    with open(gp, "w") as f:
        f.write("# made by tools/tremu_report.py; run in this folder: gnuplot %s.gp\n" % name)
        f.write("set terminal svg size 960,480 dynamic noenhanced font 'sans,12'\n")
        f.write("set output '%s.svg'\n" % name)
        f.write("set title '%s'\n" % title.replace("'", ""))
        f.write("set ylabel '%s'\n" % ylabel.replace("'", ""))
        f.write("set datafile missing '?'\n")
        f.write("set style data histograms\nset style histogram clustered gap 1\n")
        f.write("set style fill solid 0.85 border -1\nset boxwidth 0.9\n")
        f.write("set key below\nset grid ytics\nset xtics rotate by -25\n")
        f.write("set logscale y\n" if log else "set yrange [0:*]\n")
        f.write("plot " + ", \\\n     ".join(plots) + "\n")
    r = subprocess.run(["gnuplot", name + ".gp"], cwd=out,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0 or not os.path.isfile(os.path.join(out, name + ".svg")):
        raise RuntimeError("gnuplot failed on %s: %s" % (gp, r.stdout.strip()))
    return name + ".svg"


def generate(raw, out, use_gnuplot):
    os.makedirs(out, exist_ok=True)
    for p in ("micro", "times", "exits"):     # plots of an earlier report
        for ext in (".svg", ".dat", ".gp"):
            try:
                os.remove(os.path.join(out, p + ext))
            except OSError:
                pass
    host = read_kv(os.path.join(raw, "host.txt"))
    engines = load(raw)
    ok = [e for e in engines if e["status"] in ("ok", "failed")]
    L = []
    L.append("# tremu cost report: what each engine pays for the operations a VMM traps\n")
    if host:
        L.append("Recorded %s on %s (%s), %s.\n" % (
            host.get("date", "?"), host.get("host", "?"), host.get("cpu", "?"),
            host.get("tremu", "tremu ?")))
        if host.get("qemu"):
            L.append("QEMU: %s.\n" % host["qemu"])
    plots_note = None
    if not use_gnuplot:
        plots_note = ("No plots: %s. The tables below carry the same figures."
                      % ("gnuplot is switched off" if use_gnuplot is False else
                         "gnuplot is not installed (apt-get install gnuplot-nox)"))
        L.append("_%s_\n" % plots_note)

    L.append("## Engines\n")
    rows = []
    for e in engines:
        st = {"ok": "used", "failed": "**failed**"}.get(e["status"], "**unavailable**")
        rows.append([e["label"], "`%s`" % e["command"] if e["command"] else "-", st,
                     e["reason"] or ""])
    L.append(md_table(["engine", "command", "status", "why / notes"], rows, 4) + "\n")

    # 1. microbenchmark
    L.append("## 1. One operation, timed in the guest (tests/guests/microbench.S)\n")
    L.append("Each figure is the median of the guest's samples (a sample: a batch of "
             "the operation between two LFENCE-fenced RDTSCs), minus an empty batch, "
             "divided by the batch size. **Cycles are ticks of each engine's guest "
             "TSC**, and the engines run it at different rates: tremu's software CPU "
             "at 1 GHz from host time (CPUID 15H/16H say so), QEMU tcg and kvm at "
             "about the host's TSC rate. So the engines are compared in **ns**: "
             "cycles / TSC MHz, the rate from CPUID 16H when the engine reports one, "
             "else the guest's own measurement against its PIT (the shortest of ten "
             "10 ms waits). Cycles are on each engine's own scale.\n")
    mbe = [e for e in ok if e["mb"]]
    if mbe:
        head = ["operation", "what", "VT-x in 2006"] + [e["label"] for e in mbe]
        rows = []
        rates = {}
        for e in mbe:
            rates[e["name"]] = tsc_mhz(e["mb"])
        for op, what, vtx in OPS:
            row = [op, what, vtx]
            for e in mbe:
                mb = e["mb"]
                if op in mb["na"]:
                    row.append("n/a (%s)" % mb["na"][op])
                elif op in mb["ops"] and mb["ops"][op] <= 0:
                    row.append("below noise")
                elif op in mb["ops"]:
                    c = mb["ops"][op]
                    mhz = rates[e["name"]][0]
                    row.append("%s cyc / %s ns" % (fmt(c), fmt(c * 1000.0 / mhz)) if mhz
                               else "%s cyc" % fmt(c))
                else:
                    # the guest stopped before it, or never printed it
                    row.append("not reached" if not mb["done"] else "missing")
            rows.append(row)
        row = ["(loop)", "one empty iteration (subtracted)", ""]
        for e in mbe:
            row.append("%s cyc" % fmt(e["mb"]["overhead"]))
        rows.append(row)
        row = ["(TSC)", "guest TSC rate used for ns, MHz (source)", ""]
        for e in mbe:
            mhz, src = rates[e["name"]]
            row.append("%d (%s)" % (mhz, src) if mhz else "unknown")
        rows.append(row)
        L.append(md_table(head, rows, 3) + "\n")
        L.append("\"VT-x in 2006\": what the first VT-x processors (no EPT, no TPR "
                 "shadow; the hardware of Adams and Agesen) did with the operation: run "
                 "it natively, or exit to the VMM.\n")
        L.append("\"below noise\": the batch with the operation was no slower than the "
                 "empty batch (the operation costs less than the loop's jitter; the "
                 "raw `total=` figures are in raw/ENGINE/microbench.txt).\n")
        for e in mbe:
            if not e["mb"]["done"]:
                L.append("- %s: the guest did not finish (%s); the figures above are "
                         "what it printed before.\n" % (
                             e["label"], e["mb"]["failure"] or "no `done` line"))
        if use_gnuplot:
            series = []
            for e in mbe:
                mhz = rates[e["name"]][0]
                vals = []
                for op, _, _ in OPS:
                    c = e["mb"]["ops"].get(op)
                    vals.append(c * 1000.0 / mhz if c is not None and c > 0 and mhz else None)
                series.append((e["label"], vals))
            svg = gnuplot_bars(out, "micro", "One operation per engine (microbenchmark guest)",
                               "ns per operation (log scale)", [o[0] for o in OPS], series, True)
            if svg:
                L.append("![ns per operation, log scale](%s)\n" % svg)
    else:
        L.append("No engine ran the microbenchmark guest.\n")

    # 2. boot and workload
    L.append("## 2. Boot and a CPU workload (the default busybox guest)\n")
    wl = next((e["workload"] for e in ok if e["workload"]), "")
    L.append("Boot: from start to the guest's /init printing TREMU-BOOT-OK (kernel + "
             "initramfs, `-m 512`, serial console). Workload: %s, timed from /init to "
             "its end. cpu = host user+sys seconds of the emulator for the workload "
             "run, boot included. Medians over the runs.\n" % (
                 "`%s`" % wl if wl else "the gzip workload of `make bench`"))
    be = [e for e in ok if e["boot"] or e["work"]]
    if be:
        rows = []
        for e in be:
            b, w = e["boot"], e["work"]
            rows.append([e["label"], fmt(b[3], 2) if b else "failed",
                         fmt(w[4], 2) if w else "failed",
                         fmt(w[0], 2) if w else "-", fmt(w[2], 0) if w else "-",
                         str(max(b[5] if b else 0, w[5] if w else 0))])
        L.append(md_table(["engine", "boot to /init (s)", "workload (s)",
                           "cpu, workload run (s)", "peak RSS (MiB)", "runs"], rows) + "\n")
        if use_gnuplot:
            cats = [e["label"] for e in be]
            series = [("boot to /init", [e["boot"][3] if e["boot"] else None for e in be]),
                      ("workload after boot", [e["work"][4] if e["work"] else None for e in be])]
            svg = gnuplot_bars(out, "times", "Boot and workload, wall seconds",
                               "seconds", cats, series, False)
            if svg:
                L.append("![boot and workload seconds](%s)\n" % svg)
    else:
        L.append("No engine booted the guest (see the engines above).\n")

    # 3. exits
    L.append("## 3. Exits per second (the workload run, `-d stats`)\n")
    L.append("An exit is an event a hardware VMM would leave the guest for: every "
             "counter of tremu's event-counter block except %s. Under tcg nothing "
             "exits: the counts are where a VT-x VMM would have exited, which is the "
             "point of comparing them with kvm. Rates are over the whole run (boot "
             "included). QEMU has no such counters. The counters come from each run's "
             "`-d stats` text, or from its JSON dump (stats.json) when the run left "
             "one.\n" % ", ".join(sorted(NOT_EXITS)))
    se = [e for e in ok if e["stats"]]
    if se:
        names = []
        for e in se:
            for k in e["stats"]["counters"]:
                if k not in NOT_EXITS and k not in names:
                    names.append(k)
        head = ["counter"] + ["%s (/s)" % e["label"] for e in se]
        rows = []
        for k in names:
            row = [k]
            for e in se:
                v, s = e["stats"]["counters"].get(k), e["stats"]["seconds"]
                row.append("-" if v is None else
                           ("%d (%s)" % (v, fmt(v / s, 0)) if s else "%d" % v))
            rows.append(row)
        row, row2 = ["**exits, total**"], ["seconds"]
        for e in se:
            t, s = exits_total(e["stats"]), e["stats"]["seconds"]
            row.append("**%d (%s)**" % (t, fmt(t / s, 0)) if s else "**%d**" % t)
            row2.append(fmt(s, 2) if s else "?")
        rows += [row, row2]
        L.append(md_table(head, rows) + "\n")
        if use_gnuplot:
            series = [("exits per second",
                       [exits_total(e["stats"]) / e["stats"]["seconds"]
                        if e["stats"]["seconds"] else None for e in se])]
            svg = gnuplot_bars(out, "exits", "Exits per second, workload run",
                               "exits per second (log scale)", [e["label"] for e in se],
                               series, True)
            if svg:
                L.append("![exits per second](%s)\n" % svg)
    else:
        L.append("No exit counters were recorded.\n")

    L.append("## Engines not measured, or not fully\n")
    un = [e for e in engines if e["status"] != "ok"]
    if un:
        for e in un:
            L.append("- **%s** (%s): %s\n" % (e["label"], e["status"],
                                              e["reason"] or "no reason recorded"))
    else:
        L.append("None: every engine ran.\n")
    L.append("\n---\nMade by `make report` (tools/tremu-report, tools/tremu_report.py). "
             "The raw results are in `raw/`; the plots' data and gnuplot scripts are "
             "next to them.\n")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(L))
    return os.path.join(out, "report.md")


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    mode = os.environ.get("TREMU_REPORT_GNUPLOT", "auto")
    for a in argv:
        if a.startswith("--gnuplot="):
            mode = a.split("=", 1)[1]
        elif a.startswith("--"):
            sys.exit("tremu_report: unknown option %s" % a)
    if len(args) != 2 or mode not in ("auto", "on", "off"):
        sys.exit("usage: tremu_report.py RAW OUT [--gnuplot=auto|on|off]")
    raw, out = args
    if not os.path.isdir(raw):
        sys.exit("tremu_report: %s: no such folder of raw results" % raw)
    have = shutil.which("gnuplot") is not None
    if mode == "on" and not have:
        sys.exit("tremu_report: --gnuplot=on but gnuplot is not installed")
    use = False if mode == "off" else (None if not have else True)
    try:
        path = generate(raw, out, use)
    except RuntimeError as e:
        sys.exit("tremu_report: %s" % e)
    print("tremu_report: wrote %s" % path)


if __name__ == "__main__":
    main(sys.argv[1:])

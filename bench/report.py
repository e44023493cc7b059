"""report.py — turns the RESULT lines of one `make bench` run into the
results table: printed on stdout and written as markdown (for the README).

    python3 bench/report.py BUILD/bench/results.txt BUILD/bench/results.md

Standard library only.  Each benchmark has one function below returning its
rows; a benchmark whose results are missing is left out, a side that
failed or was not run shows "n/a".  A new benchmark adds a function and
its name to ROWS.
"""
import sys

GOAL_MET, GOAL_MISSED, NA = "yes", "NO", "n/a"


def read_results(path):
    res = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) == 3 and parts[0] == "RESULT":
                res[parts[1]] = parts[2]
    return res


def num(res, key):
    try:
        return float(res[key])
    except (KeyError, ValueError):
        return None


def best(res, key):
    """A machine limit: the better of the measurements at the start and at
    the end of the run."""
    vals = [v for v in (num(res, key), num(res, "again." + key)) if v is not None]
    return max(vals) if vals else None


def fmt_time(s):
    if s is None:
        return NA
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_ratio(r):
    return NA if r is None else f"{r:.2f}x"


def met(value, goal):
    if value is None:
        return NA
    return GOAL_MET if value >= goal else GOAL_MISSED


def met_le(value, goal):
    if value is None or goal is None:
        return NA
    return GOAL_MET if value <= goal else GOAL_MISSED


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


# Each row: (benchmark, latefuse, peer, peer/latefuse, goal, met)

def rows_machine(res):
    if best(res, "peak.1t_gflops") is None:
        return []
    isa = res.get("peak.isa", "?")
    nt = res.get("machine.threads", "?")
    rows = [
        (f"peak FP32 FLOP/s, {isa}, 1 thread", f"{best(res, 'peak.1t_gflops'):.1f} GFLOP/s",
         "", "", "", ""),
        (f"peak FP32 FLOP/s, {isa}, {nt} threads", f"{best(res, 'peak.nt_gflops'):.1f} GFLOP/s",
         "", "", "", ""),
    ]
    mib = res.get("bw.mib", "?")
    for key, what in (("bw.memcpy_gbs", f"memcpy {mib} MiB, 1 thread"),
                      ("bw.copy_1t_gbs", "copy loop, 1 thread"),
                      ("bw.copy_nt_gbs", f"copy loop, {nt} threads"),
                      ("bw.read_nt_gbs", f"read (sum), {nt} threads")):
        v = best(res, key)
        if v is not None:
            rows.append((f"bandwidth: {what} (read+write)" if "copy" in key or "memcpy" in key
                         else f"bandwidth: {what}", f"{v:.1f} GB/s", "", "", "", ""))
    return rows


def rows_b1(res):
    lf, pt = num(res, "b1.latefuse.median_s"), num(res, "b1.torch.median_s")
    if lf is None and pt is None:
        return []
    r = ratio(pt, lf)
    return [("B1 seed network fit, 10 epochs x 1000 rows (median)", fmt_time(lf), fmt_time(pt),
             fmt_ratio(r), ">= 30x", met(r, 30))]


def rows_b2(res):
    lf, pt = num(res, "b2.latefuse.median_s"), num(res, "b2.torch.median_s")
    if lf is None and pt is None:
        return []
    r = ratio(pt, lf)
    return [("B2 seed network predict, 1 row (median per call)", fmt_time(lf), fmt_time(pt),
             fmt_ratio(r), ">= 50x", met(r, 50))]


def rows_b3(res):
    lf, pt = num(res, "b3.latefuse.median_s"), num(res, "b3.torch.median_s")
    if lf is None and pt is None:
        return []
    rows_n = res.get("b3.rows", "?")
    lfs, pts = num(res, "b3.latefuse.samples_per_s"), num(res, "b3.torch.samples_per_s")
    r = ratio(lfs, pts)  # latefuse's throughput over the peer's
    pt_rows = res.get("b3.torch.rows", rows_n)
    lfg, ptg = num(res, "b3.latefuse.gflops"), num(res, "b3.torch.gflops")
    peak = best(res, "peak.nt_gflops")
    share = ratio(lfg, peak)
    pshare = ratio(ptg, peak)

    def sps(v):
        return NA if v is None else f"{v:,.0f} rows/s"

    def gf(v, s):
        return NA if v is None else f"{v:.1f} GFLOP/s" + ("" if s is None else f" ({s:.0%})")

    return [
        (f"B3 embedding-fusion MLP, 1 epoch of {rows_n} rows (median)", fmt_time(lf),
         fmt_time(pt) + ("" if pt_rows == rows_n or pt is None else f" ({pt_rows} rows)"),
         fmt_ratio(r) if pt_rows == rows_n else "", "", ""),
        ("B3 throughput", sps(lfs), sps(pts), fmt_ratio(r), ">= 1.2x", met(r, 1.2)),
        ("B3 achieved FLOP/s (share of peak, all threads)", gf(lfg, share), gf(ptg, pshare),
         "", ">= 50% of peak", met(share, 0.5)),
    ]


def fmt_mem(kib):
    if kib is None:
        return NA
    mb = kib * 1024 / 1e6
    return f"{mb / 1000:.2f} GB" if mb >= 1000 else f"{mb:.1f} MB"


def rows_b4(res):
    rows = []
    n = res.get("b4.rows", "?")
    bw = best(res, "bw.copy_gbs")
    nbytes = [num(res, "b4.bytes_read"), num(res, "b4.bytes_written")]
    moved = None if None in nbytes else sum(nbytes)
    for rule in ("mean", "product"):
        lf, np_ = num(res, f"b4.{rule}.latefuse.median_s"), num(res, f"b4.{rule}.numpy.median_s")
        lfn = num(res, f"b4.{rule}.latefuse_nofsync.median_s")
        npf = num(res, f"b4.{rule}.numpy_fresh.median_s")
        if lf is None and np_ is None and lfn is None:
            continue
        # numpy writing over its previous output (as latefuse's runs do) and
        # into a fresh file: the goals are judged against the faster
        np_over = np_
        if npf is not None and (np_ is None or npf < np_):
            np_ = npf
        # the default run fsyncs its output, numpy does not: the goals are
        # judged on the --no-fsync run, the fair comparison
        r, rn = ratio(np_, lf), ratio(np_, lfn)
        rows.append((f"B4 {rule}: 3 models x {n} rows x 10 classes, .npy -> .npy, with fsync "
                     f"(the default; median; peer numpy, no fsync, the faster of writing over "
                     f"its last output ({fmt_time(np_over)}) and into a fresh file "
                     f"({fmt_time(npf)}))", fmt_time(lf), fmt_time(np_), fmt_ratio(r), "", ""))
        rows.append((f"B4 {rule}: the same with --no-fsync (median; peer numpy)", fmt_time(lfn),
                     fmt_time(np_), fmt_ratio(rn), ">= 3x", met(rn, 3)))

        def gbs(t):
            g = ratio(moved, t)
            if g is None:
                return NA, None
            share = ratio(g * 1e-9, bw)
            return f"{g * 1e-9:.2f} GB/s" + ("" if share is None else f" ({share:.0%})"), share

        (lt, _), (ltn, lsn), (pt, _) = gbs(lf), gbs(lfn), gbs(np_)
        rows.append((f"B4 {rule}: (bytes read + written) / time (share of the copy bandwidth), "
                     f"with fsync / --no-fsync", f"{lt} / {ltn}", pt, "", ">= 70% of bandwidth",
                     met(lsn, 0.7)))
        fl = num(res, "b4.io_floor.median_s")
        if fl is not None:
            rows.append((f"B4 {rule}: file-I/O floor on one thread (cat the 3 inputs, dd the "
                         f"output's size into a new file, removed) / latefuse --no-fsync", f"{fmt_time(fl)} / {fmt_time(lfn)} "
                         f"({ratio(fl, lfn):.0%} of the floor's speed)" if lfn else fmt_time(fl), "", "", "", ""))
        d = num(res, f"b4.{rule}.max_abs_diff")
        rows.append((f"B4 {rule}: max |latefuse - numpy| over the output; latefuse peak memory",
                     f"{res.get(f'b4.{rule}.max_abs_diff', NA)}; "
                     f"{fmt_mem(num(res, f'b4.{rule}.latefuse.maxrss_kib'))}", "", "", "<= 1e-6",
                     met_le(d, 1e-6)))
    return rows


B5_METHODS = ("wavg", "wavg-class", "stack-lr")
LL_TOL = 1.005  # "equal" log-loss: within 0.5 %


def rows_b5(res):
    rows = []
    n, ep = res.get("b5.rows", "?"), res.get("b5.epochs", "?")
    for m in B5_METHODS:
        lf, pt = num(res, f"b5.{m}.latefuse.median_s"), num(res, f"b5.{m}.torch.median_s")
        if lf is None and pt is None:
            continue
        r = ratio(pt, lf)
        rows.append((f"B5 {m} fit, {n} rows x 3 models x 10 classes, {ep} epoch(s) (peer PyTorch)",
                     fmt_span(res, f"b5.{m}.latefuse"), fmt_span(res, f"b5.{m}.torch"), fmt_ratio(r),
                     ">= 10x", met(r, 10)))
        ll, pll = num(res, f"b5.{m}.latefuse.logloss"), num(res, f"b5.{m}.torch.logloss")
        rows.append((f"B5 {m} held-out log-loss (peer PyTorch)", res.get(f"b5.{m}.latefuse.logloss", NA),
                     res.get(f"b5.{m}.torch.logloss", NA), "", "<= peer (+0.5%)",
                     met_le(ll, None if pll is None else pll * LL_TOL)))
    lf, sk = num(res, "b5.stack-lr.latefuse.median_s"), num(res, "b5.stack-lr.sklearn.median_s")
    if sk is not None:
        r = ratio(sk, lf)
        it = res.get("b5.stack-lr.sklearn.iterations", "?")
        rows.append((f"B5 stack-lr fit (peer scikit-learn LogisticRegression, lbfgs, {it} "
                     f"iterations)", fmt_span(res, "b5.stack-lr.latefuse"), fmt_span(res, "b5.stack-lr.sklearn"),
                     fmt_ratio(r), ">= 10x", met(r, 10)))
        ll, sll = num(res, "b5.stack-lr.latefuse.logloss"), num(res, "b5.stack-lr.sklearn.logloss")
        rows.append(("B5 stack-lr held-out log-loss (peer scikit-learn)",
                     res.get("b5.stack-lr.latefuse.logloss", NA),
                     res.get("b5.stack-lr.sklearn.logloss", NA), "", "<= peer (+0.5%)",
                     met_le(ll, None if sll is None else sll * LL_TOL)))
    return rows


def fmt_span(res, key):
    """median (min-max) of a side's timed runs"""
    med, lo, hi = (num(res, f"{key}.{s}") for s in ("median_s", "min_s", "max_s"))
    if med is None or lo is None or hi is None:
        return fmt_time(med)
    return f"{fmt_time(med)} ({fmt_time(lo)}-{fmt_time(hi)})"


def rows_b7(res):
    return rows_cnn(res, "b7", "B7", "the example's image CNN (32x32 after pooling, 16-128 filters)") + \
        rows_cnn(res, "b7l", "B7L", "the larger image CNN (64x64, 32-128 filters)")


def rows_cnn(res, k, name, what):
    lf, pt = num(res, f"{k}.latefuse.median_s"), num(res, f"{k}.torch.median_s")
    if lf is None and pt is None:
        return []
    n = res.get(f"{k}.rows", res.get(f"{k}.torch.rows", "?"))
    nt = res.get("b7.threads", "?")
    r = ratio(pt, lf)
    lc, pc = num(res, f"{k}.latefuse.cpu_median_s"), num(res, f"{k}.torch.cpu_median_s")
    lf1, pt1 = num(res, f"{k}.latefuse.first_epoch_s"), num(res, f"{k}.torch.first_epoch_s")
    rows = [(f"{name} {what}, 1 training epoch of {n} Web_News images, {nt} threads "
             "(epochs 2.. of one training: median, min-max)",
             fmt_span(res, f"{k}.latefuse"), fmt_span(res, f"{k}.torch"), fmt_ratio(r), ">= 1.5x",
             met(r, 1.5)),
            (f"{name} CPU time of the epoch, all threads (median)", fmt_time(lc), fmt_time(pc),
             fmt_ratio(ratio(pc, lc)), "", "")]
    if lf1 is not None or pt1 is not None:
        rows.append((f"{name} the first epoch (the warm-up: fresh memory, the fit's set-up)", fmt_time(lf1),
                     fmt_time(pt1), fmt_ratio(ratio(pt1, lf1)), "", ""))
    return rows


def rows_b9(res):
    if "b9.rows" not in res:
        return []
    n, nf = res.get("b9.rows", "?"), res.get("b9.fit_rows", "?")
    rows = []
    t = num(res, "b9.ges_fit.latefuse.median_s")
    rows.append((f"B9 ges fit, {n} rows x 5 models x 10 classes (the selection; importance off)",
                 fmt_span(res, "b9.ges_fit.latefuse"), "", "", "<= 1 s", met_le(t, 1.0)))
    ti = num(res, "b9.ges_fit_with_importance.latefuse.median_s")
    if ti is not None:
        rows.append(("B9 the same with fit's default importance (M + 1 predictions of the rows)",
                     fmt_span(res, "b9.ges_fit_with_importance.latefuse"), "", "", "<= 1 s", met_le(ti, 1.0)))
    for d in ("knora-e",):
        if f"b9.{d}.missing" in res:
            continue
        t = num(res, f"b9.{d}_predict.latefuse.median_s")
        rows.append((f"B9 {d} predict, {n} rows against {nf} fitting rows",
                     fmt_span(res, f"b9.{d}_predict.latefuse"), "", "", "<= 10 s", met_le(t, 10.0)))
    if "b9.auto_rows" in res:
        cpu = num(res, "b9.auto_fit.latefuse.cpu_s")
        rows.append((f"B9 auto fit, {res['b9.auto_rows']} rows x 5 models x 10 classes (one run; CPU time "
                     f"{fmt_time(cpu)})", fmt_span(res, "b9.auto_fit.latefuse"), "", "", "", ""))
    return rows


def rows_steps(res, tag, what, goal):
    """B8's and B11's row: a training step's median time (engine.c's and
    torch_peer.py's time_epochs) against PyTorch's; goal a ratio or None"""
    lf, pt = num(res, tag + ".latefuse.median_s"), num(res, tag + ".torch.median_s")
    if lf is None and pt is None:
        return []
    r = ratio(pt, lf)
    return [(f"{what} (median of {res.get(tag + '.latefuse.runs', '?')} epochs of {res.get(tag + '.batches', '?')} "
             f"steps, min-max)", fmt_span(res, tag + ".latefuse"), fmt_span(res, tag + ".torch"), fmt_ratio(r),
             f">= {goal}x" if goal else "", met(r, goal) if goal else "")]


def rows_b8(res):
    return rows_steps(res, "b8", "B8 MultiHeadAttention encoder block, one training step, batch 32 x (128, 128)", 1.2)


def rows_b11(res):
    return rows_steps(res, "b11", "B11 Conv3D training step, C3D-style, batch 8 x (16, 32, 32, 3)", None)


def b6_sizes(res):
    return sorted(int(k.split(".")[1]) for k in res
                  if k.startswith("b6.") and k.endswith(".input_bytes"))


def rows_b6(res):
    sizes = b6_sizes(res)
    if not sizes:
        return []
    rows = []
    ep = res.get("b6.epochs", "?")
    for n in sizes:
        for what in ("fit", "predict"):
            t = num(res, f"b6.{n}.{what}.median_s")
            kib = num(res, f"b6.{n}.{what}.maxrss_kib")
            inp = num(res, f"b6.{n}.input_bytes")
            per_row = NA if t is None else f"{t / n * 1e9:.0f} ns/row"
            mem = fmt_mem(kib)
            if kib is not None and inp:
                mem += f" ({kib * 1024 / inp:.2f}x input)"
            label = (f"B6 fit --method wavg ({ep} epoch)" if what == "fit" else "B6 predict") + \
                f", {n} rows"
            rows.append((label, f"{fmt_time(t)}; {per_row}; peak {mem}", "", "", "", ""))

    def per_row(what, n):
        t = num(res, f"b6.{n}.{what}.median_s")
        return None if t is None else t / n

    # linear time: time per row at the largest size against the second
    # smallest (the smallest is dominated by the process' start)
    ref = sizes[1] if len(sizes) > 2 else sizes[0]
    big = sizes[-1]
    for what in ("fit", "predict"):
        r = ratio(per_row(what, big), per_row(what, ref))
        rows.append((f"B6 {what}: time per row at {big} rows / at {ref} rows", fmt_ratio(r), "", "",
                     "<= 1.5x (linear)", met_le(r, 1.5)))
    # streaming: the peak at the largest size against the size ten times
    # smaller (below that, the inputs are smaller than the stream's
    # steady-state window of mapped pages and buffers, ~10 MB)
    mref = sizes[-2] if len(sizes) > 1 else sizes[0]
    small, large = num(res, f"b6.{mref}.predict.maxrss_kib"), num(res, f"b6.{big}.predict.maxrss_kib")
    r = ratio(large, small)
    rows.append((f"B6 predict: peak memory at {big} rows / at {mref} rows", fmt_ratio(r), "", "",
                 "<= 1.5x (streams)", met_le(r, 1.5)))
    kib, inp = num(res, f"b6.{big}.fit.maxrss_kib"), num(res, f"b6.{big}.input_bytes")
    r = None if kib is None or not inp else kib * 1024 / inp
    rows.append((f"B6 fit: peak memory / input size at {big} rows", fmt_ratio(r), "", "",
                 "<= 1.2x", met_le(r, 1.2)))
    return rows


ROWS = [rows_machine, rows_b1, rows_b2, rows_b3, rows_b4, rows_b5, rows_b6, rows_b7, rows_b8, rows_b9,
        rows_b11]
HEADER = ("benchmark", "latefuse", "peer", "peer/latefuse", "goal", "goal met")


def notes(res):
    out = []
    env = [res.get(k) for k in ("env.cpu", "env.cores")]
    out.append(f"Machine: {env[0] or '?'}, {env[1] or '?'} cores; {res.get('env.cc', '?')}; "
               f"commit {res.get('env.commit', '?')}; {res.get('env.date', '?')}.")
    if "torch.missing" in res:
        out.append("PyTorch: not installed (python3-torch), peer columns are n/a.")
    else:
        blas = res.get("torch.blas", "unknown")
        out.append(f"PyTorch {res.get('torch.version', '?')}, {res.get('torch.threads', '?')} "
                   f"threads, BLAS {blas}.")
        if blas.startswith("reference"):
            out.append("Warning: PyTorch ran on the reference (netlib) BLAS, a weak peer for "
                       "B3; install libopenblas0-openmp (or set LF_BENCH_OPENBLAS).")
    if "b3.reduced_from" in res:
        out.append(f"B3 ran on {res.get('b3.rows')} rows instead of {res['b3.reduced_from']}: "
                   f"latefuse's warm-up projected "
                   f"{res.get('b3.latefuse.projected_full_s', '?')} s per epoch on "
                   f"{res['b3.reduced_from']} rows (limit LF_BENCH_B3_MAX_RUN_S).")
    if "b3.torch.projected_s" in res:
        out.append(f"B3: PyTorch's warm-up projected {res['b3.torch.projected_s']} s per epoch, "
                   f"so it timed {res.get('b3.torch.runs', '?')} epoch of "
                   f"{res.get('b3.torch.rows', '?')} rows; the ratios compare throughput "
                   f"(rows/s).")
    out.append("Peers: PyTorch for B1-B3, B5, B8 and B11, numpy for B4, scikit-learn where named; "
               "B6 has no peer.")
    if "b4.rows" in res:
        out.append(f"B4: latefuse is timed as a whole `latefuse predict` process (reading the .npy "
                   f"files, validating, fusing, writing), once as users run it by default (the "
                   f"output fsynced) and once with --no-fsync (still a temporary file renamed "
                   f"into place); numpy from np.load to np.save in one interpreter, which does "
                   f"not fsync, so B4's goals are judged on the --no-fsync run; share of B4's "
                   f"input in the page cache after "
                   f"the runs: {res.get('b4.cached_share', '?')}; disk free "
                   f"{res.get('data.disk_avail_gb', '?')} GB, memory available "
                   f"{res.get('data.mem_avail_gb', '?')} GB.")
    if "data.no_room" in res:
        out.append(f"B4/B6 skipped: {res.get('data.disk_need_gb', '?')} GB of disk needed, "
                   f"{res.get('data.disk_avail_gb', '?')} GB free.")
    if "b5.rows" in res:
        out.append(f"B5: {res.get('b5.epochs', '?')} epoch(s), no modality dropout, batch 64, "
                   f"Adam lr 0.01 (stack-lr 0.003) on both sides, both ending with the moving average of the "
                   f"weights (Keras' use_ema, momentum 1 - 10 / steps, at most 0.999); both hold "
                   f"out 10 % of the rows for validation; "
                   f"log-loss on {res.get('b5.test_rows', '?')} held-out rows; every side fits once to "
                   f"warm up, then {res.get('b5.wavg.latefuse.runs', '?')} timed fits: median (min-max).  scikit-learn "
                   f"trains on all rows to convergence or {res.get('b5.stack-lr.sklearn.max_iter', '?')} "
                   f"iterations.")
    busy = [num(res, "env.busy_start"), num(res, "env.busy_end")]
    if any(v is not None and v > 0.1 for v in busy):
        out.append(f"Warning: other work kept the CPUs busy (share busy over one second: "
                   f"{res.get('env.busy_start', '?')} before the run, "
                   f"{res.get('env.busy_end', '?')} after): the numbers are noisy.")
    failed = sorted(k[:-len(".failed")] for k in res if k.endswith(".failed"))
    if failed:
        out.append("Failed steps: " + ", ".join(failed) + " (see build/bench/<step>.out).")
    out.append("Times are medians over repeated runs after a warm-up; machine limits are the "
               "best of 5, taken at the start and at the end of the run; GFLOP/s count 2 operations per multiply-add of the forward pass and 4 of the backward pass, except 2 for B3's input layers (neither side computes their input gradient). "
               f"Whole run: {res.get('env.total_s', '?')} s.")
    return out


def main(argv):
    if len(argv) != 3:
        print("usage: report.py results.txt results.md", file=sys.stderr)
        return 2
    try:
        res = read_results(argv[1])
    except OSError as e:
        print(f"report.py: cannot read the results: {e}", file=sys.stderr)
        return 1
    rows = [r for f in ROWS for r in f(res)]
    widths = [max(len(HEADER[i]), *(len(r[i]) for r in rows)) if rows else len(HEADER[i])
              for i in range(len(HEADER))]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    print()
    print(line(HEADER))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))
    print()
    for n in notes(res):
        print(n)

    with open(argv[2], "w") as f:
        f.write(f"Command: `{res.get('env.command', 'make bench')}`\n\n")
        f.write("| " + " | ".join(HEADER) + " |\n")
        f.write("|" + "|".join(["---", "---:", "---:", "---:", "---", "---"]) + "|\n")
        for r in rows:
            f.write("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |\n")
        f.write("\n")
        for n in notes(res):
            f.write(n + "\n\n")
    print(f"\n(written to {argv[2]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

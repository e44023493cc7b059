#!/bin/sh
# report_test.sh — `latefuse report` as a person sees it, and the commands
# around it: class names (a CSV header row, --class-names), fit --history,
# eval --per-class / --confusion (text and JSON), inspect.
#
# The report is rendered by headless Chromium (Debian's `chromium`, which
# `make deps` installs) into a screenshot that must have the asked size and
# not be blank (a share of non-white pixels, the report's blue bars); its
# SVG is read back (Python's standard library, no numpy) and checked
# against numbers computed here from the files: one reliability diagram
# per model and fused, the fused bins' rows, accuracies and bar heights
# against the bins of `latefuse predict`'s output, the fused confusion
# counts against `eval --confusion --json`; hostile class names are
# escaped and hostile model names refused.
# Under CI=true a missing chromium or python3 is a failure, not a skip.
# Last line: "report: N passed, N failed[, K skipped]".

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LF_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
LF=$BUILD/latefuse
PY=/usr/bin/python3
pass=0 fail=0 skipped=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
skip() {
    if [ "${CI:-}" = true ]; then bad "(skipped under CI=true) $*"; else skipped=$((skipped + 1)); echo "SKIP: $*"; fi
}
finish() {
    if [ $skipped -gt 0 ]; then echo "report: $pass passed, $fail failed, $skipped skipped"
    else echo "report: $pass passed, $fail failed"; fi
    [ $fail -eq 0 ]
    exit
}
if [ ! -x "$LF" ]; then bad "$LF is not built"; finish; fi
if [ ! -x "$PY" ]; then skip "$PY is missing (apt-get install python3)"; finish; fi
T=$(mktemp -d "${TMPDIR:-/tmp}/latefuse_report.XXXXXX") || exit 1
trap 'cd /; rm -rf "$T"' EXIT
cd "$T" || exit 1

run() { "$LF" "$@" >out 2>err; rc=$?; }
expect_ok() { run "$@"; if [ "$rc" -eq 0 ]; then ok; else bad "latefuse $* -> exit $rc: $(cat err)"; fi; }
expect_error() {
    want_rc=$1 want_msg=$2
    shift 2
    run "$@"
    got=$(cat err)
    if [ "$rc" -eq "$want_rc" ] && [ "$got" = "latefuse: $want_msg" ]; then ok
    else bad "latefuse $* -> exit $rc, '$got'; wanted exit $want_rc, 'latefuse: $want_msg'"; fi
}
contains() { if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1: $(head -c 300 "$1")"; fi; }
# py WHAT SCRIPT [ARGS]: a Python check that prints "ok" when it holds
py() {
    what=$1 script=$2
    shift 2
    res=$("$PY" -c "$script" "$@" 2>&1)
    if [ "$res" = ok ]; then ok; else bad "$what: $res"; fi
}

# -------------------------------------------------------------- fixtures
# 150 rows, 3 classes; model a (a CSV with a header row of class names)
# is good on cat and dog, model b on bird, and b misses every 9th row.
"$PY" - <<'EOF'
import random
r = random.Random(5)
names = ["cat", "dog", "bird"]
with open("a.csv", "w") as fa, open("b.csv", "w") as fb, open("y.csv", "w") as fy:
    fa.write(",".join(names) + "\n")
    for i in range(150):
        y = i % 3
        def out(good):
            z = [r.random() for _ in range(3)]
            z[y] += 0.7 if good else 0.15
            s = sum(z)
            return [v / s for v in z]
        fa.write(",".join("%.6f" % v for v in out(y < 2)) + "\n")
        fb.write("nan,nan,nan\n" if i % 9 == 4 else ",".join("%.6f" % v for v in out(y == 2)) + "\n")
        fy.write("%d\n" % y)
EOF
printf 'cat\ndog\n' >two.txt
printf '<script>alert(1)</script>\nq"uote'"'"'s <img src=x onerror=alert(1)>\n\001ctl\n' >hostile.txt

# ------------------------------------------------- fit, inspect, history
expect_ok fit -m a=a.csv -m b=b.csv -y y.csv --method wavg-class -o f.lff --history h.csv --no-fsync
contains out "wrote the history of" "fit says where the history went"
if [ "$(head -n 1 h.csv)" = "epoch,loss,val_loss,accuracy,val_accuracy" ]; then ok; else bad "history header: $(head -n 1 h.csv)"; fi
py "history rows" '
import sys
rows = open("h.csv").read().split("\n")[1:-1]
ok = len(rows) >= 3 and all(len(r.split(",")) == 5 and r.split(",")[0] == str(i + 1) for i, r in enumerate(rows))
ok = ok and all(float(r.split(",")[1]) > 0 for r in rows)
print("ok" if ok else "bad rows: %r" % rows[:3])'
expect_ok inspect f.lff
contains out "class names: cat, dog, bird" "inspect shows the CSV header's class names"
expect_error 2 "--history needs a learned method (stack-lr, wavg, wavg-class, loglinear, mlp, gate or auto); this one trains no network" \
    fit -m a=a.csv -m b=b.csv -y y.csv --method mean -o m.lff --history x.csv
[ ! -e m.lff ] && [ ! -e x.csv ] && ok || bad "a refused fit wrote a file"
expect_error 2 "'two.txt' names 2 classes, but the outputs have 3" \
    fit -m a=a.csv -m b=b.csv -y y.csv --method mean -o m.lff --class-names two.txt

# ------------------------------------------------------------------ eval
expect_ok eval f.lff -m a=a.csv -m b=b.csv -y y.csv --per-class --confusion
contains out "per class:" "eval --per-class"
contains out "class  precision  recall      F1  support" "the per-class header"
contains out "confusion (rows: true class, columns: predicted):" "eval --confusion"
py "eval text: every class row, supports 50" '
lines = open("out").read().split("\n")
i = lines.index("per class:")
rows = [l.split() for l in lines[i + 2:i + 5]]
print("ok" if [r[0] for r in rows] == ["cat", "dog", "bird"] and all(r[4] == "50" for r in rows) else rows)'
expect_ok eval f.lff -m a=a.csv -m b=b.csv -y y.csv --per-class --confusion --json
cp out eval.json
py "eval --json holds the same" '
import json
j = json.load(open("eval.json"))
cm = j["confusion"]
ok = j["class_names"] == ["cat", "dog", "bird"] and len(cm) == 3 and [sum(r) for r in cm] == [50, 50, 50]
ok = ok and [p["support"] for p in j["per_class"]] == [50, 50, 50]
acc = sum(cm[i][i] for i in range(3)) / 150
ok = ok and abs(acc - j["accuracy"]) < 1e-9
print("ok" if ok else j)'

# ---------------------------------------------------------------- report
expect_ok report -m a=a.csv -m b=b.csv -y y.csv -f f.lff -o fitted.html --no-fsync
contains out "wrote the report of 2 models, 150 rows and 3 classes to fitted.html" "report says what it wrote"
expect_ok predict f.lff -m a=a.csv -m b=b.csv -o fused.npy
# the SVG against numbers computed here
py "the fitted model's report" '
import json, re, struct, sys
html = open("fitted.html", encoding="utf-8").read()
figs = re.findall(r"<figure class=\"reliability\" data-(?:model=\"([^\"]*)\"|fused=\"true\") data-stage=\"([^\"]*)\"", html)
want = [("a", "before"), ("b", "before"), ("", "fitted"), ("a", "after"), ("b", "after")]
if figs != want: sys.exit(print("diagrams: %r" % figs))
raw = open("fused.npy", "rb").read()
hl = struct.unpack("<H", raw[8:10])[0]
vals = struct.unpack("<%df" % (150 * 3), raw[10 + hl:])
y = [int(l) for l in open("y.csv").read().split()]
n = [0] * 15; right = [0] * 15
for i in range(150):
    row = vals[3 * i:3 * i + 3]
    a = max(range(3), key=lambda c: (row[c], -c))
    conf = row[a]
    b = 0
    while b < 14 and conf > (b + 1) / 15: b += 1
    n[b] += 1; right[b] += a == y[i]
fig = html[html.index("data-fused=\"true\" data-stage=\"fitted\""):]
fig = fig[:fig.index("</figure>")]
bars = re.findall(r"<rect x=\"[^\"]*\" y=\"[^\"]*\" width=\"[^\"]*\" height=\"([^\"]*)\" fill=\"[^\"]*\" class=\"rel-bar\" data-bin=\"(\d+)\" data-n=\"(\d+)\" data-acc=\"([^\"]*)\"", fig)
got = {int(b): (int(c), float(h), float(acc)) for h, b, c, acc in bars}
exp = {b: (n[b], right[b] / n[b]) for b in range(15) if n[b]}
if sorted(got) != sorted(exp): sys.exit(print("bins %r, want %r" % (sorted(got), sorted(exp))))
for b, (c, acc) in exp.items():
    gc, gh, gacc = got[b]
    if gc != c or abs(gacc - acc) > 1e-6 or abs(gh - round(acc * 200, 2)) > 0.006:
        sys.exit(print("bin %d: %r, want %d rows, accuracy %.6f, height %.2f" % (b, got[b], c, acc, acc * 200)))
cells = re.findall(r"class=\"cell\" data-row=\"(\d)\" data-col=\"(\d)\" data-count=\"(\d+)\"",
                   html[html.index("<figure class=\"confusion\" data-fused=\"true\" data-kind=\"counts\""):])[:9]
cm = json.load(open("eval.json"))["confusion"]
if any(int(c) != cm[int(r)][int(q)] for r, q, c in cells) or len(cells) != 9:
    sys.exit(print("confusion cells %r, eval says %r" % (cells, cm)))
print("ok")'
contains fitted.html "<th>F1 a</th><th>F1 b</th>" "the per-class table has a column per model"
contains fitted.html "class=\"weights-heatmap\"" "wavg-class's weights as a model x class heatmap"
contains fitted.html "<figure class=\"history\">" "the training curves of the model read from its file"
py "the curves are those fit --history wrote" '
import re
h = open("fitted.html", encoding="utf-8").read()
n = len(open("h.csv").read().split("\n")) - 2
cap = re.search(r"wavg-class: (\d+) epochs, best epoch (\d+)", h)
print("ok" if cap and int(cap.group(1)) == n else "caption %r, %d rows in h.csv" % (cap and cap.group(0), n))' 

# the best method, cross-validated, with hostile class names (a's rows
# without its header, which --class-names may not contradict)
tail -n +2 a.csv >a_rows.csv
expect_ok report -m a=a_rows.csv -m b=b.csv -y y.csv --methods mean,wavg,ges --class-names hostile.txt --folds 3 -o hostile.html
py "hostile names escaped, diagrams before and after" '
import re, sys
h = open("hostile.html", encoding="utf-8").read()
if "<script" in h or "<img" in h or "\x01" in h: sys.exit(print("unescaped markup"))
for s in ["&lt;script&gt;alert(1)&lt;/script&gt;", "q&quot;uote&#39;s &lt;img src=x onerror=alert(1)&gt;", "&#xFFFD;ctl"]:
    if s not in h: sys.exit(print("missing %s" % s))
figs = re.findall(r"<figure class=\"reliability\" data-(?:model=\"([^\"]*)\"|fused=\"true\") data-stage=\"([^\"]*)\"", h)
if sorted(figs) != sorted([(m, s) for m in ("a", "b", "") for s in ("before", "after")]): sys.exit(print(figs))
cmd = re.search(r"<pre class=\"command\">(.*?)</pre>", h, re.S).group(1)
if not cmd.startswith("latefuse report -m a=a_rows.csv") or "--class-names hostile.txt" not in cmd: sys.exit(print(cmd))
if "<tr class=\"method chosen\">" not in h: sys.exit(print("no chosen row"))
print("ok")'
expect_error 2 "the model name '<x>' may only hold letters, digits, '_', '.' and '-'" \
    report -m '<x>=a.csv' -y y.csv -o r.html
expect_error 2 "report needs an output file: -o FILE" report -m a=a.csv -y y.csv
expect_error 2 "report cannot write the report to standard output; name a file with -o" report -m a=a.csv -y y.csv -o -
expect_error 2 "'two.txt' names 2 classes, but the outputs have 3" report -m a=a.csv -y y.csv --class-names two.txt -o r.html
[ ! -e r.html ] && ok || bad "a refused report wrote a file"

# ------------------------------------------------------------- chromium
CHROME=$(command -v chromium || command -v chromium-browser)
if [ -z "$CHROME" ]; then
    skip "chromium is missing (make deps installs it): the report was not rendered"
    finish
fi
# its own profile and cache, inside the scratch folder
HOME=$T timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$T/profile" --window-size=900,1300 --screenshot="$T/shot.png" "file://$T/hostile.html" \
    >chrome.log 2>&1
if [ -s shot.png ]; then ok; else bad "chromium wrote no screenshot: $(tail -n 5 chrome.log)"; finish; fi
py "the screenshot" '
import struct, sys, zlib
d = open("shot.png", "rb").read()
if d[:8] != b"\x89PNG\r\n\x1a\n": sys.exit(print("not a PNG"))
pos, idat = 8, b""
while pos < len(d):
    n, = struct.unpack(">I", d[pos:pos + 4]); t = d[pos + 4:pos + 8]; c = d[pos + 8:pos + 8 + n]
    if t == b"IHDR": w, h, depth, ct = struct.unpack(">IIBB", c[:10])
    if t == b"IDAT": idat += c
    pos += 12 + n
if (w, h) != (900, 1300) or depth != 8 or ct not in (2, 6): sys.exit(print("size %dx%d, depth %d, type %d" % (w, h, depth, ct)))
bpp = 3 if ct == 2 else 4
raw = zlib.decompress(idat); stride = w * bpp
prev = bytearray(stride); i = 0; white = blue = 0
for yy in range(h):
    f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        px = line[x:x + 3]
        white += px == b"\xff\xff\xff"
        blue += abs(px[0] - 0) < 8 and abs(px[1] - 114) < 8 and abs(px[2] - 178) < 8
    prev = line
share = 1 - white / (w * h)
print("ok" if share > 0.04 and blue > 300 else "blank? %.3f non-white, %d blue pixels" % (share, blue))'
finish

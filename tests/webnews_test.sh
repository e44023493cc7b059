#!/bin/sh
# webnews_test.sh — runs the Web_News example (examples/webnews.c) in
# --quick --json mode (400 training items, a few epochs) on
# ../shared/data/webnews, when present, and checks that it succeeds, that
# its last line is one JSON object with every model's test accuracy (the
# keys image, text, text2, text3, text4, title, nbsvm, concat_head, wavg, wavg_class, late_fusion,
# late_fusion_all and the remedies' models, each a number in [0, 1]), and
# that the text branches and the late fusions are above chance (0.1) by a
# margin: at least 0.3; that --oof writes every member's out-of-fold and test
# outputs, and --methods fits every fusion method on them (its auto the
# run's late fusions to the bit; missing and misshapen files refused); --repeats (bad values; --quick's one draw; 2 runs, its draw 0
# is the one-draw run to the byte, the out-of-fold outputs the mean of the
# draws); that
# python/examples/webnews.py's quick run with --repeats 2 prints
# the same accuracies (plain builds).  Also
# checks the missing-folder message and exit status 2, and a bad option;
# --tune=textcv (a bad list, and one variant on the quick subset); and
# --members and --img (bad values, one text member alone, a small image branch).
# Run from the repository root; LF_BUILD = build folder; WEBNEWS_DATA
# overrides the data folder.  Without the data the run is skipped, a
# failure under CI=true.
# Last line: "webnews: N passed, N failed[, 1 skipped]"; exit status non-zero
# on failure.
cd "$(dirname "$0")/.." || exit 1
BUILD=${LF_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
BIN=$BUILD/examples/webnews
DATA=${WEBNEWS_DATA:-../shared/data/webnews}
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if [ ! -x "$BIN" ]; then
    bad "$BIN is not built"
    echo "webnews: $pass passed, $fail failed"
    exit 1
fi

tmp=$(mktemp -d /tmp/webnews_test.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$BIN" "$tmp/none" --quick >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && ok || bad "missing folder: exit status $rc, expected 2"
grep -q "^webnews: data folder '$tmp/none' not found; it must hold the Web_News files" "$tmp/err" && ok ||
    bad "missing folder message: $(cat "$tmp/err")"
"$BIN" "$DATA" --seed x >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && ok || bad "--seed x: exit status $rc, expected 2"
[ "$(cat "$tmp/err")" = "webnews: --seed must be an integer in 0..1000000, got 'x'" ] && ok ||
    bad "--seed x message: $(cat "$tmp/err")"
# --repeats R: an integer in 1..20, refused before any work (the data
# folder is not even read); not an option of --tune
for r in 0 21 x -1 ''; do
    "$BIN" "$tmp/none" --repeats "$r" >"$tmp/out" 2>"$tmp/err"; rc=$?
    [ $rc -eq 2 ] && ok || bad "--repeats '$r': exit status $rc, expected 2"
    [ "$(cat "$tmp/err")" = "webnews: --repeats must be an integer in 1..20, got '$r'" ] && ok ||
        bad "--repeats '$r' message: $(cat "$tmp/err")"
done
"$BIN" "$tmp/none" --tune=textcv --repeats 2 >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && ok || bad "--tune=textcv --repeats 2: exit status $rc, expected 2"
[ "$(cat "$tmp/err")" = "webnews: --repeats is for a full run or --members, not --tune" ] && ok ||
    bad "--tune=textcv --repeats 2 message: $(cat "$tmp/err")"

if [ ! -f "$DATA/train_images.npy" ]; then
    if [ "${CI:-}" = true ]; then
        bad "$DATA/train_images.npy not found (skipped under CI=true)"
        echo "webnews: $pass passed, $fail failed"
    else
        echo "SKIP: $DATA/train_images.npy not found, the webnews run is skipped"
        echo "webnews: $pass passed, $fail failed, 1 skipped"
    fi
    [ $fail -eq 0 ]; exit $?
fi

# one thread: the quick run is short, and OpenMP's threads only wait on a
# machine that runs the other tests beside it
mkdir "$tmp/oof"
printf 'an older table\n' >"$tmp/table.md"
printf 'notes of mine\n' >"$tmp/table.md.tmp" # not an output: left as it is (it was the temporary file)
OMP_NUM_THREADS=1 "$BIN" "$DATA" --quick --json --oof "$tmp/oof" --md "$tmp/table.md" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && ok || { bad "webnews --quick --json exited $rc"; cat "$tmp/err"; }
# --md: the markdown table replaces the older file (written beside it and
# renamed: no temporary file left, and a file of the user's named like the
# old fixed temporary name untouched), one row per model
[ "$(grep -c '^| `' "$tmp/table.md")" -eq 15 ] && ! ls "$tmp"/table.md.tmp-* >/dev/null 2>&1 && ok ||
    bad "--md: '$(head -c 300 "$tmp/table.md")'"
[ "$(cat "$tmp/table.md.tmp")" = "notes of mine" ] && ok || bad "--md wrote over table.md.tmp: $(head -c 100 "$tmp/table.md.tmp")"
# --oof: each member's out-of-fold outputs on the 400 quick training items
# and its bagged outputs on the 497 test items, (n, 10) float32
for m in image text text2 text3 text4 title nbsvm; do
    for f in "$m:400" "${m}_test:497"; do
        file="$tmp/oof/${f%%:*}.npy"
        if head -c 128 "$file" 2>/dev/null | grep -aq "'descr': '<f4', 'fortran_order': False, 'shape': (${f#*:}, 10)"; then ok
        else bad "--oof: $file missing or not (${f#*:}, 10) float32"; fi
    done
done

json=$(tail -n 1 "$tmp/out")
# --methods DIR: every fusion method on the members' outputs that --oof
# wrote; its auto is the run's late_fusion and late_fusion_all to the bit
OMP_NUM_THREADS=1 "$BIN" "$DATA" --quick --methods "$tmp/oof" >"$tmp/methods" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && ok || { bad "webnews --quick --methods exited $rc"; cat "$tmp/err"; }
n=$(grep -c '^| `[a-z-]*` |' "$tmp/methods")
[ "$n" -eq 24 ] && ok || bad "--methods: $n method rows, expected 23 methods and auto"
[ "$(grep -c '^| `[a-z-]*` |\( [0-9.]* % ([0-9.]*) |\)\{4\}$' "$tmp/methods")" -eq 23 ] && ok ||
    bad "--methods: not every method has 4 cells of accuracy (log-loss): $(cat "$tmp/methods")"
lf1=$(printf '%s\n' "$json" | sed -n -E 's/.*"late_fusion": ([0-9.]+).*/\1/p')
lf7=$(printf '%s\n' "$json" | sed -n -E 's/.*"late_fusion_all": ([0-9.]+).*/\1/p')
grep -q "; auto: $lf1 and $lf7 (the full run's late_fusion and late_fusion_all with this seed)" "$tmp/methods" && ok ||
    bad "--methods: auto is not late_fusion $lf1 and late_fusion_all $lf7: $(tail -n 1 "$tmp/methods")"
mkdir "$tmp/part" && cp "$tmp/oof"/*.npy "$tmp/part" && rm "$tmp/part/nbsvm_test.npy"
"$BIN" "$DATA" --quick --methods "$tmp/part" >"$tmp/out3" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^webnews: cannot open '$tmp/part/nbsvm_test.npy'" "$tmp/err" && ok ||
    bad "--methods without nbsvm_test.npy: exit status $rc, $(cat "$tmp/err")"
cp "$tmp/oof/image_test.npy" "$tmp/part/nbsvm_test.npy" && cp "$tmp/oof/image_test.npy" "$tmp/part/text.npy"
"$BIN" "$DATA" --quick --methods "$tmp/part" >"$tmp/out3" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && [ "$(cat "$tmp/err")" = "webnews: '$tmp/part/text.npy' holds 497 x 10 values, expected 400 x 10 (a full run's --oof output)" ] && ok ||
    bad "--methods with a test file as text.npy: exit status $rc, $(cat "$tmp/err")"
# the shape: {"name": number, ...} and nothing else on the line
if printf '%s\n' "$json" | grep -Eq '^\{"[a-z0-9_]+": [0-9.]+(, "[a-z0-9_]+": [0-9.]+)*\}$'; then ok
else bad "last line is not a JSON object of accuracies: $json"; fi
for k in image text text2 text3 text4 title nbsvm concat_head wavg wavg_class late_fusion late_fusion_all wavg_loss_weights wavg_frozen \
    concat_head_frozen; do
    v=$(printf '%s\n' "$json" | sed -n -E "s/.*[{ ]\"$k\": ([0-9.]+)[,}].*/\1/p")
    if [ -z "$v" ]; then bad "no key $k in $json"; continue; fi
    if awk -v v="$v" 'BEGIN { exit !(v >= 0 && v <= 1) }'; then ok; else bad "$k = $v is not in [0, 1]"; fi
    case $k in
    text|text2|text3|text4|title|nbsvm|late_fusion|late_fusion_all)
        if awk -v v="$v" 'BEGIN { exit !(v >= 0.3) }'; then ok
        else bad "$k = $v, expected at least 0.3 (chance 0.1)"; fi ;;
    esac
done
n=$(printf '%s\n' "$json" | grep -o '"[a-z0-9_]*":' | wc -l)
[ "$n" -eq 15 ] && ok || bad "$n keys in $json, expected 15"
# the table: one row per model with its role, then the goal line
grep -Eq '^concat_head +trap +[0-9.]+% ' "$tmp/out" && ok || bad "no concat_head row (role trap) in the table"
grep -Eq '^late_fusion_all +remedy +[0-9.]+% ' "$tmp/out" && ok || bad "no late_fusion_all row in the table"
grep -q '^best fused model ' "$tmp/out" && ok || bad "no summary line"

# --repeats: --quick trains the members over one fold draw unless told
# otherwise (the full run's default is 4, REPEATS in examples/webnews.c),
# and a one-draw run writes no draw files.  --repeats 2: every key in the
# JSON; its draw 0 is the one-draw run above to the byte (draw r's folds and
# seeds do not depend on R), so are the scores of the models trained outside
# the members' draws (the traps on all items; wavg_loss_weights and the
# frozen models in draw 0's folds); each member's NAME.npy is the mean of its
# draws' (summed in double in draw order, as the example does), and its
# draws differ
[ -z "$(ls "$tmp/oof" | grep _draw)" ] && ok || bad "the quick run wrote draw files: $(ls "$tmp/oof")"
mkdir "$tmp/r2"
OMP_NUM_THREADS=1 "$BIN" "$DATA" --quick --json --repeats 2 --oof "$tmp/r2" >"$tmp/out2" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && ok || { bad "webnews --quick --repeats 2 exited $rc"; cat "$tmp/err"; }
json2=$(tail -n 1 "$tmp/out2")
for k in image text text2 text3 text4 title nbsvm concat_head wavg wavg_class late_fusion late_fusion_all wavg_loss_weights \
    wavg_frozen concat_head_frozen; do
    v=$(printf '%s\n' "$json2" | sed -n -E "s/.*[{ ]\"$k\": ([0-9.]+)[,}].*/\1/p")
    if [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v >= 0 && v <= 1) }'; then ok
    else bad "--repeats 2: $k missing or not in [0, 1] in $json2"; fi
done
n=$(printf '%s\n' "$json2" | grep -o '"[a-z0-9_]*":' | wc -l)
[ "$n" -eq 15 ] && ok || bad "--repeats 2: $n keys in $json2, expected 15"
[ -f "$tmp/r2/image_draw1.npy" ] && [ ! -e "$tmp/r2/image_draw2.npy" ] && ok ||
    bad "--repeats 2 did not write 2 draws: $(ls "$tmp/r2")"
for m in image text text2 text3 text4 title nbsvm; do
    cmp -s "$tmp/r2/${m}_draw0.npy" "$tmp/oof/$m.npy" && ok || bad "--repeats 2: ${m}_draw0.npy is not the one-draw run's $m.npy"
done
for k in concat_head wavg wavg_class wavg_loss_weights wavg_frozen concat_head_frozen; do
    v2=$(printf '%s\n' "$json2" | sed -n -E "s/.*[{ ]\"$k\": ([0-9.]+)[,}].*/\1/p")
    v=$(printf '%s\n' "$json" | sed -n -E "s/.*[{ ]\"$k\": ([0-9.]+)[,}].*/\1/p")
    [ -n "$v" ] && [ "$v2" = "$v" ] && ok || bad "--repeats 2: $k = $v2, the one-draw run's $v"
done
if /usr/bin/python3 - "$tmp/r2" 2 <<'PY'; then ok; else bad "--repeats: NAME.npy not the draws' mean"; fi
import sys
import numpy as np
bad = []
d, R = sys.argv[1], int(sys.argv[2])
for m in ["image", "text", "text2", "text3", "text4", "title", "nbsvm"]:
    draws = [np.load("%s/%s_draw%d.npy" % (d, m, r)) for r in range(R)]
    s = np.zeros(draws[0].shape, np.float64)
    for x in draws:
        s += x
    if not np.array_equal(np.load("%s/%s.npy" % (d, m)), (s / R).astype(np.float32)):
        bad.append("%s/%s.npy: not the mean of its %d draws" % (d, m, R))
    if any(np.array_equal(draws[0], x) for x in draws[1:]):
        bad.append("%s/%s: two draws are equal" % (d, m))
print(*bad, sep="\n")
sys.exit(1 if bad else 0)
PY

# The Python example (python/examples/webnews.py, the Keras-style API) is
# the same program: the same folds (latefuse.stratified_folds), seeds and
# calls, so its quick run prints the same accuracies to the 4th digit; run
# with --repeats 2 (against the C run above), which checks draw 0 (the
# default's folds and seeds) and a second draw at once.
# Plain builds only: a sanitizer build's library needs its runtime
# preloaded into Python (tests/python_test.sh does that for the package).
LIB=$BUILD/liblatefuse.so
if [ -f "$LIB" ] && ! ldd "$LIB" 2>/dev/null | grep -q 'lib[a-z]*san' &&
    ! nm -D --undefined-only "$LIB" 2>/dev/null | grep -q ' __[a-z]*san_'; then
    OMP_NUM_THREADS=1 PYTHONPATH="$(pwd)/python" LATEFUSE_LIB="$LIB" PYTHONDONTWRITEBYTECODE=1 \
        /usr/bin/python3 python/examples/webnews.py "$DATA" --quick --json --repeats 2 >"$tmp/py" 2>"$tmp/pyerr"; rc=$?
    [ $rc -eq 0 ] && ok || { bad "python/examples/webnews.py --quick --json --repeats 2 exited $rc"; tail -n 5 "$tmp/pyerr"; }
    if /usr/bin/python3 - "$json2" "$(tail -n 1 "$tmp/py")" <<'PY'; then ok; else bad "the Python example's quick run differs"; fi
import json, sys
c, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
diff = [k for k in c if k not in p or abs(c[k] - p[k]) > 5e-5] + [k for k in p if k not in c]
if diff:
    print("C:     ", sys.argv[1]); print("Python:", sys.argv[2]); print("differ:", diff)
sys.exit(1 if diff else 0)
PY
fi

# --tune=textcv: a bad variant list is refused before any work; one cheap
# variant scored out of fold on the quick subset prints its line
"$BIN" "$DATA" --quick --tune=textcv:99 >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && ok || bad "--tune=textcv:99: exit status $rc, expected 2"
[ "$(cat "$tmp/err")" = "webnews: --tune=textcv:LIST wants variant numbers 0..32 separated by commas" ] && ok ||
    bad "--tune=textcv:99 message: $(cat "$tmp/err")"
OMP_NUM_THREADS=1 "$BIN" "$DATA" --quick --tune=textcv:18 --oof "$tmp" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && ok || { bad "--tune=textcv:18 exited $rc"; cat "$tmp/err"; }
v=$(sed -n -E 's/^18: char 1-2-grams, 10000 tokens .*accuracy ([0-9.]+), log-loss .*/\1/p' "$tmp/out")
if [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v >= 0.3 && v <= 1) }'; then ok
else bad "--tune=textcv:18: no variant line with an accuracy of at least 0.3: $(cat "$tmp/out")"; fi
[ -s "$tmp/text18.npy" ] && ok || bad "--oof: $tmp/text18.npy not written"

# --members, --img and --nbsvm: bad values refused before any work; one member alone
# gives the same out-of-fold outputs as in the full quick run above (its
# folds and seed do not depend on the other members); a small 64x64 image
# branch (--img) writes its outputs
"$BIN" "$DATA" --quick --members text,txt9 >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && ok || bad "--members text,txt9: exit status $rc, expected 2"
[ "$(cat "$tmp/err")" = "webnews: --members: 'txt9' is not one of image, text, text2, text3, text4, title, nbsvm" ] && ok ||
    bad "--members text,txt9 message: $(cat "$tmp/err")"
"$BIN" "$DATA" --quick --img 2,8,8,8,8 >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && ok || bad "--img 2,8,8,8,8: exit status $rc, expected 2"
[ "$(cat "$tmp/err")" = "webnews: --img: expected POOL,F1,F2,F3,F4[,EPOCHS] (POOL 0 or 1, counts > 0)" ] && ok ||
    bad "--img 2,8,8,8,8 message: $(cat "$tmp/err")"
"$BIN" "$DATA" --quick --nbsvm 5000,0,0.001,0.001 >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && ok || bad "--nbsvm 5000,0,0.001,0.001: exit status $rc, expected 2"
[ "$(cat "$tmp/err")" = "webnews: --nbsvm: expected TOKENS,EPOCHS,L2,LR (counts > 0, L2 in 0..100, LR in (0, 1])" ] &&
    ok || bad "--nbsvm 5000,0,0.001,0.001 message: $(cat "$tmp/err")"
mkdir "$tmp/m"
OMP_NUM_THREADS=1 "$BIN" "$DATA" --quick --members text2 --oof "$tmp/m" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && ok || { bad "--members text2 exited $rc"; cat "$tmp/err"; }
grep -Eq '^text2  out of fold: accuracy 0\.[3-9][0-9]*, log-loss [0-9.]+ ' "$tmp/out" && ok ||
    bad "--members text2: no line with an accuracy of at least 0.3: $(cat "$tmp/out")"
cmp -s "$tmp/m/text2.npy" "$tmp/oof/text2.npy" && ok || bad "--members text2: text2.npy differs from the full run's"
[ ! -e "$tmp/m/image.npy" ] && ok || bad "--members text2 wrote image.npy"
OMP_NUM_THREADS=1 "$BIN" "$DATA" --quick --members image --img 0,4,4,8,8,1 --oof "$tmp/m" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && ok || { bad "--members image --img 0,4,4,8,8,1 exited $rc"; cat "$tmp/err"; }
head -c 128 "$tmp/m/image.npy" 2>/dev/null | grep -aq "'shape': (400, 10)" && ok ||
    bad "--members image --img: image.npy missing or not (400, 10)"

echo "webnews: $pass passed, $fail failed"
[ $fail -eq 0 ]

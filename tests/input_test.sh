#!/bin/sh
# input_test.sh — end-to-end tests of how `latefuse` reads its inputs: no
# command may exit 0 with fewer rows out than in, and every input it cannot
# read as given fails with exit 2 and an exact one-line message, at once.
#
# Covers CSV first rows (byte order mark, typos, hexadecimal and long
# numbers, mixed header), trailing commas and CR-only line ends, row counts
# of every input and the labels in every command, and files that are not
# regular (a symlink to /dev/zero, a FIFO with no writer, a folder).
# Accepted variants of a file must fuse to the very bytes of the plain file.
# LF_BUILD names the build folder (default build).  The last line is
# "input: N passed, N failed"; the exit status is non-zero on any failure.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LF_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
LF=$BUILD/latefuse
if [ ! -x "$LF" ]; then
    echo "input_test: $LF is not built"
    echo "input: 0 passed, 1 failed"
    exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/latefuse_input.XXXXXX") || exit 1
trap 'cd /; rm -rf "$T"' EXIT
cd "$T" || exit 1

pass=0
fail=0
skipped=0
ok() { pass=$((pass + 1)); }
# skip WHY: a check that cannot run here; a failure under CI=true
skip() {
    if [ "${CI:-}" = true ]; then bad "skipped under CI=true: $1"; else skipped=$((skipped + 1)); echo "SKIP: $1"; fi
}
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*"
}

# A command that hangs (e.g. on a FIFO) is stopped after 20 s and fails.
TIMEOUT=""
command -v timeout >/dev/null 2>&1 && TIMEOUT="timeout 20"

# run ARGS...: stdout in ./out, stderr in ./err, exit status in $rc.
run() {
    $TIMEOUT "$LF" "$@" >out 2>err </dev/null
    rc=$?
}
# expect_ok ARGS...: exit status 0.
expect_ok() {
    run "$@"
    if [ "$rc" -eq 0 ]; then ok; else bad "latefuse $* -> exit $rc: $(cat err)"; fi
}
# expect_error STATUS MESSAGE ARGS...: that status, exactly "latefuse: MESSAGE"
# on stderr, nothing on stdout, and no o.npy written.
expect_error() {
    want_rc=$1
    want_msg=$2
    shift 2
    rm -f o.npy
    run "$@"
    got=$(cat err)
    if [ "$rc" -eq "$want_rc" ] && [ "$got" = "latefuse: $want_msg" ] && [ ! -s out ] && [ ! -e o.npy ]; then
        ok
    else
        bad "latefuse $* -> exit $rc, stderr '$got', stdout $(wc -c <out) bytes, o.npy $([ -e o.npy ] && echo written || echo absent); wanted exit $want_rc, 'latefuse: $want_msg'"
    fi
}
# same_output WHAT FILE: predict with FILE as model a gives exactly ref.npy
# (all 4 rows, the same bytes).
same_output() {
    rm -f o.npy
    run predict f.lf -m a="$2" -m b=b.csv -o o.npy
    if [ "$rc" -eq 0 ] && grep -qx "wrote 4 x 2 fused probabilities to o.npy" out && cmp -s o.npy ref.npy; then
        ok
    else
        bad "$1: exit $rc, $(cat out err), o.npy $(cmp o.npy ref.npy 2>&1)"
    fi
}

# ------------------------------------------------------------ fixtures
# two models, 4 samples, 2 classes; ref.npy is the fused output of the plain
# files, which every accepted variant of a.csv must reproduce bit for bit.
printf '0.2,0.8\n0.6,0.4\n0.3,0.7\n0.9,0.1\n' >a.csv
printf '0.5,0.5\n0.1,0.9\n0.4,0.6\n0.7,0.3\n' >b.csv
printf '1\n0\n1\n0\n' >y.csv
expect_ok fit -m a=a.csv -m b=b.csv -y y.csv --method mean -o f.lf
expect_ok predict f.lf -m a=a.csv -m b=b.csv -o ref.npy
if [ "$(wc -c <ref.npy)" -eq $((128 + 4 * 2 * 4)) ]; then ok; else bad "ref.npy has $(wc -c <ref.npy) bytes"; fi

# ------------------------------------------- CSV: accepted, no row lost
printf '\357\273\277' | cat - a.csv >bom.csv
same_output "UTF-8 byte order mark" bom.csv
printf '\357\273\277p0,p1\n' | cat - a.csv >bomh.csv
same_output "byte order mark before a header" bomh.csv
printf 'p0,p1\n' | cat - a.csv >head.csv
same_output "header" head.csv
zeros=$(printf '%0300d' 0)
printf '0.2%s,0.8\n0.6,0.4\n0.3,0.7\n0.9,0.1\n' "$zeros" >long.csv
same_output "a 303-character number in the first row" long.csv
sed 's/$/,/' a.csv >comma.csv
same_output "a trailing comma on every row" comma.csv
tr '\n' '\r' <a.csv >cr.csv
same_output "CR-only line ends" cr.csv
sed 's/$/\r/' a.csv >crlf.csv
same_output "CRLF line ends" crlf.csv
# one model alone: nothing to compare its row count with
printf '\357\273\277' | cat - a.csv >bom1.csv
expect_ok predict f.lf -m a=bom1.csv -o o.npy
if grep -qx "wrote 4 x 2 fused probabilities to o.npy (absent: b)" out; then ok; else bad "one model with a BOM: $(cat out)"; fi

# ------------------------------------------ the forms users have
# by content: no extension, .txt/.tsv with spaces or tabs, .npy named .csv
tr ',' '\t' <a.csv >a.tsv
same_output "a tab-separated .tsv" a.tsv
tr ',' ' ' <a.csv >a.txt
same_output "a space-separated .txt" a.txt
cp a.tsv a_noext
same_output "a text file without extension" a_noext
expect_ok predict f.lf -m a=a.csv -o a_npy.npy
cp ref.npy ref_saved.npy
# standard input, for a model and for the labels
rm -f o.npy
$TIMEOUT "$LF" predict f.lf -m a=- -m b=b.csv -o o.npy <a.csv >out 2>err; rc=$?
if [ "$rc" -eq 0 ] && cmp -s o.npy ref.npy; then ok; else bad "-m a=- (CSV on stdin): exit $rc $(cat err)"; fi
$TIMEOUT "$LF" fit -m a=a.csv -m b=b.csv -y - --method mean -o g.lf <y.csv >out 2>err; rc=$?
if [ "$rc" -eq 0 ] && cmp -s g.lf f.lf; then ok; else bad "-y - : exit $rc $(cat err) $(cmp g.lf f.lf 2>&1)"; fi
rm -f g.lf
expect_error 2 "standard input ('-') can be read only once, and 2 inputs name it" \
    fit -m a=- -m b=b.csv -y - --method mean -o g.lf
# two-column probabilities that are off by more than the tolerance
printf '0.4,1.6\n0.6,0.4\n0.3,0.7\n0.9,0.1\n' >a2x.csv
expect_error 2 "row 1 of 'a2x.csv' sums to 2, not 1 within 1e-3 (append :logits to the file's name for raw scores)" \
    predict f.lf -m a=a2x.csv -m b=b.csv -o o.npy
same_output "a row off by 2x, with :renormalize" a2x.csv:renormalize
rm -f o.npy
run predict f.lf -m a=a2x.csv -m b=b.csv -o o.npy --renormalize
if [ "$rc" -eq 0 ] && cmp -s o.npy ref.npy; then ok; else bad "--renormalize: exit $rc $(cat err)"; fi
expect_error 2 "-m a: ':logits' and ':renormalize' exclude each other (logits need no renormalising)" \
    predict f.lf -m a=a.csv:logits:renormalize -o o.npy
if command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    /usr/bin/python3 - <<'PY'
import numpy as np
a = np.loadtxt("a.csv", delimiter=",", dtype=np.float32)
b = np.loadtxt("b.csv", delimiter=",", dtype=np.float32)
np.savez("one.npz", a)
np.savez("two.npz", image=a, text=b)
np.savez("ys.npz", y=np.loadtxt("y.csv", dtype=np.int64))
np.savez_compressed("packed.npz", scores=a.astype(np.float64))
np.save("pos.npy", a[:, 1:2].copy())                       # one column: P(class 1)
np.save("pos1d.npy", a[:, 1].copy())                       # 1-D
np.save("logit1.npy", np.log(a[:, 1] / a[:, 0]).astype(np.float32))
np.save("neg.npy", np.array([0.8, -0.4, 0.7, 0.1], dtype=np.float32))
np.save("a_logp.npy", np.log(a))                           # logits whose softmax is a
np.save("three.npy", np.full((len(a), 3), 1 / 3, dtype=np.float32))
PY
    same_output ".npz with one array" one.npz
    same_output ".npz member by key" two.npz:image
    same_output "np.savez_compressed member (float64)" packed.npz:scores
    same_output "np.savez_compressed, the only array" packed.npz
    expect_error 2 "'two.npz' holds 2 arrays (image, text); name one as 'two.npz:KEY'" \
        predict f.lf -m a=two.npz -o o.npy
    expect_error 2 "'two.npz' has no array 'audio' (it has image, text)" predict f.lf -m a=two.npz:audio -o o.npy
    expect_error 2 "'a.csv' is not a .npz archive, so ':x' names no array in it" predict f.lf -m a=a.csv:x -o o.npy
    # a one-column file against a model of 3 classes: its own width is named, not the 2 it stands for
    expect_ok fit -m a=three.npy -m b=three.npy -y y.csv --method mean -o f3.lf
    for cmd in predict eval; do
        expect_error 2 "'pos1d.npy' has 1 column, a binary model's P(class 1), but the fusion model has 3 classes" \
            $cmd f3.lf -m a=pos1d.npy -m b=three.npy $([ $cmd = eval ] && echo -y y.csv || echo -o o.npy)
    done
    # an output naming the archive that an input reads by key is refused, the archive intact
    cp two.npz two_copy.npz
    cp ys.npz ys_copy.npz
    expect_error 2 "-o 'two.npz' is the same file as the input 'two.npz:image'; nothing was read or written" \
        predict f.lf -m a=two.npz:image -m b=two.npz:text -o two.npz
    expect_error 2 "--classes-out './two.npz' is the same file as the input 'two.npz:text'; nothing was read or written" \
        predict f.lf -m a=a.csv -m b=two.npz:text -o o.npy --classes-out ./two.npz
    expect_error 2 "-o 'ys.npz' is the same file as the labels 'ys.npz:y'; nothing was read or written" \
        fit -m a=a.csv -m b=b.csv -y ys.npz:y --method mean -o ys.npz
    if cmp -s two.npz two_copy.npz && cmp -s ys.npz ys_copy.npz; then ok; else bad "a refused output changed the .npz it reads"; fi
    run fit -m a=a.csv -m b=b.csv -y ys.npz:y --method mean -o g.lf
    if [ "$rc" -eq 0 ] && cmp -s g.lf f.lf; then ok; else bad "-y ys.npz:y: exit $rc $(cat err)"; fi
    rm -f g.lf
    head -c 200 two.npz >cut.npz
    expect_error 2 "'cut.npz' is not a .npz archive (no ZIP end-of-directory record)" predict f.lf -m a=cut.npz -o o.npy
    # a flipped byte inside the stored member: the CRC-32 catches it
    /usr/bin/python3 -c "
b = bytearray(open('one.npz', 'rb').read()); i = b.index(b'NUMPY') + 100; b[i] ^= 1
open('flip.npz', 'wb').write(b)"
    expect_error 2 "'flip.npz': array 'arr_0' fails its CRC-32 check (the file is corrupt)" \
        predict f.lf -m a=flip.npz -o o.npy
    # .npy on stdin
    rm -f o.npy
    $TIMEOUT "$LF" predict f.lf -m a=- -m b=b.csv -o o.npy <two.npz >out 2>err; rc=$?
    if [ "$rc" -ne 0 ] && grep -q "name one as" err; then ok; else bad "two.npz on stdin: exit $rc $(cat err)"; fi
    $TIMEOUT "$LF" predict f.lf -m a=- -m b=b.csv -o o.npy <one.npz >out 2>err; rc=$?
    if [ "$rc" -eq 0 ] && cmp -s o.npy ref.npy; then ok; else bad ".npz on stdin: exit $rc $(cat err)"; fi
    # binary models saving one column: P(class 1), or its logit
    same_output "one column, P(class 1)" pos.npy
    same_output "1-D P(class 1)" pos1d.npy
    expect_error 2 "row 2 of 'neg.npy' holds -0.4, not a probability in 0..1 (a one-column file is the probability of class 1; give raw scores with :logits)" \
        predict f.lf -m a=neg.npy -o o.npy
    expect_ok fit -m a=a_logp.npy -m b=b.csv -y y.csv --method mean -o fl.lf --logits
    expect_ok predict fl.lf -m a=a_logp.npy -m b=b.csv -o ref_logits.npy
    rm -f o.npy
    run predict fl.lf -m a=logit1.npy -m b=b.csv -o o.npy
    if [ "$rc" -eq 0 ] && /usr/bin/python3 -c "
import numpy as np, sys
d = np.abs(np.load('o.npy') - np.load('ref_logits.npy')).max()
sys.exit(0 if d < 1e-6 else 1)"; then ok; else bad "one-column logits under --logits: exit $rc $(cat err)"; fi
    # per-file :logits beside a probability file: the same bits as the
    # whole-command --logits run of the same softmax
    expect_ok fit -m a=a_logp.npy:logits -m b=b.csv -y y.csv --method mean -o fl2.lf
    rm -f o.npy
    run predict fl2.lf -m a=a_logp.npy:logits -m b=b.csv -o o.npy
    if [ "$rc" -eq 0 ] && /usr/bin/python3 -c "
import numpy as np, sys
d = np.abs(np.load('o.npy') - np.load('ref.npy')).max()
sys.exit(0 if d < 1e-6 else 1)"; then ok; else bad ":logits beside probabilities: exit $rc $(cat err)"; fi
    # probabilities called logits: a warning, and the run goes on
    run compare -m a=a.csv:logits -m b=b.csv -y y.csv --folds 2 --methods mean
    if [ "$rc" -eq 0 ] && grep -qx "latefuse: warning: the rows of 'a.csv' are read as logits but look like probabilities (each in 0..1, summing to 1); the softmax will flatten them (drop ':logits'?)" err; then ok; else bad "logits warning: exit $rc $(cat err)"; fi
    run compare -m a=a_logp.npy:logits -m b=b.csv -y y.csv --folds 2 --methods mean
    if [ "$rc" -eq 0 ] && [ ! -s err ]; then ok; else bad "no warning for real logits: $(cat err)"; fi
else
    skip ".npz, one-column and :logits checks need python3-numpy"
fi

# labels given as names: through --class-names (a header line allowed),
# else their sorted distinct values, stored as the class names
printf 'label\nno\nyes\nno\nyes\n' >yn.csv    # y.csv is 1 0 1 0: class 0 = yes, 1 = no
printf 'yes\nno\n' >classes.txt
expect_ok fit -m a=a.csv -m b=b.csv -y yn.csv --class-names classes.txt --method mean -o fn.lf
expect_ok inspect fn.lf
if grep -qx "class names: yes, no" out; then ok; else bad "names from --class-names: $(grep names out)"; fi
expect_ok eval fn.lf -m a=a.csv -m b=b.csv -y y.csv --json
cp out eval_numbers.json
expect_ok eval fn.lf -m a=a.csv -m b=b.csv -y yn.csv --json   # mapped through the stored names
if cmp -s out eval_numbers.json; then ok; else bad "names and numbers evaluate differently: $(cat out)"; fi
printf 'no\nyes\nno\nmaybe\n' >ymaybe.csv
expect_error 2 "label 'maybe' at row 4 of 'ymaybe.csv' is not a class name (the classes: yes, no)" \
    eval fn.lf -m a=a.csv -m b=b.csv -y ymaybe.csv
printf 'b\na\nb\na\n' >yab.csv
expect_ok fit -m a=a.csv -m b=b.csv -y yab.csv --method mean -o fab.lf
expect_ok inspect fab.lf
if grep -qx "class names: a, b" out; then ok; else bad "sorted distinct names: $(grep names out)"; fi
printf 'b\na\nc\na\n' >yabc.csv
expect_error 2 "'yabc.csv' holds 3 distinct labels but the outputs have 2 classes (give the class names with --class-names)" \
    fit -m a=a.csv -m b=b.csv -y yabc.csv --method mean -o fab.lf

# --------------------------------------- CSV: refused, naming the field
printf '0.2,0.8O\n0.6,0.4\n0.3,0.7\n0.9,0.1\n' >typo.csv
expect_error 2 "'0.8O' at row 1, column 2 is not a number in 'typo.csv'" predict f.lf -m a=typo.csv -o o.npy
expect_error 2 "'0.8O' at row 1, column 2 is not a number in 'typo.csv'" \
    predict f.lf -m a=typo.csv -m b=b.csv -o o.npy
printf '0.2O,0.8O\n0.6,0.4\n0.3,0.7\n0.9,0.1\n' >typo2.csv
expect_error 2 "'0.2O' at row 1, column 1 is not a number in 'typo2.csv'" predict f.lf -m a=typo2.csv -o o.npy
printf '0x1.99999ap-3,0x1.99999ap-1\n0.6,0.4\n0.3,0.7\n0.9,0.1\n' >hex.csv
expect_error 2 "'0x1.99999ap-3' at row 1, column 1 is a hexadecimal number in 'hex.csv'; write numbers in decimal" \
    predict f.lf -m a=hex.csv -o o.npy
printf '0.2,0.8\n0.6,0x1.99999ap-2\n0.3,0.7\n0.9,0.1\n' >hex2.csv
expect_error 2 "'0x1.99999ap-2' at row 2, column 2 is a hexadecimal number in 'hex2.csv'; write numbers in decimal" \
    predict f.lf -m a=hex2.csv -o o.npy
printf 'p0,1\n0.2,0.8\n0.6,0.4\n0.3,0.7\n0.9,0.1\n' >mixed.csv
expect_error 2 "'p0' at row 1, column 1 is not a number in 'mixed.csv' (row 1 is not a header: column 2 holds a number)" \
    predict f.lf -m a=mixed.csv -o o.npy
printf '0.2,0.8,\n0.6,0.4\n0.3,0.7,\n0.9,0.1,\n' >comma2.csv
expect_error 2 "row 2 of 'comma2.csv' does not end with a comma but row 1 does (a trailing comma must end every row or none)" \
    predict f.lf -m a=comma2.csv -o o.npy
printf '\357\273\277label\n1\n0\n1\n0x0\n' >ybad.csv   # data row 4: the header is not counted
expect_error 2 "'0x0' at row 4, column 1 is a hexadecimal number in 'ybad.csv'; write numbers in decimal" \
    fit -m a=a.csv -m b=b.csv -y ybad.csv --method mean -o g.lf
if [ ! -e g.lf ]; then ok; else bad "a refused label file left g.lf"; fi

# ------------------------------ row counts: every command, every input
printf '0.5,0.5\n0.1,0.9\n0.4,0.6\n' >b3.csv
printf '1\n0\n1\n' >y3.csv
mm="row-count mismatch: 'b3.csv' has 3 rows but 'a.csv' has 4"
ym="'y3.csv' has 3 labels but the model files have 4 rows"
expect_error 2 "$mm" fit -m a=a.csv -m b=b3.csv -y y.csv --method mean -o g.lf
expect_error 2 "$ym" fit -m a=a.csv -m b=b.csv -y y3.csv --method mean -o g.lf
expect_error 2 "$mm" compare -m a=a.csv -m b=b3.csv -y y.csv
expect_error 2 "$ym" compare -m a=a.csv -m b=b.csv -y y3.csv
expect_error 2 "$mm" eval f.lf -m a=a.csv -m b=b3.csv -y y.csv
expect_error 2 "$ym" eval f.lf -m a=a.csv -m b=b.csv -y y3.csv
expect_error 2 "$mm" predict f.lf -m a=a.csv -m b=b3.csv -o o.npy
if [ ! -e g.lf ]; then ok; else bad "a row-count mismatch left g.lf"; fi
# .npy inputs (predict streams them)
expect_ok predict f.lf -m a=a.csv -o a.npy
expect_ok predict f.lf -m b=b3.csv -o b3.npy
expect_error 2 "row-count mismatch: 'b3.npy' has 3 rows but 'a.npy' has 4" predict f.lf -m a=a.npy -m b=b3.npy -o o.npy
expect_error 2 "row-count mismatch: 'b3.npy' has 3 rows but 'a.npy' has 4" \
    predict f.lf -m a=a.npy -m b=b3.npy -o o.npy --classes-out c.npy
if [ ! -e c.npy ]; then ok; else bad "a row-count mismatch left c.npy"; fi
expect_error 2 "row-count mismatch: 'b3.npy' has 3 rows but 'a.csv' has 4" eval f.lf -m a=a.csv -m b=b3.npy -y y.csv

# ------------------------------------------- files that are not regular
ln -s /dev/zero zero.csv
ln -s /dev/zero zero.npy
ln -s /dev/zero zero.lf
mkfifo fifo.csv fifo.npy fifo.lf
mkdir dir.csv
dev="it is a character device, not a regular file or a pipe"
expect_error 2 "cannot read 'zero.csv': $dev" predict f.lf -m a=zero.csv -o o.npy
expect_error 2 "cannot read 'zero.npy': $dev" predict f.lf -m a=zero.npy -o o.npy
expect_error 2 "cannot read 'zero.lf': $dev" predict zero.lf -m a=a.csv -o o.npy
expect_error 2 "cannot read 'zero.lf': $dev" inspect zero.lf
expect_error 2 "cannot read 'zero.csv': $dev" fit -m a=a.csv -m b=b.csv -y zero.csv --method mean -o g.lf
expect_error 2 "cannot read 'zero.npy': $dev" compare -m a=a.csv -m b=zero.npy -y y.csv
expect_error 2 "cannot read 'fifo.csv': it is a pipe or FIFO and nothing was written to it" \
    predict f.lf -m a=fifo.csv -o o.npy
expect_error 2 "cannot read 'fifo.npy': it is a pipe or FIFO and nothing was written to it" \
    predict f.lf -m a=fifo.npy -o o.npy
expect_error 2 "cannot read 'fifo.npy': it is a pipe or FIFO and nothing was written to it" \
    eval f.lf -m a=fifo.npy -y y.csv
expect_error 2 "cannot read 'fifo.lf': it is a pipe or FIFO and nothing was written to it" inspect fifo.lf
expect_error 2 "cannot read 'fifo.csv': it is a pipe or FIFO and nothing was written to it" \
    eval f.lf -m a=a.csv -y fifo.csv
expect_error 2 "cannot read 'dir.csv': it is a folder" predict f.lf -m a=dir.csv -o o.npy
if [ ! -e g.lf ]; then ok; else bad "a refused input left g.lf"; fi

if [ "$skipped" -gt 0 ]; then
    echo "input: $pass passed, $fail failed, $skipped skipped"
else
    echo "input: $pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]

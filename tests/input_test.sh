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
ok() { pass=$((pass + 1)); }
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
printf '\357\273\277label\n1\n0\n1\n0x0\n' >ybad.csv
expect_error 2 "'0x0' at row 5, column 1 is a hexadecimal number in 'ybad.csv'; write numbers in decimal" \
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
expect_error 2 "cannot read 'fifo.npy': it is a pipe or FIFO; .npy inputs must be regular files" \
    predict f.lf -m a=fifo.npy -o o.npy
expect_error 2 "cannot read 'fifo.npy': it is a pipe or FIFO; .npy inputs must be regular files" \
    eval f.lf -m a=fifo.npy -y y.csv
expect_error 2 "cannot read 'fifo.lf': it is a pipe or FIFO and nothing was written to it" inspect fifo.lf
expect_error 2 "cannot read 'fifo.csv': it is a pipe or FIFO and nothing was written to it" \
    eval f.lf -m a=a.csv -y fifo.csv
expect_error 2 "cannot read 'dir.csv': it is a folder" predict f.lf -m a=dir.csv -o o.npy
if [ ! -e g.lf ]; then ok; else bad "a refused input left g.lf"; fi

echo "input: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# cli_test.sh — tests of the `latefuse` command-line tool: every command,
# and every error message (exact stderr text and exit status).
#
# Fixtures are made here, in a mktemp -d folder: small hand-made CSV files
# (3 models x 10 samples x 2 classes, whose `mean` accuracy is 8/10 by hand)
# and .npy files written by the tool itself (predict).  Needs no Python.
# LF_BUILD names the build folder (default build).  The last line is
# "cli: N passed, N failed"; the exit status is non-zero on any failure.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LF_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
LF=$BUILD/latefuse
if [ ! -x "$LF" ]; then
    echo "cli_test: $LF is not built"
    echo "cli: 0 passed, 1 failed"
    exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/latefuse_cli.XXXXXX") || exit 1
trap 'cd /; rm -rf "$T"' EXIT
cd "$T" || exit 1

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*"
}

# run ARGS...: stdout in ./out, stderr in ./err, exit status in $rc.
run() {
    "$LF" "$@" >out 2>err
    rc=$?
}
# expect_ok ARGS...: exit status 0.
expect_ok() {
    run "$@"
    if [ "$rc" -eq 0 ]; then ok; else bad "latefuse $* -> exit $rc: $(cat err)"; fi
}
# expect_error STATUS MESSAGE ARGS...: that status, exactly "latefuse: MESSAGE"
# on stderr, nothing on stdout.
expect_error() {
    want_rc=$1
    want_msg=$2
    shift 2
    run "$@"
    got=$(cat err)
    if [ "$rc" -eq "$want_rc" ] && [ "$got" = "latefuse: $want_msg" ] && [ ! -s out ]; then
        ok
    else
        bad "latefuse $* -> exit $rc, stderr '$got', stdout $(wc -c <out) bytes; wanted exit $want_rc, 'latefuse: $want_msg'"
    fi
}
# contains FILE TEXT WHAT: FILE holds the fixed string TEXT.
contains() {
    if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not found in $1: $(head -c 400 "$1")"; fi
}
# close GOT WANT TOL WHAT: |GOT - WANT| <= TOL.
close() {
    if awk -v g="$1" -v w="$2" -v t="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(g != "" && g != "null" && d <= t) }'; then
        ok
    else
        bad "$4: got '$1', wanted $2 (within $3)"
    fi
}
# json_field FILE METHOD KEY: the value of KEY in the object of METHOD.
json_field() {
    grep -F "{\"method\": \"$2\"," "$1" | sed -n "s/.*\"$3\": \([^,}]*\).*/\1/p"
}

# ------------------------------------------------------------ fixtures
# P(class 0) per sample; y alternates 0,1.  The mean of A, B, C is right on
# 8 of 10 rows (wrong on rows 5 and 6), A alone on 6, and the oracle (some
# model right) on 8: on rows 5 and 6 every model is wrong.
printf 'p0,p1\n0.9,0.1\n0.2,0.8\n0.4,0.6\n0.6,0.4\n0.3,0.7\n0.7,0.3\n0.8,0.2\n0.1,0.9\n0.7,0.3\n0.35,0.65\n' >a.csv
printf '0.6,0.4\n0.7,0.3\n0.8,0.2\n0.1,0.9\n0.2,0.8\n0.6,0.4\n0.9,0.1\n0.3,0.7\n0.4,0.6\n0.45,0.55\n' >b.csv
printf '0.3,0.7\n0.4,0.6\n0.7,0.3\n0.2,0.8\n0.4,0.6\n0.8,0.2\n0.1,0.9\n0.9,0.1\n0.6,0.4\n0.25,0.75\n' >c.csv
printf 'label\n0\n1\n0\n1\n0\n1\n0\n1\n0\n1\n' >y.csv
printf '1,0\n0,1\n1,0\n0,1\n1,0\n0,1\n1,0\n0,1\n1,0\n0,1\n' >y_onehot.csv
# B with its output for sample 3 missing (a row of NaN).
sed '3s/.*/nan,nan/' b.csv >b_missing.csv
# raw scores (logits) with the same decisions as A
printf '2.0,-0.2\n-1.0,0.4\n-0.3,0.1\n0.5,-0.5\n-0.4,0.4\n1.0,0.1\n1.5,-1.0\n-2.0,1.0\n0.6,-0.2\n-0.3,0.3\n' >al.csv
# broken inputs
sed '2s/.*/0.9,0.3/' a.csv >bad_sum.csv          # data row 1 sums to 1.2
sed '4s/.*/-0.1,1.1/' b.csv >bad_neg.csv         # data row 4 negative
sed '5s/.*/inf,0/' b.csv >bad_inf.csv            # data row 5 +inf
sed '6s/.*/0.5,nan/' b.csv >bad_nan.csv          # data row 6 partly NaN
head -n 9 b.csv >short.csv                       # 9 rows
printf '0.5,0.3,0.2\n' >three.csv
for i in 2 3 4 5 6 7 8 9 10; do printf '0.5,0.3,0.2\n' >>three.csv; done
sed '8s/.*/2/' y.csv >y_range.csv                # data row 7 label 2
sed '3s/.*/1.5/' y.csv >y_frac.csv               # data row 2 label 1.5
head -n 9 y.csv >y_short.csv                     # 8 labels
sed '2s/.*/1,1/' y_onehot.csv >y_hot2.csv        # row 2 has two 1s
printf '0,1,0\n' >y3.csv
for i in 2 3 4 5 6 7 8 9 10; do printf '0,1,0\n' >>y3.csv; done
cp a.csv a.txt
M3="-m A=a.csv -m B=b.csv -m C=c.csv"

# ------------------------------------------------------- help, version
expect_ok --help
contains out "usage: latefuse COMMAND" "--help"
contains out "compare" "--help lists compare"
expect_ok --version
if [ "$(cat out)" = "latefuse 0.1.0" ]; then ok; else bad "--version printed '$(cat out)'"; fi
for c in seed-example head-example compare fit predict eval inspect demo; do
    expect_ok $c --help
    contains out "usage: latefuse $c" "$c --help"
done

# ------------------------------------------------------------- usage errors
expect_error 2 "no command given; see 'latefuse --help'"
expect_error 2 "unknown command 'frobnicate'; see 'latefuse --help'" frobnicate
expect_error 2 "unknown option '--bogus'; see 'latefuse --help'" --bogus
expect_error 2 "unknown option '--bogus' for compare; see 'latefuse compare --help'" compare --bogus
expect_error 2 "unknown option '--json' for fit; see 'latefuse fit --help'" fit $M3 -y y.csv --json
expect_error 2 "unknown option '--logits' for predict; see 'latefuse predict --help'" predict f.lf -m A=a.csv -o x.npy --logits
expect_error 2 "option -y needs a value; see 'latefuse compare --help'" compare $M3 -y
expect_error 2 "option --calibrate takes no value" compare $M3 -y y.csv --calibrate=1
expect_error 2 "compare needs the labels: -y LABELS" compare $M3
expect_error 2 "compare needs at least one -m NAME=FILE" compare -y y.csv
expect_error 2 "fit needs --method NAME" fit $M3 -y y.csv -o f.lf
expect_error 2 "fit needs an output file: -o FILE" fit $M3 -y y.csv --method mean
expect_error 2 "predict needs a fusion model file: latefuse predict FUSION -m NAME=FILE ..." predict -m A=a.csv -o x.npy
expect_error 2 "predict needs an output file: -o FILE" predict f.lf -m A=a.csv
expect_error 2 "inspect needs a fusion model file: latefuse inspect FUSION" inspect
expect_error 2 "unexpected argument 'extra' for inspect; see 'latefuse inspect --help'" inspect f.lf extra
expect_error 2 "unexpected argument 'a.csv' for compare; see 'latefuse compare --help'" compare a.csv
expect_error 2 "-m expects NAME=FILE, got 'a.csv'" compare -m a.csv -y y.csv
expect_error 2 "the model name 'A' is given twice" compare -m A=a.csv -m A=b.csv -y y.csv
expect_error 2 "the model name 'a b' may only hold letters, digits, '_', '.' and '-'" compare -m "a b=a.csv" -y y.csv
expect_error 2 "-m A= names no file" compare -m A= -y y.csv
expect_error 2 "--folds expects an integer from 2 to 64, got '1'" compare $M3 -y y.csv --folds 1
expect_error 2 "--folds expects an integer from 2 to 64, got 'x'" compare $M3 -y y.csv --folds=x
expect_error 2 "--seed expects a non-negative integer, got '-3'" compare $M3 -y y.csv --seed -3
expect_error 2 "unknown method 'avg' in --methods (see latefuse --help)" compare $M3 -y y.csv --methods mean,avg
expect_error 2 "method 'auto' chooses a method in fit; it cannot be compared" compare $M3 -y y.csv --methods auto
expect_error 2 "unknown method 'nope' (see latefuse --help)" fit $M3 -y y.csv --method nope -o f.lf
expect_error 2 "--epochs expects an integer from 1 to 1000000, got '0'" seed-example --epochs 0

# ------------------------------------------------------------- input errors
printf '0.5,0.5\n' >notnpy.npy
expect_error 2 "'notnpy.npy' is not a .npy file (no \\x93NUMPY magic)" compare -m A=notnpy.npy -y y.csv
expect_error 2 "cannot open 'nope.csv': No such file or directory" compare -m A=nope.csv -y y.csv
expect_error 2 "row 1 of 'bad_sum.csv' sums to 1.2, not 1 within 1e-3 (pass --logits for raw scores)" compare -m A=bad_sum.csv -m B=b.csv -y y.csv
expect_error 2 "row 4 of 'bad_neg.csv' holds a negative probability -0.1 in column 1 (pass --logits for raw scores)" compare -m A=a.csv -m B=bad_neg.csv -y y.csv
expect_error 2 "row 5 of 'bad_inf.csv' holds inf in column 1" compare -m A=a.csv -m B=bad_inf.csv -y y.csv
expect_error 2 "row 5 of 'bad_inf.csv' holds inf in column 1" compare -m A=bad_sum.csv -m B=bad_inf.csv -y y.csv --logits
expect_error 2 "row 6 of 'bad_nan.csv' has NaN in column 2 but values in others; a missing output must be a whole row of NaN" compare -m A=a.csv -m B=bad_nan.csv -y y.csv
expect_error 2 "row-count mismatch: 'short.csv' has 9 rows but 'a.csv' has 10" compare -m A=a.csv -m S=short.csv -y y.csv
expect_error 2 "class-count mismatch: 'three.csv' has 3 columns but 'a.csv' has 2" compare -m A=a.csv -m T=three.csv -y y.csv
expect_error 2 "label 2 at row 7 of 'y_range.csv' is out of range 0..1" compare $M3 -y y_range.csv
expect_error 2 "label 1.5 at row 2 of 'y_frac.csv' is not an integer" compare $M3 -y y_frac.csv
expect_error 2 "'y_short.csv' has 8 labels but the model files have 10 rows" compare $M3 -y y_short.csv
expect_error 2 "row 2 of 'y_hot2.csv' is not one-hot (exactly one 1, the rest 0)" compare $M3 -y y_hot2.csv
expect_error 2 "'y3.csv' has 3 columns; labels must be one column of class indices or 2 one-hot columns" compare $M3 -y y3.csv
expect_error 2 "cannot open 'nope.lf': No such file or directory" inspect nope.lf
printf '0.5\n0.5\n' >one.csv
printf '0.2,0.3,0.5\n0.1,0.1,0.8\n' >three.csv
expect_error 2 "'one.csv' has 1 column, a binary model's P(class 1), but the first model has 3 classes" compare -m A=three.csv -m O=one.csv -y y.csv
run inspect a.csv
if [ "$rc" -eq 2 ] && grep -q "^latefuse: 'a.csv' is not a valid" err && [ "$(wc -l <err)" -eq 1 ]; then ok; else bad "inspect of a CSV file: exit $rc, $(cat err)"; fi

# ------------------------------------------------------------- compare
expect_ok compare $M3 -y y.csv
for m in mean product max min median vote borda acc-weighted decision-template stack-lr wavg wavg-class loglinear mlp gate model:A model:B model:C oracle; do
    if grep -q "^$m " out; then ok; else bad "compare table lacks a row for $m"; fi
done
contains out "w/o A" "compare table has the accuracy without A"
if [ "$(tail -n 1 out | cut -d' ' -f1)" = "oracle" ]; then ok; else bad "the oracle is not the last row"; fi

expect_ok compare $M3 -y y.csv --json
cp out all.json
close "$(json_field all.json mean accuracy)" 0.8 1e-9 "mean accuracy (8 of 10 by hand)"
close "$(json_field all.json model:A accuracy)" 0.6 1e-9 "model:A accuracy (6 of 10 by hand)"
close "$(json_field all.json oracle accuracy)" 0.8 1e-9 "oracle accuracy (8 of 10 by hand)"
if [ "$(json_field all.json oracle log_loss)" = "null" ]; then ok; else bad "oracle log_loss should be null"; fi
if [ "$(json_field all.json mean calibrated)" = "false" ]; then ok; else bad "mean calibrated should be false"; fi
for k in accuracy_std macro_f1 log_loss brier ece; do
    v=$(json_field all.json mean $k)
    if [ -n "$v" ] && [ "$v" != null ]; then ok; else bad "mean lacks $k in JSON"; fi
done
if [ "$(head -n 2 all.json | tr -d '\n')" = '{"samples": 10, "models": ["A", "B", "C"], "classes": 2, "folds": 5, "seed": 0, "calibrated": false, "rows": [' ] &&
   [ "$(tail -n 1 all.json)" = "]}" ] && [ "$(grep -c '{"method"' all.json)" -eq 27 ]; then ok
else bad "JSON is not the header (the text table's first line) and rows of 27 objects (23 methods, 3 models, the oracle): $(head -n 2 all.json)"; fi

expect_ok compare $M3 -y y_onehot.csv --methods mean,vote,mean --json
if [ "$(grep -c '{"method"' out)" -eq 6 ]; then ok; else bad "--methods mean,vote gave $(grep -c '{"method"' out) rows, wanted 6"; fi
close "$(json_field out mean accuracy)" 0.8 1e-9 "mean accuracy with one-hot labels"
expect_ok compare $M3 -y y.csv --methods mean --calibrate --json --folds 2 --seed 18446744073709551615
if [ "$(json_field out mean calibrated)" = "true" ]; then ok; else bad "--calibrate not reported"; fi
if [ "$(head -n 1 out)" = '{"samples": 10, "models": ["A", "B", "C"], "classes": 2, "folds": 2, "seed": 18446744073709551615, "calibrated": true,' ]; then ok
else bad "compare --json header with --folds 2, the largest seed, --calibrate: $(head -n 1 out)"; fi
expect_ok compare -m A=a.csv -m B=b_missing.csv -m C=c.csv -y y.csv --methods mean,wavg
contains out "model:B" "compare with a missing output"
expect_ok compare -m L=al.csv -m B=b.csv -y y.csv --logits --methods mean --json
expect_error 2 "row 1 of 'al.csv' holds a negative probability -0.2 in column 2 (pass --logits for raw scores)" compare -m L=al.csv -m B=b.csv -y y.csv

# ------------------------------------------------- fit, inspect, predict, eval
expect_ok fit $M3 -y y.csv --method wavg -o wavg.lf
contains out "fitted wavg on 10 samples of 3 models and 2 classes; saved to wavg.lf" "fit summary"
contains out "weights of wavg" "fit prints the weights"
if [ -s wavg.lf ]; then ok; else bad "fit wrote no file"; fi
expect_ok fit -m B=b.csv -y y.csv --method mean -o one.lf
contains out "fitted mean on 10 samples of 1 model and 2 classes; saved to one.lf" "fit summary of one model"
expect_ok inspect wavg.lf
contains out "method:      wavg" "inspect method"
contains out "models:      3" "inspect models"
contains out "temperature 1.0000" "inspect temperatures"
w=$(grep -E '^  [ABC] +[0-9.]+ ' out | awk '{ s += $2 } END { print s }')
close "$w" 1 2e-4 "inspect weights sum to 1"
if grep -qE '^  A +0\.[0-9]{4} .*█' out; then ok; else bad "inspect draws no bar for A: $(cat out)"; fi
# wavg's shrinkage: 10 rows, fewer than 50, so the strongest penalty of its grid
contains out "penalty:     L2 1, the strongest of its grid: fewer than 50 fitting rows, too few to cross-validate" \
    "inspect shows the penalty"
expect_ok eval wavg.lf $M3 -y y.csv --json
contains out '"penalty": {"l2": 1, "chosen_by": "the strongest of its grid: fewer than 50 fitting rows' "eval --json's penalty"

expect_ok fit $M3 -y y.csv --method wavg-class --calibrate -o wc.lf
expect_ok inspect wc.lf
contains out "calibrated:  yes" "inspect calibrated"
# the class names come from the CSV files' header row (p0,p1)
contains out "class names: p0, p1" "inspect shows the class names of the CSV header"
contains out "         p0         p1" "inspect wavg-class table headed by the class names"
# more than 16 classes: inspect sums up each model's weights over the classes; --all prints the table
awk 'BEGIN { for (i = 0; i < 60; i++) { for (c = 0; c < 17; c++) printf "%s%s", c ? "," : "", c == i % 17 ? 0.6 : 0.025; print "" } }' >w17a.csv
awk 'BEGIN { for (i = 0; i < 60; i++) { for (c = 0; c < 17; c++) printf "%s%s", c ? "," : "", c == (i * 7) % 17 ? 0.6 : 0.025; print "" } }' >w17b.csv
awk 'BEGIN { for (i = 0; i < 60; i++) print i % 17 }' >w17y.csv
expect_ok fit -m a=w17a.csv -m b=w17b.csv -y w17y.csv --method wavg-class -o w17.lf
expect_ok inspect w17.lf
contains out "17 classes: the mean over classes, the smallest and the largest; inspect --all prints them all" \
    "inspect sums up 17 classes"
if grep -qE '^  a +0\.[0-9]{4} .*smallest class [0-9]+ 0\.[0-9]{4}, largest class [0-9]+ 0\.[0-9]{4}$' out; then ok; else bad "inspect's line for a: $(cat out)"; fi
if grep -qE '^ +class 0 +class 1 ' out; then bad "inspect printed the 17-column table: $(cat out)"; else ok; fi
expect_ok inspect --all w17.lf
contains out "   class 16" "inspect --all prints the 17th column"
contains out "(mean over classes)" "inspect --all prints the means"
expect_error 2 "unknown option '--all' for eval; see 'latefuse eval --help'" eval w17.lf -m a=w17a.csv -m b=w17b.csv -y w17y.csv --all
expect_ok fit $M3 -y y.csv --method auto --folds 2 -o auto.lf
contains out "(chosen by auto)" "fit auto names its choice"
expect_error 1 "cannot write -o 'nodir/x.lf': the folder 'nodir' does not exist; nothing was read or written" fit $M3 -y y.csv --method mean -o nodir/x.lf
if [ ! -e nodir ]; then ok; else bad "a failed fit left files"; fi

expect_ok fit $M3 -y y.csv --method mean -o mean.lf
expect_ok predict mean.lf $M3 -o fused.npy --classes-out pred.npy
contains out "wrote 10 x 2 fused probabilities to fused.npy and 10 classes to pred.npy" "predict summary"
# the fused probabilities, read back as a model's outputs, score the mean's 8/10
expect_ok compare -m F=fused.npy -m B=b.csv -y y.csv --methods mean --json
close "$(json_field out model:F accuracy)" 0.8 1e-9 "fused.npy accuracy"
# the predicted classes (int64 .npy) are labels that agree with the fused output
expect_ok eval mean.lf $M3 -y pred.npy --json
contains out '"accuracy": 1,' "eval against its own predictions"
expect_ok eval mean.lf $M3 -y y.csv --json
contains out '"samples": 10, "accuracy": 0.8,' "eval accuracy 8/10"
expect_ok eval mean.lf $M3 -y y.csv
contains out "accuracy  0.8000" "eval text"
# a float .npy that is not one-hot is rejected as labels
expect_error 2 "row 1 of 'fused.npy' is not one-hot (exactly one 1, the rest 0)" eval mean.lf $M3 -y fused.npy
# labels given by name (each class named many times) map through the stored names
awk 'BEGIN { for (i = 0; i < 10; i++) print (i % 2 ? "p1" : "p0") }' >ynames.txt
expect_ok eval mean.lf $M3 -y ynames.txt --json
contains out '"samples": 10, "accuracy": 0.8,' "eval with labels by name"
# the same labels with lone CR line ends, spaces around them and blank lines at
# the end read alike; a blank line inside is named as such
tr '\n' '\r' <ynames.txt | sed 's/p1/ p1\t/g' >ynames_cr.txt
printf '\n\n' >>ynames_cr.txt
expect_ok eval mean.lf $M3 -y ynames_cr.txt --json
contains out '"samples": 10, "accuracy": 0.8,' "eval with labels by name, CR line ends"
{ head -n 3 ynames.txt; echo; tail -n 7 ynames.txt; } >ynames_gap.txt
expect_error 2 "'ynames_gap.txt': a label is empty (line 4)" eval mean.lf $M3 -y ynames_gap.txt
# class names must agree: CSV headers with each other, with --class-names
# and with the names the fusion model stores (mean.lf: p0, p1 from a.csv)
{ echo p1,p0; cat b.csv; } >b_perm.csv
{ echo q0,q1; cat b.csv; } >b_other.csv
printf 'p1\np0\n' >cn_rev.txt
printf 'p0\np1\n' >cn_same.txt
SAME="the classes must be named alike, in the same order, everywhere"
expect_error 2 "the header of 'b_perm.csv' names column 1 'p1' but the header of 'a.csv' names it 'p0'; $SAME" \
    compare -m A=a.csv -m B=b_perm.csv -y y.csv --methods mean --folds 2
expect_error 2 "the header of 'b_other.csv' names column 1 'q0' but the header of 'a.csv' names it 'p0'; $SAME" \
    fit -m A=a.csv -m B=b_other.csv -y y.csv --method mean -o x.lf
expect_error 2 "the header of 'a.csv' names column 1 'p0' but --class-names 'cn_rev.txt' names it 'p1'; $SAME" \
    fit $M3 -y y.csv --method mean --class-names cn_rev.txt -o x.lf
expect_error 2 "the header of 'b_perm.csv' names column 1 'p1' but the fusion model 'mean.lf' names it 'p0'; $SAME" \
    eval mean.lf -m B=b_perm.csv -y y.csv
expect_error 2 "the header of 'b_perm.csv' names column 1 'p1' but the fusion model 'mean.lf' names it 'p0'; $SAME" \
    predict mean.lf -m B=b_perm.csv -o x.npy
expect_error 2 "--class-names 'cn_rev.txt' names class 1 'p1' but the fusion model 'mean.lf' names it 'p0'; $SAME" \
    eval mean.lf -m B=b.csv -y y.csv --class-names cn_rev.txt
expect_error 2 "the header of 'b_perm.csv' names column 1 'p1' but the fusion model 'mean.lf' names it 'p0'; $SAME" \
    report -m A=b_perm.csv -m B=b.csv -m C=c.csv -y y.csv -f mean.lf -o x.html
expect_ok eval mean.lf -m B=b.csv -y y.csv --class-names cn_same.txt
# compare maps labels by name through --class-names as fit does (its
# help says so): dog is column 0 of the header-less b.csv and c.csv, so
# the names sorted (cat, dog) would swap the classes
awk 'BEGIN { for (i = 0; i < 10; i++) print (i % 2 ? "cat" : "dog") }' >ydc.txt
printf 'dog\ncat\n' >cn_dc.txt
expect_ok compare -m B=b.csv -m C=c.csv -y y.csv --methods mean --folds 2 --json
mv out cmp_num.json
expect_ok compare -m B=b.csv -m C=c.csv -y ydc.txt --class-names cn_dc.txt --methods mean --folds 2 --json
if cmp -s out cmp_num.json; then ok; else bad "compare --class-names: $(cat out) vs $(cat cmp_num.json)"; fi
# CSV rows are numbered from 1 without the header, in parse errors as in value errors
printf 'p0,p1\n0.2,0.8\n0.5,x\n' >hdr_cell.csv
printf 'p0,p1\n0.2,0.8\n0.6,0.5\n' >hdr_sum.csv
printf 'p0,p1\n0.2,0.8\n0.5\n' >hdr_ragged.csv
printf '0.2,0.8\n0.5,0.5\n' >ok2.csv
printf '1\n0\n' >y2.txt
expect_error 2 "'x' at row 2, column 2 is not a number in 'hdr_cell.csv'" compare -m a=hdr_cell.csv -m b=ok2.csv -y y2.txt --methods mean --folds 2
expect_error 2 "row 2 of 'hdr_sum.csv' sums to 1.1, not 1 within 1e-3 (pass --logits for raw scores)" compare -m a=hdr_sum.csv -m b=ok2.csv -y y2.txt --methods mean --folds 2
expect_error 2 "row 2 has 1 fields, expected 2 in 'hdr_ragged.csv'" compare -m a=hdr_ragged.csv -m b=ok2.csv -y y2.txt --methods mean --folds 2
# a .npy where the fusion model goes (FUSION and -m swapped) is named as such
NPYMSG="is a .npy file, not a fusion model (a fusion model is the safetensors file that fit writes; were the fusion model and a model's outputs swapped?)"
expect_error 2 "'fused.npy' $NPYMSG" predict fused.npy -m A=mean.lf -o x.npy
expect_error 2 "'fused.npy' $NPYMSG" inspect fused.npy
if [ ! -e x.lf ] && [ ! -e x.npy ] && [ ! -e x.html ]; then ok; else bad "a refused run (class names) wrote an output"; fi

# a model left out is missing for every row: the mean of A alone is A (6/10)
expect_ok predict mean.lf -m A=a.csv -o onlya.npy
contains out "(absent: B C)" "predict names the absent models"
expect_ok compare -m F=onlya.npy -m B=b.csv -y y.csv --methods mean --json
close "$(json_field out model:F accuracy)" 0.6 1e-9 "mean with B and C left out"
expect_ok eval mean.lf -m A=a.csv -y y.csv --json
contains out '"accuracy": 0.6,' "eval with models left out"
expect_ok predict mean.lf -m A=a.csv -m B=b_missing.csv -m C=c.csv -o m.npy
expect_error 2 "the fusion model has no model named 'D' (it knows A, B, C)" predict mean.lf -m A=a.csv -m D=b.csv -o x.npy
expect_error 2 "'three.csv' has 3 columns but the fusion model has 2 classes" predict mean.lf -m A=three.csv -o x.npy
expect_error 2 "row 1 of 'bad_sum.csv' sums to 1.2, not 1 within 1e-3 (append :logits to the file's name for raw scores)" predict mean.lf -m A=bad_sum.csv -o x.npy
expect_error 2 "row 1 of 'bad_sum.csv' sums to 1.2, not 1 within 1e-3 (append :logits to the file's name for raw scores)" eval mean.lf -m A=bad_sum.csv -y y.csv
expect_error 1 "cannot write -o 'nodir/x.npy': the folder 'nodir' does not exist; nothing was read or written" predict mean.lf $M3 -o nodir/x.npy
if [ ! -e x.npy ]; then ok; else bad "a failed predict left x.npy"; fi

# --logits is stored with the model and applied by predict
expect_ok fit -m L=al.csv -m B=b.csv -y y.csv --method mean --logits -o logits.lf
expect_ok inspect logits.lf
contains out "inputs:      logits (softmax applied)" "inspect shows logits"
expect_ok predict logits.lf -m L=al.csv -m B=b.csv -o fl.npy
expect_ok eval logits.lf -m L=al.csv -m B=b.csv -y y.csv

# ------------------------------------------------------------ examples, demo
expect_ok seed-example
contains out 'Total params: 6499' "seed-example prints the summary"
line=$(grep -E '^weights: [0-9.]+ [0-9.]+$' out)
if [ -n "$line" ]; then ok; else bad "seed-example printed no 'weights: w1 w2' line: $(tail -n 2 out)"; fi
s=$(echo "$line" | awk '{ print $2 + $3 }')
close "$s" 1 1e-5 "seed-example weights sum to 1"
contains err "Epoch 10/10" "seed-example shows per-epoch progress"
expect_ok seed-example --epochs 2 --seed 3
contains err "Epoch 2/2" "seed-example --epochs"
cp out seed3.out
expect_ok seed-example --epochs 2 --seed 3 --quiet
if [ ! -s err ] && cmp -s out seed3.out; then ok; else bad "seed-example --quiet: stderr '$(head -c 200 err)', stdout differs: $(cmp out seed3.out 2>&1)"; fi
# compare's bar: drawn on a terminal only (script(1) gives one), one bar
# over the methods with the time left, cleared at the end; --quiet: none
if command -v script >/dev/null 2>&1; then
    script -qec "'$LF' compare $M3 -y y.csv --methods mean,product,wavg --folds 2 >/dev/null" /dev/null >tty.txt 2>&1
    if grep -q '2/3 \[====================>.........\] - ETA: ' tty.txt && grep -q ' - wavg' tty.txt; then ok; else bad "no progress bar on a terminal: $(head -c 300 tty.txt | od -c | head -5)"; fi
    script -qec "'$LF' compare $M3 -y y.csv --methods mean,product,wavg --folds 2 --quiet >/dev/null" /dev/null >tty.txt 2>&1
    if ! grep -q 'ETA' tty.txt; then ok; else bad "--quiet still drew a bar"; fi
fi
expect_ok head-example --epochs 5
if grep -qE '^test accuracy: +0\.[0-9]{4}' out && grep -qE '^train accuracy: +0\.[0-9]{4}' out; then ok; else bad "head-example accuracies: $(cat out | tail -n 5)"; fi

# Streaming predict: .npy inputs larger than one chunk (8192 rows) give
# exactly the bytes the whole-file path gives for the same data as CSV, and
# an error in a later chunk names its row counted from the file's start.
awk 'BEGIN { for (i = 0; i < 20000; i++) { a = (i % 7) / 10 + 0.1; printf "%.6f,%.6f,%.6f\n", a, 0.5 - a / 2, 0.5 - a / 2 } }' >big_a.csv
awk 'BEGIN { for (i = 0; i < 20000; i++) { a = (i % 5) / 10 + 0.2; printf "%.6f,%.6f,%.6f\n", 0.5 - a / 2, a, 0.5 - a / 2 } }' >big_b.csv
awk 'BEGIN { for (i = 0; i < 20000; i++) print i % 3 }' >big_y.csv
expect_ok fit -m a=big_a.csv -m b=big_b.csv -y big_y.csv --method wavg --epochs 2 -o big.lf
expect_ok predict big.lf -m a=big_a.csv -o big_a.npy   # the one-model "fusion" of a is a itself
expect_ok predict big.lf -m b=big_b.csv -o big_b.npy
expect_ok predict big.lf -m a=big_a.csv -m b=big_b.csv -o whole.npy --classes-out whole_cls.npy
expect_ok predict big.lf -m a=big_a.npy -m b=big_b.npy -o streamed.npy --classes-out streamed_cls.npy
contains out "wrote 20000 x 3 fused probabilities to streamed.npy and 20000 classes to streamed_cls.npy" "streamed predict"
if cmp -s whole.npy streamed.npy && cmp -s whole_cls.npy streamed_cls.npy; then ok; else bad "streamed predict differs from the whole-file path"; fi
# read() (the default) and --mmap's mapped inputs give the same bytes;
# --no-fsync writes the same bytes (still through a renamed temporary file);
# --no-mmap after --mmap reads again
expect_ok predict big.lf -m a=big_a.npy -m b=big_b.npy -o mapped.npy --classes-out mapped_cls.npy --mmap --no-fsync
if cmp -s streamed.npy mapped.npy && cmp -s streamed_cls.npy mapped_cls.npy; then ok; else bad "--mmap/--no-fsync predict differs"; fi
if ls mapped.npy.tmp-* >/dev/null 2>&1; then bad "--no-fsync left a temporary file"; else ok; fi
expect_ok predict big.lf -m a=big_a.npy -m b=big_b.npy -o read.npy --mmap --no-mmap
if cmp -s streamed.npy read.npy; then ok; else bad "--mmap --no-mmap predict differs"; fi
expect_ok predict mean.lf $M3 -o fused_nofsync.npy --no-fsync
if cmp -s fused.npy fused_nofsync.npy; then ok; else bad "--no-fsync predict differs"; fi
expect_ok fit -m a=big_a.csv -m b=big_b.csv -y big_y.csv --method mean -o nofsync.lf --no-fsync
contains out "saved to nofsync.lf" "fit --no-fsync"
expect_error 2 "unknown option '--no-fsync' for eval; see 'latefuse eval --help'" eval big.lf -m a=big_a.npy -y big_y.csv --no-fsync
expect_error 2 "option --no-fsync takes no value" predict big.lf -m a=big_a.npy -o x.npy --no-fsync=1
expect_error 2 "unknown option '--no-mmap' for fit; see 'latefuse fit --help'" fit -m a=big_a.csv -y big_y.csv --method mean -o x.lf --no-mmap
expect_error 2 "unknown option '--mmap' for eval; see 'latefuse eval --help'" eval big.lf -m a=big_a.npy -y big_y.csv --mmap
# eval --json's penalty: a float as its shortest decimal (20001 rows: 0.003 x 20000 / 20001)
{ cat big_a.csv; echo "0.1,0.45,0.45"; } >pen_a.csv
{ cat big_b.csv; echo "0.45,0.1,0.45"; } >pen_b.csv
{ cat big_y.csv; echo 2; } >pen_y.csv
expect_ok fit -m a=pen_a.csv -m b=pen_b.csv -y pen_y.csv --method stack-lr --epochs 1 -o pen.lf
expect_ok eval pen.lf -m a=pen_a.csv -m b=pen_b.csv -y pen_y.csv --json
contains out '"penalty": {"l2": 0.00299985, "chosen_by": "the weakest of its grid x 20000 / rows' "eval --json's penalty, shortest"
expect_ok predict big.lf -m b=big_b.npy -o streamed_b.npy
if cmp -s big_b.npy streamed_b.npy; then ok; else bad "streamed predict with a absent differs"; fi
awk 'NR == 15001 { print "0.5,0.5,0.5"; next } { print }' big_a.csv >bad_a.csv
expect_error 2 "row 15001 of 'bad_a.csv' sums to 1.5, not 1 within 1e-3 (append :logits to the file's name for raw scores)" \
    predict big.lf -m a=bad_a.csv -o x.npy
cp big_a.npy bad_a.npy   # row 15001 (in the second chunk): first value 0.9
off=$(( $(wc -c <big_a.npy) - 240000 + 15000 * 12 ))
printf '\146\146\146\077' | dd of=bad_a.npy bs=1 seek=$off conv=notrunc 2>/dev/null
run predict big.lf -m a=bad_a.npy -o x.npy
if [ "$rc" -eq 2 ] && grep -q "^latefuse: row 15001 of 'bad_a.npy' sums to" err && [ ! -e x.npy ]; then ok; else bad "streamed bad row: exit $rc, $(cat err)"; fi
# the same failure with --classes-out: neither output, no temporary file
run predict big.lf -m a=bad_a.npy -o x.npy --classes-out xc.npy
if [ "$rc" -eq 2 ] && [ ! -e x.npy ] && [ ! -e xc.npy ] && ! ls ./*.tmp-* >/dev/null 2>&1; then ok; else bad "streamed bad row with --classes-out: exit $rc, left: $(ls ./*.tmp-* x.npy xc.npy 2>/dev/null)"; fi

# --classes-out on the streaming path: 70000 rows (5 chunks) of 3 classes
# whose mean's argmax is row % 3 by construction (a: 0.6 on class i % 3,
# b: 0.5 on class (i + 1) % 3, so class i % 3 gets 0.425, the next 0.35);
# the int64 ids are checked one by one after the header
awk 'BEGIN { for (i = 0; i < 70000; i++) { c = i % 3; printf "%s,%s,%s\n", c == 0 ? 0.6 : 0.2, c == 1 ? 0.6 : 0.2, c == 2 ? 0.6 : 0.2 } }' >cls_a.csv
awk 'BEGIN { for (i = 0; i < 70000; i++) { c = (i + 1) % 3; printf "%s,%s,%s\n", c == 0 ? 0.5 : 0.25, c == 1 ? 0.5 : 0.25, c == 2 ? 0.5 : 0.25 } }' >cls_b.csv
awk 'BEGIN { for (i = 0; i < 70000; i++) print i % 3 }' >cls_y.csv
expect_ok fit -m a=cls_a.csv -m b=cls_b.csv -y cls_y.csv --method mean -o cls.lf
expect_ok predict cls.lf -m a=cls_a.csv -o cls_a.npy   # the mean of a alone is a
expect_ok predict cls.lf -m b=cls_b.csv -o cls_b.npy
expect_ok predict cls.lf -m a=cls_a.npy -m b=cls_b.npy -o cls_p.npy --classes-out cls_c.npy
contains out "wrote 70000 x 3 fused probabilities to cls_p.npy and 70000 classes to cls_c.npy" "streamed --classes-out"
hl=$(od -An -tu2 -j8 -N2 cls_c.npy | tr -d ' ')
if head -c $((10 + hl)) cls_c.npy | grep -qF "{'descr': '<i8', 'fortran_order': False, 'shape': (70000,), }" &&
    [ $(($(wc -c <cls_c.npy) - 10 - hl)) -eq 560000 ] &&
    od -An -v -td8 -j $((10 + hl)) cls_c.npy | tr -s ' ' '\n' | grep -v '^$' | cmp -s - cls_y.csv; then
    ok
else
    bad "streamed --classes-out: the class ids are not row % 3"
fi
# the same bytes from the whole-file path, and whatever the thread count
expect_ok predict cls.lf -m a=cls_a.csv -m b=cls_b.csv -o cls_pw.npy --classes-out cls_cw.npy
if cmp -s cls_p.npy cls_pw.npy && cmp -s cls_c.npy cls_cw.npy; then ok; else bad "streamed --classes-out differs from the whole-file path"; fi
for t in 1 2 3 7; do
    OMP_NUM_THREADS=$t "$LF" predict cls.lf -m a=cls_a.npy -m b=cls_b.npy -o cls_pt.npy --classes-out cls_ct.npy --no-fsync >out 2>err
    rc=$?
    OMP_NUM_THREADS=$t "$LF" predict big.lf -m a=big_a.npy -m b=big_b.npy -o big_pt.npy --classes-out big_ct.npy --mmap >out 2>err
    rc2=$?
    if [ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] && cmp -s cls_p.npy cls_pt.npy && cmp -s cls_c.npy cls_ct.npy &&
        cmp -s streamed.npy big_pt.npy && cmp -s streamed_cls.npy big_ct.npy; then
        ok
    else
        bad "streamed predict with OMP_NUM_THREADS=$t differs (exit $rc, $rc2)"
    fi
done
# a --classes-out that cannot be written: neither output, no temporary file
mkdir -p cdir
expect_error 1 "cannot write --classes-out 'cdir': it is a folder; nothing was read or written" predict cls.lf -m a=cls_a.npy -m b=cls_b.npy -o x.npy --classes-out cdir
expect_error 1 "cannot write --classes-out 'nodir/c.npy': the folder 'nodir' does not exist; nothing was read or written" \
    predict cls.lf -m a=cls_a.npy -m b=cls_b.npy -o x.npy --classes-out nodir/c.npy
expect_error 1 "cannot write -o 'cdir': it is a folder; nothing was read or written" predict cls.lf -m a=cls_a.npy -m b=cls_b.npy -o cdir --classes-out xc.npy
if [ ! -e x.npy ] && [ ! -e xc.npy ] && ! ls ./*.tmp-* cdir/* >/dev/null 2>&1; then ok; else bad "a failed --classes-out left: $(ls ./*.tmp-* x.npy xc.npy cdir/* 2>/dev/null)"; fi
rm -f cls_pt.npy cls_ct.npy big_pt.npy big_ct.npy

# ------------------------------------------------------------ output paths
# a table, a JSON object or a summary that cannot be written to standard
# output (a full disk behind `>`; /dev/full fails every write) fails the
# run with one sentence and exit 1: before, every such command exited 0
if [ -w /dev/full ]; then
    for args in "inspect mean.lf" "compare $M3 -y y.csv --methods mean --folds 2 --json" \
        "eval mean.lf $M3 -y y.csv --json" "fit $M3 -y y.csv --method mean -o full.lf" "--version" "fit --help"; do
        # shellcheck disable=SC2086
        "$LF" $args >/dev/full 2>err
        rc=$?
        if [ "$rc" -eq 1 ] && [ "$(cat err)" = "latefuse: cannot write the standard output: No space left on device" ]
        then ok; else bad "latefuse $args >/dev/full: exit $rc, $(cat err)"; fi
    done
    rm -f full.lf
fi
# (issue 11) -o never clobbers what it should not: standard output, devices
# and FIFOs are written through, a symbolic link's target is replaced, an
# output that is an input is refused before anything is read or written.
run predict mean.lf $M3 -o -
if [ "$rc" -eq 0 ] && cmp -s out fused.npy && [ "$(cat err)" = "wrote 10 x 2 fused probabilities to -" ]; then ok; else bad "-o -: exit $rc, $(cat err)"; fi
run predict big.lf -m a=big_a.npy -m b=big_b.npy -o - --classes-out sc.npy   # .npy inputs: not streamed
if [ "$rc" -eq 0 ] && cmp -s out streamed.npy && cmp -s sc.npy streamed_cls.npy; then ok; else bad "-o - with .npy inputs: exit $rc, $(cat err)"; fi
# -o /dev/stdout into a pipe is standard output too: the data alone there, the summary on stderr
"$LF" predict big.lf -m a=big_a.npy -m b=big_b.npy -o /dev/stdout 2>err | cat >devout.npy
if cmp -s devout.npy streamed.npy && grep -q '^wrote ' err; then ok; else bad "-o /dev/stdout: $(cat err) $(tail -c 80 devout.npy)"; fi
mkfifo fifo.npy
cat fifo.npy >from_fifo.npy &
catpid=$!
expect_ok predict mean.lf $M3 -o fifo.npy
i=0
while kill -0 "$catpid" 2>/dev/null && [ "$i" -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
kill "$catpid" 2>/dev/null   # still waiting: the FIFO was replaced
wait "$catpid"
if [ -p fifo.npy ] && cmp -s from_fifo.npy fused.npy; then ok; else bad "-o FIFO: replaced, or other bytes came through"; fi
# a FIFO nobody reads: its open waits, and can still be interrupted, and
# --classes-out's temporary file goes; a reader that goes away (SIGPIPE) too
mkfifo fifo2.npy
env --default-signal=INT "$LF" predict mean.lf $M3 -o fifo2.npy --classes-out fc.npy >out 2>err &
pid=$!
sleep 0.3
kill -INT "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
kill -KILL "$pid" 2>/dev/null
wait "$pid"
rc=$?
if [ "$rc" -eq 130 ] && [ "$(cat err)" = "latefuse: stopped by SIGINT; no output was written" ] && [ -p fifo2.npy ] &&
    [ -z "$(ls | grep '^fc\.npy')" ]; then ok; else bad "SIGINT while waiting for a FIFO's reader: exit $rc, $(cat err), $(ls | grep '^fc\.npy')"; fi
(env --default-signal=PIPE "$LF" predict cls.lf -m a=cls_a.csv -m b=cls_b.csv -o - --classes-out fc.npy 2>err; echo $? >rc.txt) | head -c 10 >/dev/null
if [ "$(cat rc.txt)" -eq 141 ] && [ "$(cat err)" = "latefuse: stopped by SIGPIPE: the reader of an output went away" ] &&
    [ -z "$(ls | grep '^fc\.npy')" ]; then ok; else bad "SIGPIPE: exit $(cat rc.txt), $(cat err), $(ls | grep '^fc\.npy')"; fi
# a character device: a null device of the test's own (root only), never
# /dev/null itself, which a tool that replaces its target would destroy
if mknod null_dev c 1 3 2>/dev/null && mknod zero_dev c 1 5 2>/dev/null; then
    expect_ok predict big.lf -m a=big_a.npy -o null_dev --classes-out zero_dev
    if [ -c null_dev ] && [ -c zero_dev ]; then ok; else bad "-o DEVICE replaced the device"; fi
fi
printf 'old' >lt.npy
ln -s lt.npy link.npy
expect_ok predict mean.lf $M3 -o link.npy
if [ -L link.npy ] && [ "$(readlink link.npy)" = lt.npy ] && cmp -s lt.npy fused.npy; then ok; else bad "-o LINK: the link was replaced or its target not written"; fi
ln -s nowhere.npy dangling.npy
expect_ok predict mean.lf $M3 -o dangling.npy
if [ -L dangling.npy ] && cmp -s nowhere.npy fused.npy; then ok; else bad "-o DANGLING-LINK: its target was not created"; fi
# an output naming an input (by inode: another spelling, a hard link) is exit 2, the input intact
cp a.csv a_copy.csv
expect_error 2 "-o './a.csv' is the same file as the input 'a.csv'; nothing was read or written" predict mean.lf $M3 -o ./a.csv
ln a.csv a_hard.csv
expect_error 2 "--classes-out 'a_hard.csv' is the same file as the input 'a.csv'; nothing was read or written" \
    predict mean.lf $M3 -o x.npy --classes-out a_hard.csv
expect_error 2 "-o 'mean.lf' is the same file as the fusion model 'mean.lf'; nothing was read or written" predict mean.lf $M3 -o mean.lf
expect_error 2 "-o 'y.csv' is the same file as the labels 'y.csv'; nothing was read or written" fit $M3 -y y.csv --method mean -o y.csv
expect_error 2 "-o 'b.csv' is the same file as the input 'b.csv'; nothing was read or written" fit $M3 -y y.csv --method mean -o b.csv
expect_error 2 "-o 'x.npy' and --classes-out './x.npy' name the same file; nothing was read or written" predict mean.lf $M3 -o x.npy --classes-out ./x.npy
expect_error 2 "-o 'lt.npy' and --classes-out 'link.npy' name the same file; nothing was read or written" predict mean.lf $M3 -o lt.npy --classes-out link.npy
# a dangling link and the file it would create are one output; so are standard
# output and the input it is appended to
ln -s nowhere2.npy dangling2.npy
expect_error 2 "-o 'dangling2.npy' and --classes-out 'nowhere2.npy' name the same file; nothing was read or written" \
    predict mean.lf $M3 -o dangling2.npy --classes-out nowhere2.npy
"$LF" predict mean.lf $M3 -o - 2>err >>a.csv
rc=$?
if [ "$rc" -eq 2 ] && [ "$(cat err)" = "latefuse: -o '- (standard output)' is the same file as the input 'a.csv'; nothing was read or written" ]; then ok; else bad "-o - >> a.csv: exit $rc, $(cat err)"; fi
if cmp -s a.csv a_copy.csv && [ ! -e x.npy ] && [ ! -e nowhere2.npy ]; then ok; else bad "a refused output changed its input or wrote x.npy or nowhere2.npy"; fi
cp a_copy.csv a.csv   # (for the tests below, should it have been)
rm -f x.npy
# fit --history is an output too, and --class-names an input (exit 2, nothing touched)
printf 'p0\np1\n' >cn.txt
cp y.csv y_copy.csv
cp cn.txt cn_copy.txt
printf 'old history\n' >hist.csv
cp hist.csv hist_copy.csv
expect_error 2 "--history 'y.csv' is the same file as the labels 'y.csv'; nothing was read or written" \
    fit $M3 -y y.csv --method wavg --epochs 2 -o x.lf --history y.csv
expect_error 2 "--history 'a.csv' is the same file as the input 'a.csv'; nothing was read or written" \
    fit $M3 -y y.csv --method wavg --epochs 2 -o x.lf --history a.csv
expect_error 2 "-o 'hist.csv' and --history './hist.csv' name the same file; nothing was read or written" \
    fit $M3 -y y.csv --method wavg --epochs 2 -o hist.csv --history ./hist.csv
expect_error 2 "-o 'x.lf' and --history 'x.lf' name the same file; nothing was read or written" \
    fit $M3 -y y.csv --method wavg --epochs 2 -o x.lf --history x.lf
expect_error 2 "-o 'cn.txt' is the same file as the class names 'cn.txt'; nothing was read or written" \
    fit $M3 -y y.csv --method mean --class-names cn.txt -o cn.txt
expect_error 2 "-o 'cn.txt' is the same file as the class names 'cn.txt'; nothing was read or written" \
    report $M3 -y y.csv --methods mean --folds 2 --class-names cn.txt -o cn.txt
if cmp -s a.csv a_copy.csv && cmp -s y.csv y_copy.csv && cmp -s cn.txt cn_copy.txt && cmp -s hist.csv hist_copy.csv &&
    [ ! -e x.lf ]; then ok; else bad "a refused --history / --class-names run changed a file or wrote x.lf"; fi
# an output folder that is missing is found before any work (exit 1); a
# fusion model that cannot be saved (-o is a folder) leaves --history as it was
expect_error 1 "cannot write -o 'nodir/x.lf': the folder 'nodir' does not exist; nothing was read or written" \
    fit $M3 -y y.csv --method auto --folds 2 --epochs 1 -o nodir/x.lf
expect_error 1 "cannot write --history 'nodir/h.csv': the folder 'nodir' does not exist; nothing was read or written" \
    fit $M3 -y y.csv --method wavg --epochs 2 -o x.lf --history nodir/h.csv
expect_error 1 "cannot write --classes-out 'a.csv/c.npy': the folder 'a.csv' is not a folder; nothing was read or written" \
    predict mean.lf $M3 -o x.npy --classes-out a.csv/c.npy
expect_error 1 "cannot write -o 'nodir/r.html': the folder 'nodir' does not exist; nothing was read or written" \
    report $M3 -y y.csv --methods mean --folds 2 -o nodir/r.html
mkdir outdir.lf
run fit $M3 -y y.csv --method wavg --epochs 2 -o outdir.lf --history hist.csv
if [ "$rc" -eq 1 ] && cmp -s hist.csv hist_copy.csv && [ -z "$(ls outdir.lf)" ] && [ ! -e x.npy ] && [ ! -e x.lf ]; then ok
else bad "fit -o FOLDER --history: exit $rc, $(cat err); the history changed or something was written"; fi
# an output that is a folder (or a link to one) is refused before any work
# too, naming it (it was found only at the write: after the fit, the page,
# or, for --history, after the fusion model was saved)
expect_error 1 "cannot write -o 'outdir.lf': it is a folder; nothing was read or written" \
    fit $M3 -y y.csv --method wavg --epochs 2 -o outdir.lf --history hist.csv
ln -s outdir.lf outlink
expect_error 1 "cannot write -o 'outlink': it is a folder; nothing was read or written" predict mean.lf $M3 -o outlink
expect_error 1 "cannot write --classes-out 'outdir.lf': it is a folder; nothing was read or written" \
    predict mean.lf $M3 -o x.npy --classes-out outdir.lf
expect_error 1 "cannot write -o 'outdir.lf': it is a folder; nothing was read or written" \
    report $M3 -y y.csv --methods mean --folds 2 -o outdir.lf
expect_error 1 "cannot write --history 'outdir.lf': it is a folder; nothing was read or written" \
    fit $M3 -y y.csv --method wavg --epochs 2 -o x.lf --history outdir.lf
expect_error 1 "cannot write --history 'outdir.lf': it is a folder; nothing was read or written" \
    seed-example --history outdir.lf
expect_error 1 "cannot write --report 'outdir.lf': it is a folder; nothing was read or written" demo --report outdir.lf
if [ -z "$(ls outdir.lf)" ] && [ ! -e x.npy ] && [ ! -e x.lf ]; then ok; else bad "a refused output folder run wrote something"; fi
rm -rf outdir.lf outlink
# a repeated single-valued option is an error
expect_error 2 "option -o is given twice" predict mean.lf $M3 -o x.npy -o y.npy
expect_error 2 "option --method is given twice" fit $M3 -y y.csv --method mean --method=max -o x.lf
expect_error 2 "option --folds is given twice" compare $M3 -y y.csv --folds 2 --folds 3
expect_error 2 "option -y is given twice" compare $M3 -y y.csv -y y.csv
expect_error 2 "fit cannot write the fusion model to standard output; name a file with -o" fit $M3 -y y.csv --method mean -o -
# modes: a new file 0666 & ~umask, a replaced one keeps its mode
rm -f m1.npy m2.npy
(umask 027; "$LF" predict mean.lf $M3 -o m1.npy >/dev/null 2>&1)
(umask 027; "$LF" fit $M3 -y y.csv --method mean -o m1.lf >/dev/null 2>&1)
printf 'old' >m2.npy
chmod 600 m2.npy
expect_ok predict mean.lf $M3 -o m2.npy
if [ "$(stat -c %a m1.npy m1.lf m2.npy | tr '\n' ' ')" = "640 640 600 " ]; then ok; else bad "output modes: $(stat -c '%n %a' m1.npy m1.lf m2.npy | tr '\n' ' ')"; fi
# a long but valid name (250 bytes): its temporary file's name is cut to NAME_MAX
long=$(awk 'BEGIN { for (i = 0; i < 246; i++) printf "n" }').npy
expect_ok predict big.lf -m a=big_a.npy -o "$long" --classes-out "c$long"
if cmp -s "$long" big_a.npy && ! ls ./*.tmp-* >/dev/null 2>&1; then ok; else bad "a 250-byte output name"; fi
expect_ok fit $M3 -y y.csv --method mean -o "$long"
rm -f "$long" "c$long"
# --classes-out that cannot be written, on the whole-file (CSV) path: -o is
# not replaced either
printf 'old' >keep.npy
expect_error 1 "cannot write --classes-out 'cdir': it is a folder; nothing was read or written" predict mean.lf $M3 -o keep.npy --classes-out cdir
expect_error 1 "cannot write --classes-out 'nodir/c.npy': the folder 'nodir' does not exist; nothing was read or written" \
    predict mean.lf $M3 -o keep.npy --classes-out nodir/c.npy
if [ "$(cat keep.npy)" = old ] && ! ls ./*.tmp-* >/dev/null 2>&1; then ok; else bad "a failed --classes-out replaced -o on the CSV path"; fi
# the file size limit (SIGXFSZ): one line, 128 + 25, nothing left
for inp in big_a.npy big_a.csv; do
    sh -c 'ulimit -f 100; exec "$@"' sh "$LF" predict big.lf -m a=$inp -o xf.npy --classes-out xfc.npy >out 2>err
    rc=$?
    if [ "$rc" -eq 153 ] && [ "$(cat err)" = "latefuse: stopped by SIGXFSZ (the file size limit, ulimit -f, was reached); no output was written" ] &&
        [ ! -e xf.npy ] && [ ! -e xfc.npy ] && ! ls ./*.tmp-* >/dev/null 2>&1; then ok; else bad "SIGXFSZ with $inp: exit $rc, $(cat err), $(ls ./*.tmp-* xf*.npy 2>/dev/null)"; fi
done
# (4 blocks, not 0: LLVM's OpenMP runtime, in clang builds, writes a 1 KiB
# shared-memory file when it starts; mlp's file is larger than 2 KiB)
sh -c 'ulimit -f 4; exec "$@"' sh "$LF" fit $M3 -y y.csv --method mlp --epochs 1 -o xf.lf >out 2>/dev/null
rc=$?
if [ "$rc" -eq 153 ] && [ ! -e xf.lf ] && ! ls ./*.tmp-* >/dev/null 2>&1; then ok; else bad "SIGXFSZ in fit: exit $rc"; fi
# threads that cannot be created (libgomp exits 1 with its own line): at the
# start, before any output exists.  Needs a build without AddressSanitizer
# (its shadow memory does not fit under ulimit -v).
if sh -c 'ulimit -v 2000000; exec "$@"' sh "$LF" --version >/dev/null 2>&1; then
    OMP_NUM_THREADS=4 OMP_STACKSIZE=3G sh -c 'ulimit -v 2000000; exec "$@"' sh "$LF" predict big.lf -m a=big_a.npy -o xt.npy >out 2>err
    rc=$?
    if [ "$rc" -eq 1 ] && [ "$(grep -c . err)" -eq 1 ] && grep -q "^libgomp: Thread creation failed" err && [ ! -e xt.npy ] && ! ls ./*.tmp-* >/dev/null 2>&1; then ok; else bad "thread creation failure: exit $rc, $(cat err), $(ls ./*.tmp-* xt.npy 2>/dev/null)"; fi
    # --threads 1: the one thread that fits, from the start (the guard's team is the command's)
    OMP_NUM_THREADS=4 OMP_STACKSIZE=3G sh -c 'ulimit -v 2000000; exec "$@"' sh "$LF" predict big.lf -m a=big_a.npy -o xt.npy --threads 1 >out 2>err
    rc=$?
    if [ "$rc" -eq 0 ] && [ -s xt.npy ]; then ok; else bad "predict --threads 1 under ulimit -v: exit $rc, $(cat err)"; fi
    rm -f xt.npy
else
    echo "cli: note: the thread-creation check is skipped: this build does not run under ulimit -v (AddressSanitizer)" >&2
fi
# messages: an empty eval, the wrong-sum hint only for rows that look like raw scores
dict="{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2), }"
len=$(( ${#dict} + 1 )); pad=$(( (64 - (10 + len) % 64) % 64 )); hl=$(( len + pad ))
{
    printf '\223NUMPY\001\000'
    printf "\\$(printf %03o $((hl % 256)))\\$(printf %03o $((hl / 256)))"
    printf '%s' "$dict"
    printf "%${pad}s\n" ""
} >empty.npy
expect_error 2 "eval needs at least one row, and 'empty.npy' has none" eval mean.lf -m A=empty.npy -y y.csv
printf '0.5,0.49\n0.5,0.5\n' >near.csv
expect_error 2 "row 1 of 'near.csv' sums to 0.99, not 1 within 1e-3 (--renormalize divides such rows by their sum)" compare -m A=near.csv -y y.csv
printf '2.5,0.5\n0.5,0.5\n' >far.csv
expect_error 2 "row 1 of 'far.csv' sums to 3, not 1 within 1e-3 (pass --logits for raw scores)" compare -m A=far.csv -y y.csv
printf '1\n' >one_col.csv
expect_ok eval mean.lf -m A=one_col.csv -y one_col.csv
printf '0.5,0.5\n' >one_row.csv
expect_error 2 "row-count mismatch: 'one_row.csv' has 1 row but 'a.csv' has 10" compare -m A=a.csv -m B=one_row.csv -y y.csv
expect_error 2 "'one_col.csv' has 1 label but the model files have 10 rows" compare $M3 -y one_col.csv

head -c 2000 big_a.npy >cut_a.npy
expect_error 2 "truncated data: expected 240000 bytes, found 1872 in 'cut_a.npy'" predict big.lf -m a=cut_a.npy -o x.npy
if [ ! -e x.npy ]; then ok; else bad "a failed predict left x.npy"; fi

# A mapped input that shrinks under the reader.  huge.npy: 8e6 x 3 float32
# raw scores (all bytes '?': 0.747), header by hand, read with --logits'
# softmax: long enough (~0.3 s) to be interrupted.  Whether the truncation
# lands before a chunk's size check (a clean error) or between the check and
# the reads (SIGBUS, caught by the tool), the exit is 2 with a message and
# nothing is left behind; a SIGBUS sent directly takes the handler's path.
rows=8000000
dict="{'descr': '<f4', 'fortran_order': False, 'shape': ($rows, 3), }"
len=$(( ${#dict} + 1 )); pad=$(( (64 - (10 + len) % 64) % 64 )); hl=$(( len + pad ))
{
    printf '\223NUMPY\001\000'
    printf "\\$(printf %03o $((hl % 256)))\\$(printf %03o $((hl / 256)))"
    printf '%s' "$dict"
    printf "%${pad}s\n" ""
    head -c $((rows * 12)) /dev/zero | tr '\0' '?'
} >huge.npy
expect_ok fit -m a=big_a.csv -m b=big_b.csv -y big_y.csv --method mean --logits -o lg.lf
mkdir -p sb
# started_writing: waits (up to 10 s) for the outputs' temporary files, which
# the tool creates just before it installs its SIGBUS handler (both outputs:
# --classes-out's temporary file must go too)
started_writing() {
    i=0
    while [ -z "$(ls sb)" ] && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    sleep 0.02
}
"$LF" predict lg.lf -m a=huge.npy -m b=huge.npy -o sb/x.npy --classes-out sb/c.npy --mmap 2>sb.err &
pid=$!
started_writing
if kill -BUS "$pid" 2>/dev/null; then
    wait "$pid"
    rc=$?
    if [ "$rc" -eq 2 ] && grep -q "^latefuse: an input file shrank while it was being read (it was memory-mapped: without --mmap it is read with read()); nothing was written$" sb.err &&
        [ -z "$(ls sb)" ]; then ok; else bad "SIGBUS: exit $rc, $(cat sb.err), left: $(ls sb)"; fi
else
    wait "$pid"
    bad "predict of huge.npy ended before the SIGBUS: the test file is too small"
fi
# fit and eval read their inputs with read(), never mapped: a SIGBUS sent to
# them is a signal like SIGTERM (exit 128 + 7, "stopped by SIGBUS"), not the
# mapped input's sentence
# (the signal must arrive while the command reads: it is sent once the
# process has huge.npy open or mapped, which is after the handler is
# installed — a fixed delay could hit a slow start, under a sanitizer and
# load, before it; a run can still end first, so up to 5 tries)
for cmd in "fit -m a=huge.npy -m b=huge.npy -y big_y.csv --method mean -o sb/x.lf" \
    "eval lg.lf -m a=huge.npy -m b=huge.npy -y big_y.csv"; do
    caught=0
    for try in 1 2 3 4 5; do
        # shellcheck disable=SC2086
        "$LF" $cmd 2>sb.err &
        pid=$!
        n=0
        while [ "$n" -lt 1000 ] && kill -0 "$pid" 2>/dev/null && ! grep -qs 'huge\.npy' "/proc/$pid/maps" &&
            ! ls -l "/proc/$pid/fd" 2>/dev/null | grep -q 'huge\.npy'; do
            sleep 0.005
            n=$((n + 1))
        done
        if kill -BUS "$pid" 2>/dev/null; then
            wait "$pid"
            rc=$?
            caught=1
            break
        fi
        wait "$pid"
    done
    if [ "$caught" -eq 0 ]; then
        bad "${cmd%% *} of huge.npy ended before the SIGBUS, 5 times"
    elif [ "$rc" -eq 135 ] && grep -q "^latefuse: stopped by SIGBUS; no output was written$" sb.err && [ -z "$(ls sb)" ]; then
        ok
    else
        bad "SIGBUS in ${cmd%% *}: exit $rc, $(cat sb.err), left: $(ls sb)"
    fi
done
# predict maps its inputs with --mmap only: seen in /proc/PID/maps while it
# runs (sampled from the moment huge.npy is open until the run ends)
for how in --no-mmap --mmap; do
    "$LF" predict lg.lf -m a=huge.npy -o sb/x.npy $how >/dev/null 2>sb.err &
    pid=$!
    seen_open=0 seen_mapped=0 n=0
    while [ "$n" -lt 2000 ] && kill -0 "$pid" 2>/dev/null; do
        if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q 'huge\.npy'; then seen_open=1; fi
        if grep -qs 'huge\.npy' "/proc/$pid/maps"; then seen_mapped=1; fi
        n=$((n + 1))
    done
    wait "$pid"
    rc=$?
    rm -f sb/x.npy
    if [ "$how" = --mmap ]; then want=1; else want=0; fi
    if [ "$rc" -eq 0 ] && [ "$seen_open" -eq 1 ] && [ "$seen_mapped" -eq "$want" ]; then
        ok
    else
        bad "predict $how: exit $rc, huge.npy open $seen_open, mapped $seen_mapped (want $want)"
    fi
done
# an input truncated while predict reads it: read() (the default) says so;
# mapped (--mmap), the size check or the SIGBUS handler does
for how in --no-mmap --mmap; do
    cp huge.npy shrink.npy
    "$LF" predict lg.lf -m a=shrink.npy -m b=huge.npy -o sb/x.npy --classes-out sb/c.npy $how 2>sb.err &
    pid=$!
    started_writing
    : >shrink.npy
    wait "$pid"
    rc=$?
    if [ "$how" = --mmap ]; then
        said="\(an input file shrank while it was being read\|cannot read 'shrink.npy': it became shorter while being read\)"
    else
        said="cannot read 'shrink.npy': it became shorter while being read"
    fi
    if [ "$rc" -eq 2 ] && grep -q "^latefuse: $said" sb.err &&
        [ -z "$(ls sb)" ]; then ok; else bad "input truncated while read ($how): exit $rc, $(cat sb.err), left: $(ls sb)"; fi
done
# Interrupted runs leave nothing behind (issue 11): SIGINT, SIGTERM or SIGHUP
# at a random moment of predict (streamed from mapped or read() inputs, or
# whole CSV files), fit or compare, LF_SIGNAL_RUNS times (default 30).  Each
# run ends with exit 0 and no message, or with 128 + the signal and exactly
# the handler's line;
# no temporary file is ever left.  env --default-signal undoes the SIGINT
# that sh ignores in background jobs.
mkdir -p sig
runs=${LF_SIGNAL_RUNS:-30}
i=0 sig_bad=0 stopped=0
while [ "$i" -lt "$runs" ]; do
    case $((i % 5)) in
    0) max=0.6; set -- predict lg.lf -m a=huge.npy -m b=huge.npy -o sig/x.npy --classes-out sig/c.npy ;;
    1) max=0.6; set -- predict lg.lf -m a=huge.npy -o sig/x.npy --mmap --no-fsync ;;
    2) max=0.08; set -- predict cls.lf -m a=cls_a.csv -m b=cls_b.csv -o sig/x.npy --classes-out sig/c.npy ;;
    3) max=0.4; set -- fit -m a=big_a.csv -m b=big_b.csv -y big_y.csv --method mlp -o sig/x.lf ;;
    4) max=0.2; set -- compare -m a=big_a.csv -m b=big_b.csv -y big_y.csv --methods mean,wavg ;;
    esac
    case $((i % 3)) in 0) s=INT n=2 ;; 1) s=TERM n=15 ;; *) s=HUP n=1 ;; esac
    delay=$(awk -v i="$i" -v m="$max" 'BEGIN { srand(i * 7919 + 1); printf "%.3f", rand() * m }')
    # emptied first: a signal that comes before the job's shell opens
    # sig.err (a very short delay) must not leave the last run's message
    : >sig.err
    env --default-signal=INT "$LF" "$@" >/dev/null 2>sig.err &
    pid=$!
    sleep "$delay"
    kill -"$s" "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    left=$(ls sig | grep -F .tmp-)
    if [ "$rc" -eq $((128 + n)) ]; then
        stopped=$((stopped + 1))
        # no line: the signal came before the handler was installed, at the
        # start, when nothing exists yet; "complete": it came while the
        # outputs were being renamed, and acted after
        case $(cat sig.err) in
        "" | "latefuse: stopped by SIG$s; no output was written") [ -z "$(ls sig)" ] || rc=x ;;
        "latefuse: stopped by SIG$s; the outputs were complete and are in place") [ -n "$(ls sig)" ] || rc=x ;;
        *) rc=x ;;
        esac
    elif [ "$rc" -eq 0 ]; then
        [ -s sig.err ] && rc=x
    fi
    if [ "$rc" != 0 ] && [ "$rc" != $((128 + n)) ] || [ -n "$left" ]; then
        sig_bad=$((sig_bad + 1))
        echo "interrupted run $i ($*, SIG$s after ${delay}s): exit $rc, $(cat sig.err), left: $(ls sig)"
    fi
    rm -f sig/*
    i=$((i + 1))
done
if [ "$sig_bad" -eq 0 ] && [ "$stopped" -ge $((runs / 3)) ]; then ok; else bad "interrupted runs: $sig_bad of $runs wrong, $stopped stopped by the signal"; fi
echo "cli: note: $stopped of $runs interrupted runs stopped by the signal, $sig_bad wrong" >&2
# stopped_at WHAT DELAY ARGS...: latefuse ARGS, SIGINT after DELAY seconds;
# passes when it ends with 130, the handler's "no output" line and nothing
# in sig/
stopped_at() {
    what=$1 delay=$2
    shift 2
    : >sig.err
    env --default-signal=INT "$LF" "$@" >/dev/null 2>sig.err &
    pid=$!
    sleep "$delay"
    kill -INT "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    if [ "$rc" -eq 130 ] && [ "$(cat sig.err)" = "latefuse: stopped by SIGINT; no output was written" ] &&
        [ -z "$(ls sig)" ]; then ok; else bad "SIGINT during $what: exit $rc, $(cat sig.err), left: $(ls sig)"; fi
    rm -rf sig/*
}
# report: a signal while the page is computed (compare, here mlp's steps,
# which last about a second after the inputs' 0.05 s) stops the run there,
# with nothing written; it is not held to the end.  (The signals are held
# only while the page's temporary file is created and renamed: the library
# tells the tool about it, as predict's.)
stopped_at "report's computation" 0.2 report -m a=big_a.csv -m b=big_b.csv -y big_y.csv --methods mean,mlp --folds 2 \
    -o sig/r.html
# demo (and the seed and head examples) are guarded as the fusion commands:
# a signal while its classifiers train (about 2 s of the run here) stops it
# with the handler's line and nothing in its folder; before, SIGINT killed it
# silently.  A signal between the report and the --save files says that the
# report is in place (cli_outputs_pending; not timed here: a window of ms).
stopped_at demo 0.5 demo --report sig/r.html --save sig/s
# with the report inside --save's folder, that folder is made before the
# work (its report is checked there first) and goes again with the signal
stopped_at "demo with its report in --save's folder" 0.5 demo --save sig/s --report sig/s/r.html
# the other signals that end a process by default are handled the same way
for sn in QUIT:3 USR1:10 USR2:12 ALRM:14 VTALRM:26 PROF:27; do
    s=${sn%:*} n=${sn#*:}
    : >sig.err
    env --default-signal=INT,QUIT "$LF" fit -m a=big_a.csv -m b=big_b.csv -y big_y.csv --method mlp -o sig/x.lf >/dev/null 2>sig.err &
    pid=$!
    sleep 0.1
    kill -"$s" "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    if [ "$rc" -eq $((128 + n)) ] && [ "$(cat sig.err)" = "latefuse: stopped by SIG$s; no output was written" ] &&
        [ -z "$(ls sig)" ]; then ok; else bad "SIG$s during fit: exit $rc, $(cat sig.err), left: $(ls sig)"; fi
    rm -f sig/*
done
rm -f huge.npy shrink.npy

expect_ok demo
for m in mean product max min median vote borda acc-weighted decision-template stack-lr wavg wavg-class loglinear mlp gate model:image model:text oracle; do
    if grep -q "^$m " out; then ok; else bad "demo table lacks $m"; fi
done
contains out "weights of wavg (sum to 1)" "demo shows wavg's weights"
contains out "weights of wavg-class per model and class" "demo shows wavg-class's weights"

# issue 14's options and explanations: --metric, ges's and DES's settings,
# auto's table of candidates, importance in inspect, every std in --json
expect_error 2 "--metric expects log-loss, accuracy or macro-f1, got 'f1'" fit $M3 -y y.csv --method auto -o a.lf --metric f1
expect_error 2 "--neighbors expects an integer from 1 to 1000, got '0'" compare $M3 -y y.csv --neighbors 0
# compare --metric macro-f1: ges (which optimises log-loss or accuracy) then
# optimises the log-loss, as in auto, instead of failing every fold
expect_ok compare $M3 -y y.csv --methods ges,mean --metric macro-f1 --folds 2
contains out "ges " "compare --metric macro-f1 scores ges"
expect_ok fit $M3 -y y.csv --method auto --folds 2 --epochs 2 -o auto.lf
contains out "(chosen by auto)" "fit auto names the choice"
contains out "auto chose " "fit auto says why"
contains out "auto's best candidates (cross-validated log-loss, mean +- std over folds):" "fit auto shows the candidates"
expect_ok inspect auto.lf
contains out "on the fitting rows: log-loss " "inspect shows the importance"
contains out "with one model missing in every row:" "inspect shows each model's worth"
# auto's ensemble of its best candidates, on the demo's outputs (where it
# beats every single candidate); --single: one candidate
expect_ok demo --save dm --quiet
# its --report is checked before the work: not one of --save's files (exit 2),
# a folder that takes it (exit 1); into --save's folder it goes
cp dm/y_val.npy y_val_copy.npy
expect_error 2 "--report 'dm/y_val.npy' is 'dm/y_val.npy', which --save writes; nothing was written" \
    demo --save dm --report dm/y_val.npy --quiet
if cmp -s dm/y_val.npy y_val_copy.npy; then ok; else bad "demo --report onto a --save file changed it"; fi
expect_error 1 "cannot write --report 'nodir/r.html': the folder 'nodir' does not exist; nothing was read or written" \
    demo --report nodir/r.html --quiet
expect_ok demo --save dm_r --report dm_r/r.html --quiet
# --save's files are all or nothing: a folder in one's place is refused
# before the work; a file that cannot be created (its link leads into a
# missing folder: found only when it is written, the sixth) leaves the old
# files as they were, the link, and no temporary file (the files were
# replaced one by one, the first five new)
mkdir -p dm_f/y_val.npy
expect_error 1 "cannot write --save's 'dm_f/y_val.npy': it is a folder; nothing was written" demo --save dm_f --quiet
if [ "$(ls -A dm_f)" = y_val.npy ]; then ok; else bad "demo --save with y_val.npy a folder left: $(ls -A dm_f)"; fi
rmdir dm_f/y_val.npy
cp dm/y_val.npy dm_f/image_val.npy # not what the demo writes there
ln -s nodir/x.npy dm_f/y_test.npy
run demo --save dm_f --quiet
if [ "$rc" -eq 1 ] && [ "$(cat err)" = "latefuse: cannot create a temporary file beside 'dm_f/y_test.npy': No such \
file or directory" ]; then ok; else bad "demo --save with a link into a missing folder: exit $rc, $(cat err)"; fi
if cmp -s dm/y_val.npy dm_f/image_val.npy && [ -L dm_f/y_test.npy ] &&
    [ "$(ls -A dm_f | tr '\n' ' ')" = "image_val.npy y_test.npy " ]; then ok
else bad "a failed demo --save changed its folder: $(ls -lA dm_f)"; fi
if [ -s dm_r/r.html ] && [ -s dm_r/y_val.npy ]; then ok; else bad "demo --report into --save's folder"; fi
# the demo's page shows the command that makes it again: its seed and file
expect_ok demo --seed 3 --report dm3.html --quiet
contains dm3.html '<pre class="command">latefuse demo --seed 3 --report dm3.html</pre>' "the demo's page names its seed"
DM="-m image=dm/image_val.npy -m text=dm/text_val.npy -y dm/y_val.npy"
expect_ok fit $DM --method auto -o ens.lf
contains out "fitted ensemble (chosen by auto)" "auto keeps its ensemble"
contains out "auto chose an ensemble of " "auto says why"
contains out "(the best candidates' ensemble; nested cross-validation)" "the table has the ensemble's row"
contains out "in the ensemble, weight " "the table marks the members"
expect_ok inspect ens.lf
contains out "method:      ensemble" "inspect names the ensemble"
contains out "members of the ensemble (log-linear pool of their outputs; weights sum to 1):" "inspect shows the members"
contains out "calibrated:  2 of its 5 members (their temperatures below)" "inspect counts the calibrated members"
contains out "    temperatures: image " "inspect shows a calibrated member's temperatures"
expect_ok eval ens.lf -m image=dm/image_test.npy -m text=dm/text_test.npy -y dm/y_test.npy
contains out "accuracy  0.8" "the ensemble evaluates"
# every member of the ensemble is in fit's table of candidates with its
# weight, even one ranked below the ten shown first (auto pools twelve): on
# three models of 10 classes (one row in ten missing) a member ranks 12th
awk 'function rnd() { s = (s * 16807) % 2147483647; return s / 2147483647 }
     function gauss() { return sqrt(-2 * log(rnd() + 1e-12)) * cos(6.283185307179586 * rnd()) }
     BEGIN { s = 12345; N = 600; C = 10
         for (i = 0; i < N; i++) print i % C > "ay.csv"
         for (k = 0; k < 3; k++) for (i = 0; i < N; i++) {
             f = "am" k ".csv"
             if (rnd() < 0.1) { line = "nan"; for (c = 1; c < C; c++) line = line ",nan"; print line > f; continue }
             t = 0
             for (c = 0; c < C; c++) { e[c] = exp(gauss() + (c == i % C ? 1.5 + 0.7 * k : 0)); t += e[c] }
             line = sprintf("%.6g", e[0] / t)
             for (c = 1; c < C; c++) line = line sprintf(",%.6g", e[c] / t)
             print line > f } }'
expect_ok fit -m a=am0.csv -m b=am1.csv -m c=am2.csv -y ay.csv --method auto -o am.lf
marked=$(grep -c "in the ensemble, weight " out)
members=$(sed -n '/^members of the ensemble/,$p' out | grep -c '^  [a-z]')
if [ "$members" -gt 0 ] && [ "$marked" -eq "$members" ]; then ok; else
    bad "fit auto's table marks $marked of the ensemble's $members members: $(cat out)"; fi
expect_ok fit $DM --method auto --single -o one.lf
if grep -q "ensemble" out; then bad "--single: $(head -c 300 out)"; else ok; fi
expect_ok fit --help
contains out "--bags B        ges and auto's ensemble: selections over random halves of the" "fit's help: --bags drives auto's ensemble"
expect_ok fit $M3 -y y.csv --method ges --ensemble-size 7 --metric accuracy -o ges.lf
contains out "weights of ges (sum to 1):" "ges shows its selection shares"
expect_ok fit $M3 -y y.csv --method knora-u --neighbors 3 -o knu.lf
# --threads: the same bytes on 1 thread as on OpenMP's count; out of range refused
DMP="-m image=dm/image_test.npy -m text=dm/text_test.npy"
expect_ok fit $DM --method auto --no-fsync -o thr0.lf
expect_ok fit $DM --method auto --no-fsync --threads 1 -o thr1.lf
if cmp -s thr0.lf thr1.lf; then ok; else bad "fit --threads 1: another file than with OpenMP's count"; fi
expect_ok compare $M3 -y y.csv --json --threads 2
cp out thr2.json
expect_ok compare $M3 -y y.csv --json --threads 1
if cmp -s out thr2.json; then ok; else bad "compare --threads 1 and 2: other tables"; fi
expect_ok predict thr0.lf $DMP --threads 1 --no-fsync -o thr1.npy
expect_ok predict thr0.lf $DMP --no-fsync -o thr0.npy
if cmp -s thr0.npy thr1.npy; then ok; else bad "predict --threads 1: another output"; fi
expect_error 2 "--threads expects an integer from 1 to 1024, got '0'" compare $M3 -y y.csv --threads 0
expect_error 2 "--threads expects an integer from 1 to 1024, got '1025'" fit $M3 -y y.csv --method mean -o t.lf --threads 1025
expect_ok eval thr0.lf $DMP -y dm/y_test.npy --json
cp out ev0.json
for n in 1 2; do
    expect_ok eval thr0.lf $DMP -y dm/y_test.npy --json --threads $n
    if cmp -s out ev0.json; then ok; else bad "eval --threads $n: other numbers"; fi
done
expect_error 2 "--threads expects an integer from 1 to 1024, got '1025'" eval thr0.lf $DMP -y dm/y_test.npy --threads 1025
expect_ok compare $M3 -y y.csv --methods mean,ges --json
for k in macro_f1_std log_loss_std brier_std ece_std '"accuracy_without": {"A": '; do
    contains out "$k" "compare --json carries $k"
done

# dynamic selection in a feature space (--features): test_dynamic's hand
# case (A, B, labels, features x = 0..5 and a constant 7, k = 3).  Query
# 1 at x = 0.6 has the neighbours r1, r0, r2 (the outputs' space: r4, r0,
# r1): knora-u (3 A + 1 B) / 4 = 0.6625; query 2 at x = 4.9: 1.16 / 3.
printf '0.9,0.1\n0.8,0.2\n0.3,0.7\n0.2,0.8\n0.6,0.4\n0.35,0.65\n' >fa.csv
printf '0.6,0.4\n0.3,0.7\n0.7,0.3\n0.2,0.8\n0.4,0.6\n0.35,0.65\n' >fb.csv
printf '0\n0\n1\n1\n1\n0\n' >fy.csv
printf '0,7\n1,7\n2,7\n3,7\n4,7\n5,7\n' >fx.csv
printf '0.7,0.3\n0.4,0.6\n' >qa.csv
printf '0.55,0.45\n0.38,0.62\n' >qb.csv
printf '0.6,7\n4.9,7\n' >qx.csv
printf '1\n1\n' >qy.csv
FM="-m A=fa.csv -m B=fb.csv"
expect_ok fit $FM -y fy.csv --method knora-u --neighbors 3 --features fx.csv -o kf.lf
expect_ok inspect kf.lf
contains out "neighbours:  3 among the rows' features, standardised" "inspect says the space and k"
contains out "features:    2 a row (predict needs --features)" "inspect says the features"
expect_ok inspect knu.lf
contains out "neighbours:  3 among the models' outputs" "inspect says the outputs' space"
expect_ok predict kf.lf -m A=qa.csv -m B=qb.csv --features qx.csv -o kf.npy
got=$(od -An -v -tf4 -j 128 kf.npy | tr -s ' ' '\n' | grep -v '^$' | tr '\n' ' ')
set -- $got
close "$1" 0.6625 1e-6 "knora-u in the feature space, row 1"
close "$3" 0.3866667 1e-6 "knora-u in the feature space, row 2"
expect_ok fit $FM -y fy.csv --method knora-u --neighbors 3 -o kp.lf
expect_ok predict kp.lf -m A=qa.csv -m B=qb.csv -o kp.npy
got=$(od -An -v -tf4 -j 128 kp.npy | tr -s ' ' '\n' | grep -v '^$' | head -n 1)
close "$got" 0.625 1e-6 "knora-u in the outputs' space, row 1"
expect_ok eval kf.lf -m A=qa.csv -m B=qb.csv -y qy.csv --features qx.csv
contains out "accuracy  0.5000" "eval with features"
expect_ok compare $FM -y fy.csv --folds 2 --methods knora-e,mean --features fx.csv --neighbors 2
expect_ok fit $FM -y fy.csv --method auto --folds 2 --epochs 1 --features fx.csv -o kauto.lf
# whatever auto chose, its model takes the features it was fitted with; a
# method that does not search them (as auto may choose) leaves them
expect_ok predict kauto.lf -m A=qa.csv -m B=qb.csv --features qx.csv --no-fsync -o kauto.npy
expect_ok fit $FM -y fy.csv --method mean -o fmean.lf
expect_ok predict fmean.lf -m A=qa.csv -m B=qb.csv --features qx.csv --no-fsync -o fmean1.npy
expect_ok predict fmean.lf -m A=qa.csv -m B=qb.csv --no-fsync -o fmean0.npy
if cmp -s fmean0.npy fmean1.npy; then ok; else bad "mean given --features: another output than without"; fi
printf '0.6,7,1\n4.9,7,1\n' >qx3.csv
printf '0.6,7\n4.9,nan\n' >qxn.csv
printf '0.6,7\n' >qx1.csv
expect_error 2 "'kf.lf' (knora-u) was fitted with 2 features a row: give the rows' features with --features FILE" predict kf.lf -m A=qa.csv -m B=qb.csv -o x.npy
expect_error 2 "'qx3.csv' (--features) has 3 values a row, 'kf.lf' was fitted with 2" predict kf.lf -m A=qa.csv -m B=qb.csv --features qx3.csv -o x.npy
expect_error 2 "row 2 of 'qxn.csv' (--features) holds nan in column 2; features must be finite" predict kf.lf -m A=qa.csv -m B=qb.csv --features qxn.csv -o x.npy
expect_error 2 "the features (1 rows) do not match the model outputs (2 rows)" predict kf.lf -m A=qa.csv -m B=qb.csv --features qx1.csv -o x.npy
expect_error 2 "'kp.lf' (knora-u) was fitted without features: --features 'qx.csv' cannot be used" predict kp.lf -m A=qa.csv -m B=qb.csv --features qx.csv -o x.npy
expect_error 2 "'qx1.csv' (--features) holds 1 rows, the model outputs 2" eval kf.lf -m A=qa.csv -m B=qb.csv -y qy.csv --features qx1.csv
expect_error 2 "mean does not use features: only knora-e, knora-u, ola and lca search a feature space" fit $FM -y fy.csv --method mean --features fx.csv -o x.lf
expect_error 2 "'qx.csv' (--features) holds 2 rows, the model outputs 6" fit $FM -y fy.csv --method knora-e --features qx.csv -o x.lf
expect_error 2 "-o 'fx.csv' is the same file as the features 'fx.csv'; nothing was read or written" predict kf.lf -m A=qa.csv -m B=qb.csv --features fx.csv -o fx.csv
expect_error 2 "'kf.lf' (knora-u) was fitted with 2 features a row: give the rows' features with --features FILE" report $FM -y fy.csv -f kf.lf -o x.html --folds 2
expect_error 2 "'kp.lf' (knora-u) was fitted without features: --features 'fx.csv' cannot be used" report $FM -y fy.csv -f kp.lf --features fx.csv -o x.html --folds 2
# report -f of a model fitted with features: its output on these rows with
# their features (eval's accuracy); without -f they reach dynamic selection only
expect_ok eval kf.lf $FM -y fy.csv --features fx.csv --json
want=$(sed -n 's/.*"accuracy": \([0-9.]*\),.*/\1/p' out)
expect_ok report $FM -y fy.csv -f kf.lf --features fx.csv -o kr.html --folds 2
got=$(sed -n 's/.*<p class="lead">.*accuracy \([0-9.]*\),.*/\1/p' kr.html)
close "$got" "$want" 1e-4 "report -f with features shows the model's output"
expect_ok report $FM -y fy.csv --features fx.csv --methods knora-u,mean -o kr2.html --folds 2 --neighbors 2
contains kr2.html "knora-u" "report with features compares knora-u"
if [ ! -e x.npy ] && [ ! -e x.lf ] && [ ! -e x.html ]; then ok; else bad "a refused run left an output"; fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

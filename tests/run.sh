#!/bin/sh
# Runs every test program of a build folder (and the CLI/Python tests), sums
# their "N passed, N failed" lines and prints the total as the last line.
# Exit status: non-zero if any test failed or any program crashed.
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 2
pass=0; fail=0

# tally NAME RC OUTPUT: adds a test's closing line to the totals; a test
# without one, or a program that crashed (exit > 1), counts as a failure.
tally() {
    name=$1 rc=$2 out=$3
    line=$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ] || [ "$rc" -gt 1 ]; then
        printf '%s\n' "$out" | tail -n 30
        echo "$name: CRASHED (exit $rc)"
        fail=$((fail + 1))
        return
    fi
    [ "$rc" -ne 0 ] && printf '%s\n' "$out" | grep -v ' passed, ' | tail -n 40
    echo "$line"
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
    f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
    pass=$((pass + p)); fail=$((fail + f))
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$(LF_BUILD="$BUILD" "$t" 2>&1); rc=$?
    tally "$(basename "$t")" $rc "$out"
done
for s in tests/*_test.sh; do
    [ -f "$s" ] || continue
    out=$(LF_BUILD="$BUILD" sh "$s" 2>&1); rc=$?
    tally "$s" $rc "$out"
done
echo "total: $pass passed, $fail failed"
[ $fail -eq 0 ]

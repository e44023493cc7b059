#!/bin/sh
# Fault injection (see tests/fault/faults.c): builds the library sources with
# the test's allocation and I/O hooks (-Wl,--wrap) under AddressSanitizer +
# LeakSanitizer and runs every sweep; then the same sources with OpenMP
# (`faults threads`, on 2 and 3 threads), where compare's and auto's folds
# and the members of two ensembles fail on the library's threads; and the
# tool's own runs, its allocations failing (tests/fault/cli_hooks.c).
# Last line: "faults: N passed, N failed" (both builds together).
set -u
cd "$(dirname "$0")/.."
BUILD=${LF_BUILD:-build}
out="$BUILD/tests/faults"
mkdir -p "$BUILD/tests"
CC=${CC:-cc}
wraps="malloc calloc realloc open read fwrite fflush fsync rename mmap pread pwrite"
wl=""
for w in $wraps; do wl="$wl -Wl,--wrap=$w"; done
# the image decoders when pkg-config finds them (as the Makefile does)
img="" imglibs=""
if pkg-config --exists libpng libjpeg 2>/dev/null; then
    img="-DLF_HAVE_PNG -DLF_HAVE_JPEG $(pkg-config --cflags libpng libjpeg)"
    imglibs=$(pkg-config --libs libpng libjpeg)
fi
build() { # build OUTPUT [extra flags]
    o=$1; shift
    if ! $CC -std=c11 -O1 -g -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $img -fsanitize=address -fno-omit-frame-pointer \
         "$@" -o "$o" tests/fault/faults.c src/*.c src/*/*.c $wl $imglibs -lm 2>"$o.log"; then
        cat "$o.log"
        echo "faults: 0 passed, 1 failed"
        exit 1
    fi
}
build "$out"
pass=0 fail=0
omp=1
if ! echo 'int main(void) { return 0; }' | $CC -fopenmp -x c -o "$out-probe" - 2>/dev/null; then
    omp=0
    echo "faults: $CC builds no OpenMP: the sweeps on threads are not run"
    [ "${CI:-}" = true ] && fail=1 && echo "faults: under CI=true OpenMP is required"
else
    build "$out-omp" -fopenmp
fi
rm -f "$out-probe"
run() { # run LABEL COMMAND...: its lines but the totals, which add up
    label=$1; shift
    res=$("$@" 2>&1); rc=$?
    printf '%s\n' "$res" | grep -v '^faults: [0-9]* passed' | sed "s/^/$label/"
    line=$(printf '%s\n' "$res" | grep '^faults: [0-9]* passed' | tail -1)
    if [ -z "$line" ]; then
        fail=$((fail + 1)); echo "${label}faults: no result (exit $rc)"
        return
    fi
    p=$(echo "$line" | sed 's/faults: \([0-9]*\) passed, \([0-9]*\) failed/\1/')
    f=$(echo "$line" | sed 's/faults: \([0-9]*\) passed, \([0-9]*\) failed/\2/')
    pass=$((pass + p)) fail=$((fail + f))
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { fail=$((fail + 1)); echo "${label}exit $rc"; }
}
run "" env ASAN_OPTIONS=detect_leaks=1 "$out"
# The tool itself (tests/fault/cli_hooks.c, built with the library under
# AddressSanitizer): the n-th allocation of a whole run fails, for every n
# until a run meets no fault, in `inspect --all` and `report`.  Each run
# exits 1 with one line on stderr that says out of memory and leaves no
# file, or exits 0 with the whole output: stdout and the page as a run
# without faults writes them (inspect printed no weights, and report's page
# named no command, with exit 0).
case $BUILD in /*) cli=$BUILD/tests/latefuse-faults ;; *) cli=$(pwd)/$BUILD/tests/latefuse-faults ;; esac
if ! $CC -std=c11 -O1 -g -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -Itools -fsanitize=address \
     -fno-omit-frame-pointer -o "$cli" tools/*.c tests/fault/cli_hooks.c src/*.c src/*/*.c \
     -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc -lm 2>"$cli.log"; then
    cat "$cli.log"
    fail=$((fail + 1))
    echo "faults: the tool could not be built with the hooks"
else
    D=$(mktemp -d "${TMPDIR:-/tmp}/lf_cli_faults.XXXXXX")
    # cli_sweep LABEL PAGE ARGS...: PAGE, the file the command writes ("" none)
    cli_sweep() {
        label=$1 page=$2; shift 2
        (cd "$D" && env ASAN_OPTIONS=detect_leaks=1 "$cli" "$@" >ref.out 2>err) && { [ -z "$page" ] || mv "$D/$page" "$D/ref.page"; }
        n=1 bad=0
        while :; do
            rm -f "$D/mark"
            (cd "$D" && env LF_FAULT_ALLOC_AT=$n LF_FAULT_MARK=mark ASAN_OPTIONS=detect_leaks=1:exitcode=86 "$cli" "$@" \
                >out 2>err)
            rc=$?
            [ -e "$D/mark" ] || break
            if [ $rc -eq 0 ]; then
                cmp -s "$D/out" "$D/ref.out" || { bad=$((bad + 1)); echo "$label: fault $n: exit 0, stdout differs"; }
                [ -z "$page" ] || cmp -s "$D/$page" "$D/ref.page" ||
                    { bad=$((bad + 1)); echo "$label: fault $n: exit 0, $page differs"; }
            elif [ $rc -ne 1 ] || [ "$(wc -l <"$D/err")" -ne 1 ] || ! grep -q '^latefuse: .*out of memory' "$D/err"; then
                bad=$((bad + 1)); echo "$label: fault $n: exit $rc, $(head -c 300 "$D/err")"
            elif [ -n "$page" ] && [ -e "$D/$page" ]; then
                bad=$((bad + 1)); echo "$label: fault $n: exit 1, but $page was written"
            fi
            [ -z "$page" ] || rm -f "$D/$page"
            left=$(ls -A "$D" | grep -v '^\(ref\.out\|ref\.page\|out\|err\|mark\|a\.npy\|b\.npy\|y\.npy\|w\.lf\)$')
            [ -z "$left" ] || { bad=$((bad + 1)); echo "$label: fault $n left $left"; rm -f "$D"/*.tmp-*; }
            n=$((n + 1))
        done
        [ $rc -eq 0 ] || { bad=$((bad + 1)); echo "$label: fails without a fault: $(cat "$D/err")"; }
        printf '%-32s %5d faults injected, %s\n' "cli: $label" $((n - 1)) "$([ $bad -eq 0 ] && echo all clean || echo FAILED)"
        if [ $bad -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    }
    # fixtures: demo's outputs (its --save), a wavg-class fusion model
    if (cd "$D" && "$cli" demo --save s --quiet >/dev/null 2>&1) && mv "$D/s/image_val.npy" "$D/a.npy" &&
        mv "$D/s/text_val.npy" "$D/b.npy" && mv "$D/s/y_val.npy" "$D/y.npy" && rm -r "$D/s" &&
        (cd "$D" && "$cli" fit -m a=a.npy -m b=b.npy -y y.npy --method wavg-class -o w.lf --quiet >/dev/null); then
        cli_sweep "inspect --all" "" inspect --all w.lf
        cli_sweep "report" r.html report -m a=a.npy -m b=b.npy -y y.npy --methods mean --folds 2 -o r.html --quiet
    else
        fail=$((fail + 1))
        echo "faults: the tool's fixtures could not be made"
    fi
    rm -rf "$D"
fi
for t in 2 3; do
    [ $omp -eq 1 ] || break
    run "[$t threads] " env ASAN_OPTIONS=detect_leaks=1 OMP_NUM_THREADS=$t "$out-omp" threads
done
echo "faults: $pass passed, $fail failed"

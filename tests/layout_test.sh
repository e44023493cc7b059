#!/bin/sh
# layout_test.sh — the command-line tool and the examples are written
# against the public API only: every #include in tools/ and examples/ names
# latefuse.h, the tool's own cli.h (tools only), the examples' tempfile.h
# (examples only: system headers alone) or a system header <...>,
# nothing under src/ (bench/ may reach internals: it measures them).  And
# the file with main() (tools/latefuse.c) holds main and nothing else: the
# helpers the commands share live in their own files.
# Last line: "layout: N passed, N failed".
ROOT=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

for f in "$ROOT"/tools/*.c "$ROOT"/tools/*.h "$ROOT"/examples/*.c "$ROOT"/examples/*.h; do
    rel=${f#"$ROOT"/}
    # every include line, with its line number
    bad_lines=$(grep -n '^[[:space:]]*#[[:space:]]*include' "$f" |
        grep -v -E '#[[:space:]]*include[[:space:]]*(<[a-z0-9_/]+\.h>|"latefuse\.h")' |
        { case $rel in
            tools/*) grep -v -E '#[[:space:]]*include[[:space:]]*"cli\.h"' ;;
            examples/*) grep -v -E '#[[:space:]]*include[[:space:]]*"tempfile\.h"' ;; # the examples' own, system headers only
            *) cat ;;
            esac; })
    # a system header must not be one of the library's own
    own=$(grep -n -E '#[[:space:]]*include[[:space:]]*<(internal|kernels|model|io/|fusion/|layers/)' "$f")
    if [ -z "$bad_lines$own" ]; then ok; else bad "$rel includes more than the public header: $bad_lines$own"; fi
done

# tools/latefuse.c: one function definition, main
defs=$(grep -c -E '^[a-z].*\)[[:space:]]*\{$' "$ROOT/tools/latefuse.c")
if [ "$defs" -eq 1 ] && grep -q -E '^int main\(' "$ROOT/tools/latefuse.c"; then ok
else bad "tools/latefuse.c defines $defs functions; main only, helpers in their own files"; fi

echo "layout: $pass passed, $fail failed"
[ $fail -eq 0 ]

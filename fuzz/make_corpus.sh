#!/bin/sh
# make_corpus.sh — regenerates the committed seed corpus fuzz/corpus/ from
# scratch: the real model and fusion files with the library
# (make_model_seeds.c, make_fusion_seeds.c, built
# against build/liblatefuse.a), then every hand-made seed with
# make_corpus.py (needs /usr/bin/python3 with numpy).  Run from the
# repository root after `make`.  Only needed when the formats change.
set -eu
BUILD=${BUILD:-build}
rm -rf fuzz/corpus
mkdir -p fuzz/corpus/model "$BUILD/fuzz"
${CC:-cc} -std=c11 -O1 -g -Wall -Wextra -Wpedantic -Iinclude -o "$BUILD/fuzz/make_model_seeds" \
    fuzz/make_model_seeds.c "$BUILD/liblatefuse.a" -lm
"$BUILD/fuzz/make_model_seeds" fuzz/corpus/model
mkdir -p fuzz/corpus/fusion
${CC:-cc} -std=c11 -O1 -g -Wall -Wextra -Wpedantic -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc \
    -o "$BUILD/fuzz/make_fusion_seeds" fuzz/make_fusion_seeds.c "$BUILD/liblatefuse.a" -lm -fopenmp
"$BUILD/fuzz/make_fusion_seeds" fuzz/corpus/fusion
/usr/bin/python3 fuzz/make_corpus.py fuzz/corpus
chmod 644 fuzz/corpus/*/*
du -sh fuzz/corpus

# latefuse — build, test, demo.
#
#   make            library (static + shared) and the `latefuse` tool
#   make test       builds and runs every test (C tests, golden tests, CLI tests);
#                   first runs `make deps` when a package the tests use is missing
#   make demo       runs the main job with no input files
#   make san        the tests under AddressSanitizer + UBSan (CC=gcc or clang)
#   make bench      benchmarks against PyTorch, numpy and scikit-learn (MPI=1: B10,
#                   bench/mpi.sh: 1 against 2 ranks)
#   make python     installs the Python package
#   make fuzz       builds the libFuzzer targets (clang) into build-fuzz/ and
#                   runs each for FUZZ_SECONDS seconds (see fuzz/README.md)
#   make deps       installs the Debian packages the tests need, if missing
#   make install    library, header, tool, man page and pkg-config file under
#                   $(DESTDIR)$(PREFIX) (default /usr/local); make uninstall
#   make MPI=1      the library, tool and examples with MPI (mpicc, -DLF_HAVE_MPI)
#                   in build-mpi/ (see docs/mpi.md); `make test` builds it too
#
# Variables: CC, BUILD (output folder), SAN (e.g. address,undefined), OPT, OMP (-fopenmp;
# empty for a build without threads),
# EXTRA_CFLAGS (e.g. -Werror), FUZZ_CC, FUZZ_SECONDS, FUZZ_JOBS, HAVE_PNG and
# HAVE_JPEG (1/0: with or without the image decoders; found by default),
# PREFIX, DESTDIR, BINDIR, LIBDIR, INCLUDEDIR, MANDIR (make install).

CC      ?= cc
# MPI=1: built with mpicc (Open MPI's wrapper around $(CC) when CC is given)
# and -DLF_HAVE_MPI, into its own folder; the default build needs no MPI.
MPI     ?= 0
MPICC   ?= mpicc
ifeq ($(MPI),1)
BUILD   ?= build-mpi
ifneq ($(origin CC),default)
export OMPI_CC := $(CC)
endif
override CC := $(MPICC)
endif
BUILD   ?= build
OPT     ?= -O3
SAN     ?=
# -fno-math-errno lets sqrt vectorise; it changes no result (no fast-math).
OMP     ?= -fopenmp
# -fvisibility=hidden: the shared library exports what include/latefuse.h
# declares and nothing else (the header says so with a visibility pragma).
CFLAGS_BASE := -std=c11 $(OPT) -g -Wall -Wextra -Wpedantic -Wshadow -fno-math-errno $(OMP) \
               -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -fPIC -fvisibility=hidden
ifneq ($(SAN),)
CFLAGS_BASE += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDSAN := -fsanitize=$(SAN)
endif
# Optional image decoders (src/image/): libpng and libjpeg(-turbo), found
# with pkg-config (Debian: libpng-dev, libjpeg62-turbo-dev; `make deps`).
# HAVE_PNG=0 / HAVE_JPEG=0 build without them (lf_image_* then say so).
ifeq ($(origin HAVE_PNG), undefined)
HAVE_PNG := $(shell pkg-config --exists libpng 2>/dev/null && echo 1 || echo 0)
endif
ifeq ($(origin HAVE_JPEG), undefined)
HAVE_JPEG := $(shell pkg-config --exists libjpeg 2>/dev/null && echo 1 || echo 0)
endif
# zlib (Debian: zlib1g-dev) inflates np.savez_compressed archives
# (src/io/npz.c); HAVE_ZLIB=0 builds without (stored .npz only).
ifeq ($(origin HAVE_ZLIB), undefined)
HAVE_ZLIB := $(shell pkg-config --exists zlib 2>/dev/null && echo 1 || echo 0)
endif
ifeq ($(HAVE_ZLIB),1)
CFLAGS_BASE += -DLF_HAVE_ZLIB $(shell pkg-config --cflags zlib)
IMGLIBS += $(shell pkg-config --libs zlib)
endif
ifeq ($(HAVE_PNG),1)
CFLAGS_BASE += -DLF_HAVE_PNG $(shell pkg-config --cflags libpng)
IMGLIBS += $(shell pkg-config --libs libpng)
endif
ifeq ($(HAVE_JPEG),1)
CFLAGS_BASE += -DLF_HAVE_JPEG $(shell pkg-config --cflags libjpeg)
IMGLIBS += $(shell pkg-config --libs libjpeg)
endif
ifeq ($(MPI),1)
CFLAGS_BASE += -DLF_HAVE_MPI
endif
CFLAGS  := $(CFLAGS_BASE) $(EXTRA_CFLAGS)
# The version is LF_VERSION in include/latefuse.h; the shared library's
# SONAME carries its major number (liblatefuse.so.MAJOR).
VERSION := $(shell sed -n 's/^\#define LF_VERSION "\(.*\)"/\1/p' include/latefuse.h)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
LDLIBS  := $(IMGLIBS) -lm $(OMP) $(LDSAN)

LIB_SRC := $(sort $(wildcard src/*.c src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

.PHONY: all test test-build demo san tsan clean golden deps bench python fuzz fuzz-build fuzz-bins \
        install uninstall mpi-build
all: $(BUILD)/liblatefuse.a $(BUILD)/liblatefuse.so $(BUILD)/latefuse $(EXAMPLE_BIN) \
     $(BUILD)/latefuse.1

$(BUILD)/%.o: %.c include/latefuse.h $(wildcard src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/liblatefuse.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/liblatefuse.so: $(LIB_OBJ) Makefile
	$(CC) -shared -Wl,-soname,liblatefuse.so.$(MAJOR) -o $@ $(LIB_OBJ) $(LDLIBS)

TOOL_SRC := $(sort $(wildcard tools/*.c))
$(BUILD)/latefuse: $(TOOL_SRC) $(wildcard tools/*.h) $(BUILD)/liblatefuse.a
	$(CC) $(CFLAGS) -Itools -o $@ $(TOOL_SRC) $(BUILD)/liblatefuse.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/liblatefuse.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/liblatefuse.a $(LDLIBS)

# The corpus replay test also links the fuzz targets' bodies (no libFuzzer).
$(BUILD)/tests/test_corpus: tests/test_corpus.c tests/check.h fuzz/targets.c fuzz/targets.h tools/args.c tools/cli.h $(BUILD)/liblatefuse.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ifuzz -Itools -o $@ $< fuzz/targets.c tools/args.c $(BUILD)/liblatefuse.a $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(wildcard examples/*.h) $(BUILD)/liblatefuse.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/liblatefuse.a $(LDLIBS)

# The man page, generated from the tool's --help texts.
$(BUILD)/latefuse.1: $(BUILD)/latefuse tools/manpage.sh
	sh tools/manpage.sh $(BUILD)/latefuse > $@.tmp && mv $@.tmp $@

# make install: the usual GNU directory variables; DESTDIR stages the files.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PCDIR      ?= $(LIBDIR)/pkgconfig

# pkg-config file: what a program needs to link the library; Libs.private
# and Requires.private are the extra libraries of a static link.  Written
# by install, for the directories of that install.
define write_pc
	@{ echo 'prefix=$(PREFIX)'; echo 'libdir=$(LIBDIR)'; echo 'includedir=$(INCLUDEDIR)'; echo; \
	  echo 'Name: latefuse'; \
	  echo 'Description: Multimodal late fusion and a Keras-style network engine'; \
	  echo 'Version: $(VERSION)'; \
	  echo 'Cflags: -I$${includedir}'; \
	  echo 'Libs: -L$${libdir} -llatefuse'; \
	  echo 'Libs.private: -lm $(OMP)'; \
	  echo 'Requires.private:$(if $(filter 1,$(HAVE_PNG)), libpng)$(if $(filter 1,$(HAVE_JPEG)), libjpeg)$(if $(filter 1,$(HAVE_ZLIB)), zlib)'; \
	} > $(1)
endef

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PCDIR)
	install -m 755 $(BUILD)/latefuse $(DESTDIR)$(BINDIR)/latefuse
	install -m 644 $(BUILD)/liblatefuse.a $(DESTDIR)$(LIBDIR)/liblatefuse.a
	install -m 755 $(BUILD)/liblatefuse.so $(DESTDIR)$(LIBDIR)/liblatefuse.so.$(VERSION)
	ln -sf liblatefuse.so.$(VERSION) $(DESTDIR)$(LIBDIR)/liblatefuse.so.$(MAJOR)
	ln -sf liblatefuse.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/liblatefuse.so
	install -m 644 include/latefuse.h $(DESTDIR)$(INCLUDEDIR)/latefuse.h
	install -m 644 $(BUILD)/latefuse.1 $(DESTDIR)$(MANDIR)/man1/latefuse.1
	$(call write_pc,$(DESTDIR)$(PCDIR)/latefuse.pc)
	chmod 644 $(DESTDIR)$(PCDIR)/latefuse.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/latefuse $(DESTDIR)$(LIBDIR)/liblatefuse.a \
	    $(DESTDIR)$(LIBDIR)/liblatefuse.so $(DESTDIR)$(LIBDIR)/liblatefuse.so.$(MAJOR) \
	    $(DESTDIR)$(LIBDIR)/liblatefuse.so.$(VERSION) $(DESTDIR)$(INCLUDEDIR)/latefuse.h \
	    $(DESTDIR)$(MANDIR)/man1/latefuse.1 $(DESTDIR)$(PCDIR)/latefuse.pc

# Installs what the tests need (Debian packages), only where missing.
deps:
	@sh tests/deps.sh

# First a quick check of the Debian packages the tests use: when one is
# missing, `make deps` runs (as root) or the missing ones are named.
test:
	@sh tests/deps.sh test
	@$(MAKE) --no-print-directory test-build
	@sh tests/run.sh $(BUILD)

test-build: all $(TEST_BIN) mpi-build

# The MPI variant next to a plain build (tests/mpi_test.sh runs it under
# mpirun): $(BUILD)-mpi, when mpicc is installed (`make deps` installs it).
mpi-build:
ifeq ($(MPI)$(SAN),0)
	@if command -v $(MPICC) >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory all MPI=1 BUILD=$(BUILD)-mpi; \
	else echo "make test: $(MPICC) is missing (make deps installs Open MPI): no MPI build"; fi
else ifeq ($(MPI)$(SAN),1)
	@# `make test MPI=1`: the plain build that mpi_test.sh checks this one against
	@case "$(BUILD)" in *-mpi) $(MAKE) --no-print-directory all MPI=0 BUILD=$(BUILD:-mpi=) ;; esac
endif

demo: all
	./$(BUILD)/latefuse demo

san:
	$(MAKE) test BUILD=build-san-$(notdir $(CC)) SAN=address,undefined OPT=-O1

# The concurrency tests (predict from 8 threads; the cancel flags set from
# another thread) under ThreadSanitizer.  Built
# without OpenMP (libgomp is not instrumented and would report false races)
# and without function multi-versioning (its resolvers run before TSan starts).
# Then compare's and auto's cross-validation on OpenMP threads
# (test_cv_threads) with clang's libomp, whose Archer tool (libomp-14-dev,
# loaded by libomp under TSan) tells TSan what OpenMP synchronises: the run
# fails without it.
tsan:
	$(MAKE) $(BUILD)-tsan/tests/test_edge $(BUILD)-tsan/tests/test_cancel BUILD=$(BUILD)-tsan CC=clang SAN=thread \
	    OMP= OPT=-O1 EXTRA_CFLAGS="$(EXTRA_CFLAGS) -DLF_NO_CLONES"
	./$(BUILD)-tsan/tests/test_edge
	./$(BUILD)-tsan/tests/test_cancel
	$(MAKE) $(BUILD)-tsan-omp/tests/test_cv_threads BUILD=$(BUILD)-tsan-omp CC=clang SAN=thread \
	    OPT=-O1 EXTRA_CFLAGS="$(EXTRA_CFLAGS) -DLF_NO_CLONES"
	ARCHER_OPTIONS=verbose=1 TSAN_OPTIONS=ignore_noninstrumented_modules=1 \
	    ./$(BUILD)-tsan-omp/tests/test_cv_threads >$(BUILD)-tsan-omp/archer.log 2>&1; \
	    st=$$?; cat $(BUILD)-tsan-omp/archer.log; \
	    [ $$st -eq 0 ] && grep -q "^Archer detected" $(BUILD)-tsan-omp/archer.log

# libFuzzer targets: fuzz/fuzz_<name>.c, each run with fuzz/corpus/<name>/
# copied to a scratch folder; crashes are saved in fuzz/crashes/<name>/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_JOBS    ?= 2
FUZZ_TARGETS := $(sort $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c)))
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/targets.c fuzz/targets.h tools/args.c tools/cli.h $(BUILD)/liblatefuse.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ifuzz -Itools -fsanitize=fuzzer -o $@ $< fuzz/targets.c tools/args.c $(BUILD)/liblatefuse.a $(LDLIBS)

fuzz-bins: $(FUZZ_BIN)

fuzz-build:
	$(MAKE) fuzz-bins BUILD=build-fuzz CC=$(FUZZ_CC) SAN=fuzzer-no-link,address,undefined OPT=-O1

fuzz: fuzz-build
	sh fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

# Benchmarks against PyTorch / numpy / scikit-learn (see bench/README.md).
bench: all
	sh tests/deps.sh bench
ifeq ($(MPI),1)
	sh bench/mpi.sh $(BUILD)
else
	sh bench/run.sh $(BUILD)
endif

# Installs the Python package (needs python3-numpy).
python: $(BUILD)/liblatefuse.so
	LATEFUSE_LIB=$(abspath $(BUILD))/liblatefuse.so /usr/bin/python3 -m pip install --no-build-isolation --no-deps --break-system-packages ./python

# Regenerates the committed PyTorch golden files (needs python3-torch) and
# RandomTranslation's, RandomZoom's and RandomRotation's, from Keras 3's numpy backend
# (needs scipy).
golden:
	/usr/bin/python3 tests/make_golden.py tests/golden
	/usr/bin/python3 tests/make_translation_golden.py > tests/translation_golden.h.tmp && \
	  mv tests/translation_golden.h.tmp tests/translation_golden.h
	/usr/bin/python3 tests/make_zoom_golden.py > tests/zoom_golden.h.tmp && \
	  mv tests/zoom_golden.h.tmp tests/zoom_golden.h
	/usr/bin/python3 tests/make_rotation_golden.py > tests/rotation_golden.h.tmp && \
	  mv tests/rotation_golden.h.tmp tests/rotation_golden.h

clean:
	rm -rf build build-*

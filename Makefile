# latefuse — build, test, demo.
#
#   make            library (static + shared) and the `latefuse` tool
#   make test       builds and runs every test (C tests, golden tests, CLI tests)
#   make demo       runs the main job with no input files
#   make san        the tests under AddressSanitizer + UBSan (CC=gcc or clang)
#   make bench      benchmarks against PyTorch, numpy and scikit-learn
#   make python     installs the Python package
#
# Variables: CC, BUILD (output folder), SAN (e.g. address,undefined), OPT.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
CFLAGS_BASE := -std=c11 $(OPT) -g -Wall -Wextra -Wpedantic -Wshadow -Wno-unused-parameter \
               -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -fPIC
ifneq ($(SAN),)
CFLAGS_BASE += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDSAN := -fsanitize=$(SAN)
endif
CFLAGS  := $(CFLAGS_BASE) $(EXTRA_CFLAGS)
LDLIBS  := -lm $(LDSAN)

LIB_SRC := $(sort $(wildcard src/*.c src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

.PHONY: all test demo san clean golden deps bench python
all: $(BUILD)/liblatefuse.a $(BUILD)/liblatefuse.so $(BUILD)/latefuse $(EXAMPLE_BIN)

$(BUILD)/%.o: %.c include/latefuse.h $(wildcard src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/liblatefuse.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/liblatefuse.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

TOOL_SRC := $(sort $(wildcard tools/*.c))
$(BUILD)/latefuse: $(TOOL_SRC) $(wildcard tools/*.h) $(BUILD)/liblatefuse.a
	$(CC) $(CFLAGS) -Itools -o $@ $(TOOL_SRC) $(BUILD)/liblatefuse.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/check.h $(BUILD)/liblatefuse.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/liblatefuse.a $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(BUILD)/liblatefuse.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/liblatefuse.a $(LDLIBS)

# Installs what the tests need (Debian packages), only where missing.
deps:
	@sh tests/deps.sh

test: all $(TEST_BIN)
	@sh tests/run.sh $(BUILD)

demo: all
	./$(BUILD)/latefuse demo

san:
	$(MAKE) test BUILD=build-san-$(notdir $(CC)) SAN=address,undefined OPT=-O1

# Benchmarks against PyTorch / numpy / scikit-learn (see bench/README.md).
bench: all
	sh bench/run.sh $(BUILD)

# Installs the Python package (needs python3-numpy).
python: $(BUILD)/liblatefuse.so
	/usr/bin/python3 -m pip install --no-build-isolation --no-deps --break-system-packages ./python

# Regenerates the committed PyTorch golden files (needs python3-torch).
golden:
	/usr/bin/python3 tests/make_golden.py tests/golden

clean:
	rm -rf build build-*

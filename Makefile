# blonet: the one top-level build.
#
#   make              build libblonet, the programs and the tests
#   make demo         build and run a local three-country mesh end to end and
#                     print what happened (GMS=1: all six countries)
#   make check        build and run every test (unit, golden, integration,
#                     the fault scenarios in their short mode)
#   make faults       build and run the fault and abuse scenarios, full length
#   make bench        build and run the benchmarks (and, where nats-server and
#                     mosquitto install, a comparison with them; not in CI)
#   make fuzz         build the libFuzzer targets with clang, run each 30 s
#   make install      install programs, library, headers and systemd units
#                     (PREFIX, DESTDIR, UNITDIR)
#   make uninstall    remove what install put there
#   make clean        remove build outputs
#
#   SANITIZER=address|undefined   build and test with that sanitizer
#   FUZZ_SECONDS=N                 how long each fuzz target runs (30)
#
# Every target but clean first runs deploy/deps.sh, which installs missing
# dependencies (as root) or says exactly what to install.

PREFIX ?= /usr/local
DESTDIR ?=
# systemd units (deploy/systemd/), their ExecStart paths set to PREFIX.
UNITDIR ?= $(PREFIX)/lib/systemd/system
UNITS := $(wildcard deploy/systemd/*.service)
FUZZ_SECONDS ?= 30

CC ?= cc
SANITIZER ?=

ifeq ($(SANITIZER),)
  SAN_FLAGS :=
  BUILD := build/default
else ifeq ($(SANITIZER),address)
  SAN_FLAGS := -fsanitize=address -fno-omit-frame-pointer
  BUILD := build/address
else ifeq ($(SANITIZER),undefined)
  SAN_FLAGS := -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  BUILD := build/undefined
else
  $(error SANITIZER must be address or undefined, not "$(SANITIZER)")
endif

ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),all)),)
  ifndef BLO_DEPS_CHECKED
    DEPS_RC := $(shell bash deploy/deps.sh >&2; echo $$?)
    ifneq ($(DEPS_RC),0)
      $(error dependencies are missing: see the message above)
    endif
    export BLO_DEPS_CHECKED := 1
  endif
endif

PKGS := libzmq libsodium lmdb libprotobuf-c libcjson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
# The console's full screen needs ncursesw (deps.sh installs it); without it
# blonet-console is built with its line and JSON modes only and says so.
NCURSESW_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null)
ifneq ($(NCURSESW_LIBS),)
  PROG_CFLAGS_blonet-console := -DBLO_HAVE_NCURSESW $(shell pkg-config --cflags ncursesw 2>/dev/null)
  PROG_LIBS_blonet-console := $(NCURSESW_LIBS)
endif

GEN := $(BUILD)/gen
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-format-truncation
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(SAN_FLAGS) -Ilib -I$(GEN) $(PKG_CFLAGS)
CFLAGS_PROJECT := $(BASE_CFLAGS) $(WARN) $(CFLAGS)
# Generated code is not ours to fix: no -Werror there.
CFLAGS_GEN := $(BASE_CFLAGS) -w $(CFLAGS)
LDFLAGS_ALL := $(SAN_FLAGS) $(LDFLAGS)
LIBS := $(PKG_LIBS) -lpthread -lm

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRC)) $(BUILD)/gen/blonet.pb-c.o
LIBA := $(BUILD)/libblonet.a

# Programs: one directory per program under broker/, agents/ and deploy/,
# each with a main.c and any other .c files; the binary is named after the
# directory. The plain build puts them in bin/; a sanitizer build in its own
# folder, so that the two never mix.
ifeq ($(SANITIZER),)
  BINDIR := bin
else
  BINDIR := $(BUILD)/bin
endif
PROG_DIRS := $(patsubst %/main.c,%,$(wildcard broker/*/main.c agents/*/main.c deploy/*/main.c))
PROGS := $(foreach d,$(PROG_DIRS),$(BINDIR)/$(notdir $(d)))
PROBE := $(if $(wildcard tests/integration/probe.c),$(BUILD)/tests/blonet-probe)
# An LD_PRELOAD shim of test_broker_durability (tests/integration/wal_kill.c).
WAL_KILL := $(BUILD)/tests/libwal_kill.so

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCH_BIN := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# Fault-scenario helpers: each tests/fault/NAME.c becomes one program.
FAULT_SRC := $(wildcard tests/fault/*.c)
FAULT_BIN := $(patsubst tests/fault/%.c,$(BUILD)/tests/fault/%,$(FAULT_SRC))

.PHONY: all check demo faults unit bench bench-deps fuzz install uninstall clean
.SECONDARY:

all: $(LIBA) $(PROGS) $(UNIT_BIN) $(PROBE) $(FAULT_BIN) $(WAL_KILL)

# One run of protoc-c writes both files (a grouped target: never twice).
$(GEN)/blonet.pb-c.c $(GEN)/blonet.pb-c.h &: proto/blonet.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -Iproto proto/blonet.proto

$(BUILD)/gen/blonet.pb-c.o: $(GEN)/blonet.pb-c.c
	$(CC) $(CFLAGS_GEN) -c -o $@ $<

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h) $(GEN)/blonet.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_PROJECT) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# Each program links its own directory's sources against libblonet.
define PROG_RULE
$(BINDIR)/$(notdir $(1)): $(wildcard $(1)/*.c) $(wildcard $(1)/*.h) $(LIBA)
	@mkdir -p $(BINDIR)
	$$(CC) $$(CFLAGS_PROJECT) $$(PROG_CFLAGS_$(notdir $(1))) -o $$@ $(wildcard $(1)/*.c) $$(LIBA) \
		$$(LDFLAGS_ALL) $$(LIBS) $$(PROG_LIBS_$(notdir $(1)))
endef
$(foreach d,$(PROG_DIRS),$(eval $(call PROG_RULE,$(d))))

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_PROJECT) $(CMOCKA_CFLAGS) -Itests/unit -o $@ $< $(LIBA) $(LDFLAGS_ALL) $(CMOCKA_LIBS) $(LIBS)

$(PROBE): tests/integration/probe.c tests/integration/test_client.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_PROJECT) -Itests/integration -o $@ $< $(LIBA) $(LDFLAGS_ALL) $(LIBS)

# Without sanitizers: it runs before a sanitized broker's own runtime.
$(WAL_KILL): tests/integration/wal_kill.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $<

$(BUILD)/tests/fault/%: tests/fault/%.c $(wildcard tests/fault/*.h) tests/integration/test_client.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_PROJECT) -Itests/fault -Itests/integration -o $@ $< $(LIBA) $(LDFLAGS_ALL) $(LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(wildcard tests/bench/*.h) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_PROJECT) -o $@ $< $(LIBA) $(LDFLAGS_ALL) $(LIBS)

check: all
	@BLO_SRCDIR=$(CURDIR) BLO_BIN=$(CURDIR)/$(BINDIR) BLO_PROBE=$(CURDIR)/$(PROBE) \
		BLO_FAULT_BIN=$(CURDIR)/$(BUILD)/tests/fault \
		bash tests/run.sh $(UNIT_BIN)

# The demo's default is deploy/topologies/mekong-mini.json with the rules of
# agents/formats; GMS=1 runs the Greater Mekong deployment.
DEMO_ARGS := $(if $(filter-out 0,$(GMS)),--topology deploy/topologies/gms.json \
	--rules-dir deploy/topologies/gms-rules --records 4,--topology \
	deploy/topologies/mekong-mini.json --rules-dir agents/formats)
demo: all
	@$(BINDIR)/blonet-demo $(DEMO_ARGS) $(DEMO_FLAGS)

faults: all
	@BLO_SRCDIR=$(CURDIR) BLO_BIN=$(CURDIR)/$(BINDIR) BLO_PROBE=$(CURDIR)/$(PROBE) \
		BLO_FAULT_BIN=$(CURDIR)/$(BUILD)/tests/fault \
		bash tests/fault/run.sh

# The JetStream / Mosquitto comparison of bench_broker (not part of CI):
# bench-deps (deps.sh --bench) installs the servers and their client
# libraries, best effort; compare_brokers is built only when pkg-config
# finds the libraries, and bench_broker finds it through BLO_COMPARE (empty:
# the comparison is skipped, with a message). Nothing else depends on
# libnats or libmosquitto.
COMPARE_BIN := $(BUILD)/bench/compare_brokers
COMPARE_PKGS := libnats libmosquitto libcjson

$(COMPARE_BIN): tests/bench/compare_brokers.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_PROJECT) $(shell pkg-config --cflags $(COMPARE_PKGS) 2>/dev/null) -o $@ $< \
		$(LDFLAGS_ALL) $(shell pkg-config --libs $(COMPARE_PKGS) 2>/dev/null) -lpthread

bench-deps:
	@bash deploy/deps.sh --bench || true

bench: bench-deps all $(BENCH_BIN)
	@if pkg-config --exists libnats libmosquitto 2>/dev/null; then \
		$(MAKE) --no-print-directory $(COMPARE_BIN) || { rm -f $(COMPARE_BIN); \
			echo "bench: compare_brokers did not build: the comparison is skipped"; }; \
	else \
		echo "bench: libnats or libmosquitto not found by pkg-config: compare_brokers not built"; \
	fi
	@compare=; \
	if pkg-config --exists libnats libmosquitto 2>/dev/null && [ -x $(COMPARE_BIN) ]; then \
		compare=$(CURDIR)/$(COMPARE_BIN); \
	fi; \
	for b in $(BENCH_BIN); do echo "== $$b"; BLO_COMPARE=$$compare $$b || exit 1; done

# libFuzzer needs clang; the library is rebuilt with the fuzzer's
# instrumentation into its own folder.
FUZZ_BUILD := build/fuzz
FUZZ_WARN := $(filter-out -Wno-format-truncation,$(WARN))
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	-Ilib -I$(FUZZ_BUILD)/gen $(PKG_CFLAGS) $(FUZZ_WARN)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
FUZZ_LIB_OBJ := $(patsubst lib/%.c,$(FUZZ_BUILD)/lib/%.o,$(LIB_SRC)) $(FUZZ_BUILD)/gen/blonet.pb-c.o

$(FUZZ_BUILD)/gen/blonet.pb-c.c: proto/blonet.proto
	@mkdir -p $(FUZZ_BUILD)/gen
	protoc-c --c_out=$(FUZZ_BUILD)/gen -Iproto proto/blonet.proto
$(FUZZ_BUILD)/gen/blonet.pb-c.o: $(FUZZ_BUILD)/gen/blonet.pb-c.c
	clang $(filter-out $(FUZZ_WARN),$(FUZZ_CFLAGS)) -w -c -o $@ $<
$(FUZZ_BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h) $(FUZZ_BUILD)/gen/blonet.pb-c.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIB_OBJ)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) $(PKG_LIBS) -lpthread -lm

fuzz: $(FUZZ_BIN)
	@BLO_SRCDIR=$(CURDIR) bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/blonet
	$(if $(PROGS),install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/)
	install -m 0644 $(LIBA) $(DESTDIR)$(PREFIX)/lib/libblonet.a
	install -m 0644 $(filter-out %_int.h,$(wildcard lib/*.h)) $(GEN)/blonet.pb-c.h $(DESTDIR)$(PREFIX)/include/blonet/
	install -d $(DESTDIR)$(UNITDIR)
	for u in $(UNITS); do \
		sed 's#/usr/local/bin/#$(PREFIX)/bin/#g' $$u >$(DESTDIR)$(UNITDIR)/$${u##*/} && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done

uninstall:
	$(if $(PROGS),rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(PROGS))))
	rm -f $(DESTDIR)$(PREFIX)/lib/libblonet.a
	rm -rf $(DESTDIR)$(PREFIX)/include/blonet
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS)))

clean:
	rm -rf build bin

# coco — plain GNU make. `make` builds build/cocod and build/cococtl; `make check` builds again
# with ASan+UBSan under build/san and runs every test; `make demo` shows the main job.

PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
CC ?= cc

PKGS := libsystemd libcurl libetpan libcjson libmicrohttpd inih libcmark libcrypto nettle libwebsockets
# libical and libxml2 are not linked: they are opened on first use (engine/lazylib.h), under
# the SONAME of the library the headers belong to.
LAZY_PKGS := libical libxml-2.0
soname = $(shell objdump -p "$$($(CC) -print-file-name=lib$(1).so 2>/dev/null)" 2>/dev/null | awk '/SONAME/ { print $$2 }')
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(LAZY_PKGS) 2>/dev/null) \
	-DCOCO_LIBICAL_SO='"$(or $(call soname,ical),libical.so.3)"' \
	-DCOCO_LIBXML2_SO='"$(or $(call soname,xml2),libxml2.so.2)"'
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
TEST_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes
# Three layers, each its own library, and includes only go down (docs/architecture.md):
#   engine/      store, spool, schedule, answer, digest, template, config, the channel
#                interface: sees only engine/
#   connectors/  the channels: see engine/ and connectors/
#   daemon/      cocod, the core, cococtl: see all three
# The include path of each layer is what enforces it: a wrong include fails the build.
BASE_CFLAGS := -std=gnu11 -g $(WARN) $(PKG_CFLAGS) \
	-DCOCO_DATADIR='"$(PREFIX)/share/coco"' -DCOCO_SYSCONFDIR='"$(SYSCONFDIR)/coco"'
INC_engine := -Iengine
INC_connectors := -Iengine -Iconnectors
INC_daemon := -Iengine -Iconnectors -Idaemon
INC_ALL := $(INC_daemon)
layer = $(INC_$(firstword $(subst /, ,$(1))))
CFLAGS ?= -O2
# COCO_TEST_HOOKS compiles in the test-only hooks (the store's crash hook, the test clock):
# the sanitized build under build/san has them, the production build/cocod never does.
# float-cast-overflow is not part of GCC's "undefined": (int64_t)1e300 is caught with it.
SAN_FLAGS := -O1 -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined,float-cast-overflow -DCOCO_TEST_HOOKS

CTL_SRC := daemon/cococtl.c $(wildcard daemon/cococtl-*.c)
ENGINE_SRC := $(wildcard engine/*.c)
CONN_SRC := $(wildcard connectors/*.c connectors/*/*.c)
DAEMON_SRC := $(filter-out daemon/main.c $(CTL_SRC),$(wildcard daemon/*.c))
LIB_SRC := $(ENGINE_SRC) $(CONN_SRC) $(DAEMON_SRC)
TEST_SRC := $(wildcard tests/test_*.c)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
BENCH_SRC := $(wildcard bench/*.c)
HDRS := $(wildcard engine/*.h daemon/*.h connectors/*.h connectors/*/*.h)

TESTS := $(TEST_SRC:tests/%.c=build/san/tests/%)
BENCHES := $(BENCH_SRC:bench/%.c=build/bench/%)

# libFuzzer targets (docs/fuzzing.md): clang only. The library is compiled again with
# coverage instrumentation (fuzzer-no-link) into its own object dir; only the targets link
# libFuzzer's main.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
FUZZERS := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)

# The install paths and the flags are compiled in: a change of PREFIX, SYSCONFDIR, CFLAGS or
# SAN_FLAGS rebuilds everything.
FLAGS_STAMP := build/.flags-$(shell printf '%s' '$(PREFIX) $(SYSCONFDIR) $(CFLAGS) $(SAN_FLAGS)' | md5sum | cut -c1-8)

.PHONY: all deps check test demo demo-email bench install clean san fuzz fuzz-build
all: build/cocod build/cococtl

$(FLAGS_STAMP):
	@mkdir -p build; rm -f build/.flags-*; touch $@

deps:
	@bash scripts/deps.sh

build/obj/%.o: %.c $(HDRS) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(call layer,$<) $(CFLAGS) -c $< -o $@

build/san/obj/%.o: %.c $(HDRS) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(call layer,$<) $(SAN_FLAGS) -c $< -o $@

build/fuzz/obj/%.o: %.c $(HDRS) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASE_CFLAGS) $(call layer,$<) $(FUZZ_FLAGS) -c $< -o $@

# One archive per layer; programs link them top layer first.
LAYERS := daemon connectors engine
SRC_daemon := $(DAEMON_SRC)
SRC_connectors := $(CONN_SRC)
SRC_engine := $(ENGINE_SRC)
define layer_libs
$(1)/lib$(2).a: $$(SRC_$(2):%.c=$(1)/obj/%.o)
	@rm -f $$@; ar rcs $$@ $$^
endef
$(foreach d,build build/san build/fuzz,$(foreach l,$(LAYERS),$(eval $(call layer_libs,$(d),$(l)))))
LIBS_build := $(LAYERS:%=build/lib%.a)
LIBS_san := $(LAYERS:%=build/san/lib%.a)
LIBS_fuzz := $(LAYERS:%=build/fuzz/lib%.a)

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz-common.h $(LIBS_fuzz) $(HDRS)
	$(FUZZ_CC) $(BASE_CFLAGS) $(INC_ALL) $(FUZZ_FLAGS) -fsanitize=fuzzer -DCOCO_SRCDIR='"$(CURDIR)"' \
		-o $@ $< $(LIBS_fuzz) $(filter-out -specs=%,$(PKG_LIBS))

build/cocod: build/obj/daemon/main.o $(LIBS_build)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

build/cococtl: $(CTL_SRC:%.c=build/obj/%.o) $(LIBS_build)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

build/san/cocod: build/san/obj/daemon/main.o $(LIBS_san)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

build/san/cococtl: $(CTL_SRC:%.c=build/san/obj/%.o) $(LIBS_san)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

build/san/tests/%: tests/%.c $(LIBS_san) $(HDRS) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(INC_ALL) -Itests $(SAN_FLAGS) -o $@ $< $(LIBS_san) $(PKG_LIBS) $(TEST_LIBS)

build/bench/%: bench/%.c $(LIBS_build) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(INC_ALL) -O2 -DNDEBUG -o $@ $< $(LIBS_build) $(PKG_LIBS)

san: build/san/cocod build/san/cococtl $(TESTS)

fuzz-build: $(FUZZERS)

# `make fuzz FUZZ_SECONDS=N`: every target for N seconds; findings in build/fuzz/findings/.
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@bash fuzz/run.sh $(FUZZ_SECONDS)

# `make check`: install what is missing, build with sanitizers, run every test.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory san
	@$(MAKE) --no-print-directory fuzz-build
	@bash tests/run.sh build/san

# `all` too: a test checks that the production binaries carry no test hook.
test: all san fuzz-build
	@bash tests/run.sh build/san

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

# The email channel on a real Postfix and Dovecot of its own (loopback); needs root.
demo-email: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo-email.sh

# build/bench/parse-diff is a tool (the parser's differential check, docs/performance.md),
# built with the benches and not run by `make bench`.
# Benches written in shell (bench/*.sh but the lib-*.sh they source) run after the programs.
BENCH_SCRIPTS := $(filter-out bench/lib-%,$(wildcard bench/*.sh))
bench: deps
	@$(MAKE) --no-print-directory all $(BENCHES)
	@for b in $(filter-out build/bench/parse-diff,$(BENCHES)); do echo "== $$b"; $$b || exit 1; done
	@for b in $(BENCH_SCRIPTS); do echo "== $$b"; bash $$b || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/coco/templates \
		$(DESTDIR)$(SYSCONFDIR)/coco/campaigns.d $(DESTDIR)$(SYSCONFDIR)/coco/templates
	# Where `cococtl keygen` puts the key the unit passes in (LoadCredential=coco-key:...).
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/coco/secrets
	install -m 0755 build/cocod build/cococtl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(wildcard templates/*.*) $(DESTDIR)$(PREFIX)/share/coco/templates/
	install -d $(DESTDIR)$(PREFIX)/share/coco/templates/web
	install -m 0644 templates/web/* $(DESTDIR)$(PREFIX)/share/coco/templates/web/
	# The example config is installed only where there is none: never over an admin's files.
	[ -e $(DESTDIR)$(SYSCONFDIR)/coco/coco.conf ] || \
		install -m 0644 etc/coco.conf $(DESTDIR)$(SYSCONFDIR)/coco/coco.conf
	[ -n "$$(ls -A $(DESTDIR)$(SYSCONFDIR)/coco/campaigns.d)" ] || \
		install -m 0644 etc/campaigns.d/*.conf $(DESTDIR)$(SYSCONFDIR)/coco/campaigns.d/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@BINDIR@|$(PREFIX)/bin|g' packaging/cocod.service.in \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/cocod.service

clean:
	rm -rf build

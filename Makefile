# microwish -- build, run, test.
#
#   make            build bin/wishd, bin/wishctl, bin/wishbench and the web
#                   apps (clients/web, with vite) into build/web
#   make run        install missing packages, build, start a private
#                   redis-server and wishd with a demo configuration
#   make demo       the same in the background, then a seeded city and a
#                   morning of the four steps told in words (scripts/demo.py;
#                   DEMO_ARGS="--volunteers N --wishes N ..."); ends by itself
#   make test       install missing packages, build, run every test, then
#                   the whole suite again under ASan+UBSan, then the fuzzer
#   make web        the web apps only: npm ci when node_modules is missing
#                   or stale (web-deps), then vite build into build/web when
#                   a source changed; needs node and npm (scripts/deps)
#   make web-deps   npm ci in clients/web (the apps' and the Node test
#                   clients' pinned packages) when node_modules is missing
#                   or stale
#   make check      the test suite only (no package install, no sanitizers);
#                   check-lua: the Lua library's locals and Uses comments
#   make fuzz       a longer libFuzzer run of the frame reader, the method
#                   dispatcher and the HTTP port with its WebSocket reader
#                   (FUZZ_SECONDS each, default 300)
#   make install    PREFIX=/usr/local DESTDIR= (programs, libwishclient,
#                   the systemd unit, wishd.conf.example, man pages, the
#                   web apps in $(PREFIX)/share/microwish/web)
#
# `make SAN=1 ...` builds everything with clang, ASan and UBSan into
# build/asan/ (binaries in build/asan/bin/).

# Every rule is written out here: no built-in rules or suffixes. Without
# this, make spends most of a minute looking for ways to remake each
# header listed in the .d files.
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

PREFIX ?= /usr/local
DESTDIR ?=

ifeq ($(SAN),1)
CC := clang
BUILD ?= build/asan
BIN ?= build/asan/bin
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
OPT := -O1
else
BUILD ?= build/release
BIN ?= bin
SANFLAGS :=
OPT := -O2
endif

# libsystemd: sd_notify(3) for the systemd unit (server/svcnotify.c); a
# no-op where NOTIFY_SOCKET is unset.
# cairo (its PDF surface and FreeType fonts), libqrencode and fontconfig:
# service certificates (server/cert_*.c).
PKGS := libevent libevent_openssl hiredis msgpack libssl libcrypto libargon2 \
        libsystemd cairo cairo-pdf cairo-ft freetype2 fontconfig libqrencode
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# wslay ships no pkg-config file.
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lwslay
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wno-unused-parameter
CFLAGS ?= $(OPT) -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) \
              -I. $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

# ---------------------------------------------------------------- sources

PROTO_SRC := $(wildcard proto/*.c)
MATCHER_SRC := $(wildcard matcher/*.c) $(BUILD)/gen/matcher_lua.c
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
CLIENT_SRC := $(wildcard clients/wishclient/*.c)
WISHCTL_SRC := $(wildcard clients/wishctl/*.c)
WISHBENCH_SRC := $(wildcard clients/wishbench/*.c)
TESTLIB_SRC := $(wildcard tests/lib/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
FAULT_SRC := $(wildcard tests/fault/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(patsubst $(BUILD)/%,%,$(1)))

PROTO_LIB := $(BUILD)/libproto.a
MATCHER_LIB := $(BUILD)/libmatcher.a
SERVER_LIB := $(BUILD)/libserver.a
CLIENT_LIB := $(BUILD)/libwishclient.a
TEST_LIB := $(BUILD)/libtesthelp.a

UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
INTEG_BINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(INTEG_SRC))
FAULT_BINS := $(patsubst tests/fault/%.c,$(BUILD)/tests/%,$(FAULT_SRC))

PROGRAMS := $(BIN)/wishd $(BIN)/wishctl $(BIN)/wishbench

.PHONY: all deps run test check check-unit check-lua check-integration \
        web web-deps node-check docs-screens \
        check-fault check-suites fuzz \
        fuzz-quick install check-install clean bench bench-quick \
        bench-cluster bench-i19 choices-golden
all: $(PROGRAMS) web

# ------------------------------------------------------------------ rules

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The Redis Functions library is embedded in wishd as a C string.
LUA_SRC := $(sort $(wildcard matcher/lua/*.lua))
$(BUILD)/gen/matcher_lua.c: $(LUA_SRC) scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh match_lua_source $(LUA_SRC) > $@

$(PROTO_LIB): $(call obj,$(PROTO_SRC))
$(MATCHER_LIB): $(call obj,$(MATCHER_SRC))
# notify.c turns events into JSON with libwishclient's encoder: its
# object is linked into the server library, not its code copied.
$(SERVER_LIB): $(call obj,$(SERVER_SRC)) \
               $(BUILD)/clients/wishclient/wc_convert.o
$(CLIENT_LIB): $(call obj,$(CLIENT_SRC))
$(TEST_LIB): $(call obj,$(TESTLIB_SRC))
$(BUILD)/%.a:
	@rm -f $@
	ar rcs $@ $^

$(BIN)/wishd: $(BUILD)/server/main.o $(SERVER_LIB) $(MATCHER_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BIN)/wishctl: $(call obj,$(WISHCTL_SRC)) $(CLIENT_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# wishbench sends the exact FCALLs wishd sends: it builds them with
# matcher/call.o and packs wishd's default settings with server/settings.o
# and config.o, as wishd does (nothing else of libserver is linked in but
# metrics_base.o, which config.o checks metrics-allow with), and loads the
# library from libmatcher.
$(BIN)/wishbench: $(call obj,$(WISHBENCH_SRC)) $(CLIENT_LIB) $(SERVER_LIB) \
                  $(MATCHER_LIB) $(PROTO_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# Unit tests of wishd's own modules are named test_wishd_*; the others
# need only proto and the client library.
$(BUILD)/tests/test_wishd_%: $(BUILD)/tests/unit/test_wishd_%.o $(TEST_LIB) \
                  $(SERVER_LIB) $(MATCHER_LIB) $(PROTO_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

# test_metrics is of wishd's metrics module (server/metrics.c) and links
# as the test_wishd_* do.
$(BUILD)/tests/test_metrics: $(BUILD)/tests/unit/test_metrics.o $(TEST_LIB) \
                  $(SERVER_LIB) $(MATCHER_LIB) $(PROTO_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TEST_LIB) $(CLIENT_LIB) \
                  $(PROTO_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

# Integration tests of wishd's Redis Cluster routing (issue 17) check
# server/ modules (keyslot, slotmap, redirect) on a live cluster, so they
# link the server library as the test_wishd_* do.
$(BUILD)/tests/test_cluster_%: $(BUILD)/tests/integration/test_cluster_%.o \
                  $(TEST_LIB) $(SERVER_LIB) $(MATCHER_LIB) $(CLIENT_LIB) \
                  $(PROTO_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

# test_choices (issue 19) loads the library and makes its calls as wishd
# does: the embedded source, matcher/call.o, and wishd's default settings
# packed by server/settings.o, so it links them as the test_cluster_* do.
$(BUILD)/tests/test_choices: $(BUILD)/tests/integration/test_choices.o \
                  $(TEST_LIB) $(SERVER_LIB) $(MATCHER_LIB) $(CLIENT_LIB) \
                  $(PROTO_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/integration/%.o $(TEST_LIB) \
                  $(CLIENT_LIB) $(PROTO_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/fault/%.o $(TEST_LIB) \
                  $(CLIENT_LIB) $(PROTO_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

# ------------------------------------------------------------------ tests

# Integration tests find the binaries under test through WISH_BIN.
check: check-unit check-lua check-suites check-install

check-unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# The Functions library's sources: its top-level locals well under Lua's
# 200, and each file's "Uses:" comment true to what it uses.
check-lua:
	python3 tests/lua_check.py $(LUA_SRC)
	/usr/bin/python3 tests/lua_accounts_smoke.py

# Flow suites that also run on a Redis Cluster (issue 17; docs/cluster.md,
# "Flow suites on a cluster"): matching and the task's life after it.
# Under WISH_TEST_CLUSTER=1 fl_world_start() points every wishd at a
# cluster (one per process, emptied for each test) instead of one Redis,
# the scenario city on master 0, 1, 2 by turns; under WISH_TEST_CLUSTER=2
# each wishd also has a twin and the clients alternate between the two,
# so that events cross daemons. test_integrity reads wishd 0's log, which
# a twin's client would not write: one wishd only. test_claims_race runs
# two wishd of its own already. test_sweeper is left out: its flood
# against the clock timed out on a busy machine with two daemons. Entries
# for tests/run_tests.sh: VARIABLES:BINARY.
CLUSTER_FLOW_BINS := $(addprefix $(BUILD)/tests/,test_matching \
                       test_service test_claims_race test_events_resume \
                       test_integrity)
CLUSTER_TWIN_BINS := $(addprefix $(BUILD)/tests/,test_matching \
                       test_service test_events_resume)
CLUSTER_FLOW_RUNS := $(addprefix WISH_TEST_CLUSTER=1:,$(CLUSTER_FLOW_BINS)) \
                     $(addprefix WISH_TEST_CLUSTER=2:,$(CLUSTER_TWIN_BINS))

# The matcher's choices pinned by test_choices (issue 19): rewrite
# tests/integration/choices.golden after a ranking change that is
# intended and documented (docs/matching.md), and commit it with it.
choices-golden: $(BUILD)/tests/test_choices
	WISH_CHOICES_WRITE=1 $(BUILD)/tests/test_choices

# The integration and fault suites run TEST_JOBS at a time (default: one
# per core) through tests/run_tests.sh, each with its log under
# $(BUILD)/test-logs/. The longest start first, so the runners end
# together: a fresh `make test` takes about half the time it would one
# suite after another. TEST_JOBS=1 runs them one by one.
SUITES_FIRST := $(addprefix $(BUILD)/tests/,test_browser test_authz_matrix \
                  test_faults) $(CLUSTER_FLOW_RUNS) \
                $(addprefix $(BUILD)/tests/,test_wishctl test_web_abuse)
SUITES := $(SUITES_FIRST) \
          $(filter-out $(SUITES_FIRST),$(INTEG_BINS) $(FAULT_BINS))
RUN_TESTS := WISH_BIN=$(abspath $(BIN)) tests/run_tests.sh

check-suites: $(PROGRAMS) $(INTEG_BINS) $(FAULT_BINS) web-deps
	@$(RUN_TESTS) $(BUILD)/test-logs $(SUITES)

check-integration: $(PROGRAMS) $(INTEG_BINS) web-deps
	@$(RUN_TESTS) $(BUILD)/test-logs \
	  $(filter-out $(FAULT_BINS),$(SUITES))

# The web apps (clients/web, docs/apps.md) and the Node test clients
# (tests/integration/web/ws_client.mjs, tests/web/) share one package.json
# and package-lock.json, every version pinned. npm ci installs them when
# node_modules is missing or older than the lock file (npm writes
# node_modules/.package-lock.json on each install); no install script
# runs. vite builds the apps into build/web (WEB_OUT), which wishd serves
# when web-root is unset (docs/operations.md), when any source changed.
WEB_DIR := clients/web
WEB_OUT := build/web
WEB_STAMP := $(WEB_DIR)/node_modules/.package-lock.json
WEB_SRC := $(shell find $(WEB_DIR)/src $(WEB_DIR)/public $(WEB_DIR)/tools \
             -type f 2>/dev/null) $(wildcard $(WEB_DIR)/index.html \
             $(WEB_DIR)/vite.config.js) $(WEB_DIR)/package.json
web: $(WEB_OUT)/index.html
$(WEB_OUT)/index.html: $(WEB_STAMP) $(WEB_SRC)
	@$(MAKE) --no-print-directory node-check
	cd $(WEB_DIR) && npm run --silent build
	@touch $@

web-deps: $(WEB_STAMP)
$(WEB_STAMP): $(WEB_DIR)/package-lock.json $(WEB_DIR)/package.json
	@$(MAKE) --no-print-directory node-check
	cd $(WEB_DIR) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# The screenshots docs/apps.md shows: the browser tests write them
# (build/screens/docs/*.jpg, WISH_BROWSER_ONLY unset: all pages), and
# test_certificate a certificate's first page; this copies them into
# docs/apps/ to be committed with a change of the apps.
docs-screens:
	@test -n "$$(ls build/screens/docs/*.jpg 2>/dev/null)" || { \
	  echo "make: no build/screens/docs/*.jpg: run the browser tests" \
	       "(make check-integration, or build/release/tests/test_browser)" >&2; \
	  exit 1; }
	mkdir -p docs/apps
	cp build/screens/docs/*.jpg docs/apps/
	@# The first page of a service certificate (test_certificate).
	if [ -f build/screens/certificate.png ]; then \
	  cp build/screens/certificate.png docs/apps/; fi

node-check:
	@if ! command -v node >/dev/null 2>&1 || \
	    ! command -v npm >/dev/null 2>&1; then \
	  echo "make: node and npm are needed to build the web apps" \
	       "(clients/web): run scripts/deps (as root, or make deps)" \
	       "first" >&2; \
	  exit 1; \
	fi

# Fault tests: processes killed and restarted under load; bounded in time.
check-fault: $(PROGRAMS) $(FAULT_BINS)
	@$(RUN_TESTS) $(BUILD)/test-logs $(FAULT_BINS)

FUZZ_BIN := build/fuzz/fuzz_proto
FUZZ_DISPATCH_BIN := build/fuzz/fuzz_dispatch
FUZZ_HTTP_BIN := build/fuzz/fuzz_http
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I. $(PKG_CFLAGS) \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(FUZZ_BIN): tests/fuzz/fuzz_proto.c $(PROTO_SRC) proto/proto.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_proto.c $(PROTO_SRC) \
	  $(PKG_LIBS)

# wishd's connections and dispatcher with a store that never connects
# (tests/fuzz/fuzz_dispatch.c): every server module but main.c, and the
# calling convention of the library (matcher/call.c).
FUZZ_SERVER := tests/fuzz/fuzz_server.c tests/fuzz/fuzz_server.h
$(FUZZ_DISPATCH_BIN): tests/fuzz/fuzz_dispatch.c $(FUZZ_SERVER) $(SERVER_SRC) $(PROTO_SRC) \
                      matcher/call.c clients/wishclient/wc_convert.c \
                      $(wildcard server/*.h proto/*.h matcher/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_dispatch.c \
	  tests/fuzz/fuzz_server.c $(SERVER_SRC) \
	  matcher/call.c clients/wishclient/wc_convert.c $(PROTO_SRC) \
	  $(PKG_LIBS)

# The HTTP port (tests/fuzz/fuzz_http.c): evhttp's parser as http.c sets
# it up, the routes, the upgrade, wslay's reader and conn.c's WebSocket
# input, over loopback TCP, with the same modules and store as above.
$(FUZZ_HTTP_BIN): tests/fuzz/fuzz_http.c $(FUZZ_SERVER) $(SERVER_SRC) $(PROTO_SRC) \
                  matcher/call.c clients/wishclient/wc_convert.c \
                  $(wildcard server/*.h proto/*.h matcher/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_http.c \
	  tests/fuzz/fuzz_server.c $(SERVER_SRC) \
	  matcher/call.c clients/wishclient/wc_convert.c $(PROTO_SRC) \
	  $(PKG_LIBS)

# A bounded run for `make test`; the seed corpora are checked in. First
# every file of the three corpora once, as regression tests (libFuzzer runs
# files given by name once each), then a short run of each target.
fuzz-quick: $(FUZZ_BIN) $(FUZZ_DISPATCH_BIN) $(FUZZ_HTTP_BIN)
	@mkdir -p build/fuzz/corpus build/fuzz/corpus_dispatch \
	  build/fuzz/corpus_http
	$(FUZZ_BIN) tests/fuzz/corpus/*
	$(FUZZ_DISPATCH_BIN) tests/fuzz/corpus_dispatch/*
	$(FUZZ_HTTP_BIN) tests/fuzz/corpus_http/*
	$(FUZZ_BIN) -runs=200000 -max_len=4096 build/fuzz/corpus \
	  tests/fuzz/corpus
	$(FUZZ_DISPATCH_BIN) -runs=10000 -max_total_time=30 -max_len=4096 \
	  build/fuzz/corpus_dispatch tests/fuzz/corpus_dispatch
	$(FUZZ_HTTP_BIN) -runs=5000 -max_total_time=20 -max_len=4096 \
	  build/fuzz/corpus_http tests/fuzz/corpus_http

fuzz: $(FUZZ_BIN) $(FUZZ_DISPATCH_BIN) $(FUZZ_HTTP_BIN)
	@mkdir -p build/fuzz/corpus build/fuzz/corpus_dispatch \
	  build/fuzz/corpus_http
	$(FUZZ_BIN) -max_total_time=$${FUZZ_SECONDS:-300} -max_len=70000 \
	  build/fuzz/corpus tests/fuzz/corpus
	$(FUZZ_DISPATCH_BIN) -max_total_time=$${FUZZ_SECONDS:-300} \
	  -max_len=70000 build/fuzz/corpus_dispatch tests/fuzz/corpus_dispatch
	$(FUZZ_HTTP_BIN) -max_total_time=$${FUZZ_SECONDS:-300} \
	  -max_len=16384 build/fuzz/corpus_http tests/fuzz/corpus_http

deps:
	@sh scripts/deps

test: deps
	$(MAKE) all
	$(MAKE) check
	$(MAKE) SAN=1 check
	$(MAKE) fuzz-quick
	@echo "make test: all suites passed"

# Benchmarks (bench/run.sh): private redis-server and wishd, results in
# bench/RESULTS.md. bench-quick: about 20 s of the ceiling and growth.
bench: all
	sh bench/run.sh full

bench-quick: all
	sh bench/run.sh quick

# bench-cluster: section 12 of `make bench` alone (one Redis Cluster
# master against two, about a minute), into bench/RESULTS-cluster.md.
bench-cluster: $(BIN)/wishd $(BIN)/wishbench
	sh bench/run.sh cluster

# bench-i19: issue 19's four timed targets alone, this build against the
# issue's base (BENCH_BASE, default 0248887, built from git archive under
# bench/run/) in one run, into bench/RESULTS-i19.md (10-25 minutes: two
# 1 M cities are seeded). make bench includes the same table.
bench-i19: $(BIN)/wishd $(BIN)/wishbench
	sh bench/run.sh i19

run: deps
	$(MAKE) all
	sh scripts/run-demo.sh

.PHONY: demo
demo: deps
	$(MAKE) all
	sh scripts/run-demo.sh --demo $(DEMO_ARGS)

# libwishclient for other programs: one archive holding the proto objects
# it needs, its header as <microwish/wishclient.h>, and wishclient.pc.
# For operators: the systemd unit (its ExecStart names BINDIR; the unit
# reads /etc/microwish whatever the prefix, as ConfigurationDirectory=
# does), the example config and the man pages. systemd looks in both
# /usr/lib/systemd/system and /usr/local/lib/systemd/system.
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/microwish
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
WEBDIR ?= $(PREFIX)/share/microwish/web
DIST_LIB := $(BUILD)/dist/libwishclient.a
$(DIST_LIB): $(call obj,$(CLIENT_SRC) $(filter-out proto/token.c,$(PROTO_SRC)))
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

install: all $(DIST_LIB)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(INCLUDEDIR)/microwish $(DESTDIR)$(SYSTEMDUNITDIR) \
	  $(DESTDIR)$(DOCDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(DIST_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 clients/wishclient/wishclient.h \
	  $(DESTDIR)$(INCLUDEDIR)/microwish/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	  -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' clients/wishclient/wishclient.pc.in \
	  > $(DESTDIR)$(LIBDIR)/pkgconfig/wishclient.pc
	sed -e 's|@BINDIR@|$(BINDIR)|' server/dist/wishd.service.in \
	  > $(BUILD)/dist/wishd.service
	install -m 644 $(BUILD)/dist/wishd.service $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 644 server/dist/wishd.conf.example $(DESTDIR)$(DOCDIR)/
	install -m 644 docs/man/wishctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 docs/man/wishd.8 $(DESTDIR)$(MANDIR)/man8/
	rm -rf $(DESTDIR)$(WEBDIR)
	install -d $(DESTDIR)$(WEBDIR)
	cp -R $(WEB_OUT)/. $(DESTDIR)$(WEBDIR)/
	chmod -R u=rwX,go=rX $(DESTDIR)$(WEBDIR)

# make install into a temp dir, then programs built against it through
# pkg-config; with the same compiler and sanitizers as this build. Also
# the unit (systemd-analyze verify, when there is one) and the man pages
# (rendered without a warning).
check-install: $(PROGRAMS) $(DIST_LIB)
	MAKE="$(MAKE)" CC="$(CC)" SANFLAGS="$(SANFLAGS)" \
	  sh tests/install/check_install.sh

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

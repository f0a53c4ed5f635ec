# AWTRIX Cloud.  `make` builds the four programs into bin/; `make test` runs
# every test; `make SANITIZE=1` builds the same into bin/ with ASan+UBSan
# (run `make clean` when switching).

VERSION = 0.1.0
PREFIX ?= /usr/local
CC ?= cc

WARN = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
       -Wmissing-prototypes -Wmissing-declarations -Wcast-qual -Wformat=2
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 $(WARN) -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
          -DAWTRIX_VERSION='"$(VERSION)"' -Ilib -MMD -MP
LDLIBS_SODIUM = -lsodium

ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
          -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

B = build
LIB = $(B)/libawtrix.a
LIB_OBJ = $(patsubst %.c,$(B)/%.o,$(wildcard lib/*.c))

BROKER_OBJ = $(patsubst %.c,$(B)/%.o,$(wildcard broker/*.c)) $(B)/broker/schema.o
FCGI_OBJ = $(patsubst %.c,$(B)/%.o,$(wildcard fcgi/*.c))
AGENT_COMMON = device-agent/state.c device-agent/control.c
TOKEN_ONLY = device-agent/token_main.c device-agent/qr.c
AGENT_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out $(TOKEN_ONLY),\
            $(wildcard device-agent/*.c)))
TOKEN_OBJ = $(patsubst %.c,$(B)/%.o,$(TOKEN_ONLY) $(AGENT_COMMON))

PROGS = bin/awtrix-broker bin/awtrix-cloud.fcgi bin/awtrix-agent bin/awtrix-token

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(patsubst tests/unit/%.c,tests/bin/%,$(UNIT_SRC))
TOOL_SRC = $(wildcard tests/tools/*.c) $(wildcard tests/fake-awtrix/*.c)
TOOL_BIN = $(patsubst %.c,tests/bin/%,$(notdir $(TOOL_SRC)))

all: $(PROGS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# sql/schema.sql is compiled into the broker as a C string.
$(B)/broker/schema.c: sql/schema.sql
	@mkdir -p $(dir $@)
	{ echo 'extern const char db_schema_sql[];'; \
	  echo 'const char db_schema_sql[] ='; \
	  sed 's/\\/\\\\/g; s/"/\\"/g; s/^/"/; s/$$/\\n"/' $<; echo ';'; } > $@

$(B)/broker/schema.o: $(B)/broker/schema.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

bin/awtrix-broker: $(BROKER_OBJ) $(LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ -lsqlite3 -lm -lnats -lpthread -lsystemd $(LDLIBS_SODIUM)

bin/awtrix-cloud.fcgi: $(FCGI_OBJ) $(LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ -lfcgi $(LDLIBS_SODIUM) -pthread

bin/awtrix-agent: $(AGENT_OBJ) $(LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ -lcurl -ljson-c $(LDLIBS_SODIUM)

bin/awtrix-token: $(TOKEN_OBJ) $(LIB)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ -lqrencode $(LDLIBS_SODIUM)

# Unit tests (cmocka) and the test tools: fake AWTRIX, link probes, loads.
tests/bin/test_%: tests/unit/test_%.c $(LIB)
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) -lcmocka -ljson-c $(LDLIBS_SODIUM) -pthread

tests/bin/%: tests/tools/%.c $(LIB)
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_SODIUM)

tests/bin/%: tests/fake-awtrix/%.c
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# The benchmarks' agent load tool also plays 2,000 agents in a fault test.
tests/bin/loadagents: bench/loadagents.c bench/benchlib.h $(LIB)
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) -D_GNU_SOURCE $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_SODIUM)

testbin: $(UNIT_BIN) $(TOOL_BIN) tests/bin/loadagents

deps:
	@scripts/deps build

# The whole relay on this machine (see README); DEMO_ONESHOT=1 for scripts,
# DEMO_AWTRIX=2 for a simulated AWTRIX 2 host instead of the AWTRIX 3 clock.
demo:
	@scripts/deps demo
	@$(MAKE) --no-print-directory all tests/bin/fake-awtrix
	@scripts/demo

test:
	@scripts/deps test
	@$(MAKE) --no-print-directory all testbin
	@tests/run

# The request-path and privacy scenarios under valgrind memcheck.
valgrind-test:
	@scripts/deps test
	@$(MAKE) --no-print-directory all testbin
	@VALGRIND=1 tests/run 30-relay 85-privacy

# Every broker benchmark on loopback (bench/run.sh, under 15 min): writes
# bench/results.md, bench/results-raw.txt and bench/*.png; then the
# cross-broker path over NATS (bench/cluster.sh: bench/cluster-results.md).
# End to end through lighttpd and Apache: bench/e2e.sh.
bench: all testbin
	@scripts/deps bench
	@bench/run.sh
	@bench/cluster.sh

# The front end's threads under ThreadSanitizer: the multiplexer's unit
# tests, then 45-fcgi-mux with a TSan build of awtrix-cloud.fcgi (any
# ThreadSanitizer report in a log fails the scenario).
TSAN_OUT = tests/bin/tsan
TSAN_CFLAGS = $(filter-out -MMD -MP -O2,$(CFLAGS)) -O1 -fsanitize=thread
$(TSAN_OUT)/awtrix-cloud.fcgi: $(wildcard fcgi/*.c fcgi/*.h lib/*.c lib/*.h)
	@mkdir -p $(TSAN_OUT)
	$(CC) $(TSAN_CFLAGS) -o $@ $(wildcard fcgi/*.c lib/*.c) -lfcgi \
	    $(LDLIBS_SODIUM) -pthread
$(TSAN_OUT)/test_mux: tests/unit/test_mux.c $(wildcard fcgi/*.c fcgi/*.h lib/*.c lib/*.h)
	@mkdir -p $(TSAN_OUT)
	$(CC) $(TSAN_CFLAGS) -o $@ $< $(wildcard lib/*.c) -lcmocka \
	    $(LDLIBS_SODIUM) -pthread
tsan-test: all testbin $(TSAN_OUT)/awtrix-cloud.fcgi $(TSAN_OUT)/test_mux
	@scripts/deps test
	TSAN_OPTIONS=halt_on_error=1:exitcode=66 $(TSAN_OUT)/test_mux
	@AWTRIX_TEST_FCGI=$(CURDIR)/$(TSAN_OUT)/awtrix-cloud.fcgi \
	    TSAN_OPTIONS=exitcode=66 tests/run 45-fcgi-mux

clean:
	rm -rf $(B) bin tests/bin

.PHONY: all deps demo test testbin valgrind-test tsan-test bench clean
.SECONDARY:

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# `make install [PREFIX=/usr/local] [DESTDIR=]`: the programs (and a copy of
# awtrix-cloud.fcgi in lib/awtrix-cloud/, the directory the web-server
# configurations run it from), sql/, those configurations, the owner's page
# (www/, which they serve at /owner/), the systemd units
# (with @BINDIR@ replaced), the agent's settings (an existing
# /etc/default/awtrix-agent is kept) and the man pages.  Units go to
# /lib/systemd/system when PREFIX=/usr, else under PREFIX.
BINDIR = $(PREFIX)/bin
DATADIR = $(PREFIX)/share/awtrix-cloud
MANDIR = $(PREFIX)/share/man
UNITDIR = $(if $(filter /usr,$(PREFIX)),,$(PREFIX))/lib/systemd/system

install: all
	for p in $(notdir $(PROGS)); do \
	    install -D -m 0755 "bin/$$p" "$(DESTDIR)$(BINDIR)/$$p" || exit 1; done
	install -D -m 0755 bin/awtrix-cloud.fcgi \
	    "$(DESTDIR)$(PREFIX)/lib/awtrix-cloud/awtrix-cloud.fcgi"
	for f in sql/* www/*; do [ ! -f "$$f" ] || \
	    install -D -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/$$f" || exit 1; done
	install -D -m 0644 lighttpd/errors/413.html \
	    "$(DESTDIR)$(DATADIR)/lighttpd/errors/413.html"
	@mkdir -p $(B)/apache $(B)/lighttpd
	for f in apache/*.conf lighttpd/*.conf; do [ ! -f "$$f" ] || { \
	    sed -e 's|/usr/local/lib/awtrix-cloud|$(PREFIX)/lib/awtrix-cloud|g' \
	    -e 's|/usr/local/share/awtrix-cloud|$(DATADIR)|g' \
	    "$$f" >"$(B)/$$f" && \
	    install -D -m 0644 "$(B)/$$f" "$(DESTDIR)$(DATADIR)/$$f"; } || \
	    exit 1; done
	@mkdir -p $(B)/systemd
	for u in systemd/*.service systemd/*.socket; do \
	    sed 's|@BINDIR@|$(BINDIR)|g' "$$u" >"$(B)/$$u" && \
	    install -D -m 0644 "$(B)/$$u" "$(DESTDIR)$(UNITDIR)/$${u#systemd/}" \
	    || exit 1; done
	[ -e "$(DESTDIR)/etc/default/awtrix-agent" ] || install -D -m 0600 \
	    systemd/awtrix-agent.default "$(DESTDIR)/etc/default/awtrix-agent"
	for m in man/*.[18]; do \
	    install -D -m 0644 "$$m" "$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/}" \
	    || exit 1; done

# `make uninstall [PREFIX=/usr/local] [DESTDIR=]`: remove what `make
# install` put there with the same PREFIX, and the directories it made that
# are left empty.  /etc/default/awtrix-agent stays unless it is the one
# installed (unedited): it holds the owner's settings.
uninstall:
	for p in $(notdir $(PROGS)); do rm -f "$(DESTDIR)$(BINDIR)/$$p"; done
	rm -f "$(DESTDIR)$(PREFIX)/lib/awtrix-cloud/awtrix-cloud.fcgi"
	rm -rf "$(DESTDIR)$(DATADIR)"
	for u in systemd/*.service systemd/*.socket; do \
	    rm -f "$(DESTDIR)$(UNITDIR)/$${u#systemd/}"; done
	for m in man/*.[18]; do \
	    rm -f "$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/}"; done
	! cmp -s systemd/awtrix-agent.default \
	    "$(DESTDIR)/etc/default/awtrix-agent" || \
	    rm -f "$(DESTDIR)/etc/default/awtrix-agent"
	-rmdir "$(DESTDIR)$(PREFIX)/lib/awtrix-cloud" 2>/dev/null

# Debian packages (debian/): `make deb` builds awtrix-cloud_*.deb and
# awtrix-agent_*.deb into deb/ with dpkg-buildpackage; `make deb-test`
# also unpacks them into a scratch root and runs lintian on them
# (tests/package/deb.sh), then, as root, installs them for real with dpkg,
# checks, removes and purges them (tests/package/install.sh, which refuses
# to run where they are already installed).  Both need `scripts/deps package`.
deb:
	@scripts/deps package
	@scripts/deb

deb-test: deb
	@{ bash tests/package/deb.sh; bash tests/package/install.sh; } \
	    >build/deb/test.out 2>&1; rc=$$?; \
	    cat build/deb/test.out; [ $$rc = 0 ] && \
	    ! grep -q '^not ok' build/deb/test.out

.PHONY: install uninstall deb deb-test
include tests/fuzz/fuzz.mk

# Signet — build, test, run, bench, install.  See README.md.
.SUFFIXES:

PREFIX  ?= /usr/local
DESTDIR ?=
ifeq ($(origin CC),default)
CC       = cc
endif
PYTHON  ?= /usr/bin/python3
PKGS     = gnutls nettle ldns sqlite3 libcurl libevent liburcu-qsbr
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -levent_pthreads -lhogweed -lgmp -lpthread -lm

WARN    = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CSTD    = -std=c11 -D_GNU_SOURCE -I.
CFLAGS_REL = $(CSTD) $(WARN) -O2 -g -fno-strict-aliasing $(PKG_CFLAGS) $(EXTRA_CFLAGS)
CFLAGS_SAN = $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS_SAN = -fsanitize=address,undefined

LIB_DIRS = dns zones keys dnssec xfr adapters $(wildcard adapters/*/) server server/stages
LIB_SRCS = $(filter-out server/main.c $(EXCLUDE),$(foreach d,$(LIB_DIRS),$(wildcard $(d:/=)/*.c)))
UNIT_SRCS = $(wildcard tests/unit/*/test_*.c tests/unit/*/*/test_*.c)
BENCH_SRCS = $(wildcard bench/*.c)

REL_OBJS = $(LIB_SRCS:%.c=build/obj/%.o)
SAN_OBJS = $(LIB_SRCS:%.c=build/san/obj/%.o)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=build/san/unit/%)
BENCH_BINS = $(BENCH_SRCS:bench/%.c=build/bench/%)

all: build/signetd

deps:
	@sh scripts/deps.sh

build/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -MMD -MP -c $< -o $@

build/san/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) -MMD -MP -c $< -o $@

# The archives are rebuilt when the set of objects changes, not only their dates.
build/.objs: FORCE
	@mkdir -p build
	@echo '$(REL_OBJS)' | cmp -s - $@ || echo '$(REL_OBJS)' > $@

build/san/.objs: FORCE
	@mkdir -p build/san
	@echo '$(SAN_OBJS)' | cmp -s - $@ || echo '$(SAN_OBJS)' > $@

build/libsignet.a: $(REL_OBJS) build/.objs
	@rm -f $@
	ar rcs $@ $(REL_OBJS)

build/san/libsignet.a: $(SAN_OBJS) build/san/.objs
	@rm -f $@
	ar rcs $@ $(SAN_OBJS)

FORCE:

build/signetd: build/obj/server/main.o build/libsignet.a
	$(CC) -o $@ $^ $(PKG_LIBS)

build/san/signetd: build/san/obj/server/main.o build/san/libsignet.a
	$(CC) $(LDFLAGS_SAN) -o $@ $^ $(PKG_LIBS)

build/san/unit/%: tests/unit/%.c build/san/libsignet.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) $(LDFLAGS_SAN) -o $@ $< build/san/libsignet.a $(PKG_LIBS) -lcmocka

build/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O2 -g -o $@ $< -lpthread

san: build/san/signetd $(UNIT_BINS)

# Quality gates: formatting and the include graph of DESIGN.md.
check-format:
	@sh scripts/check-format.sh

check-includes:
	@sh scripts/check-includes.sh

unit: $(UNIT_BINS)
	@sh scripts/run-unit.sh $(UNIT_BINS)

integration: build/signetd build/san/signetd $(BENCH_BINS)
	SIGNETD=$(CURDIR)/build/san/signetd $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

test: deps
	$(MAKE) all san
	$(MAKE) check-format check-includes
	$(MAKE) unit
	$(MAKE) integration

run: deps
	$(MAKE) all
	./build/signetd $(RUN_ARGS)

bench: deps
	$(MAKE) all $(BENCH_BINS)
	$(PYTHON) bench/run.py

fuzz: deps
	@sh scripts/fuzz.sh

install: build/signetd
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/doc/signet \
		$(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 755 build/signetd $(DESTDIR)$(PREFIX)/sbin/signetd
	install -m 644 doc/signetd.8 $(DESTDIR)$(PREFIX)/share/man/man8/signetd.8
	install -m 644 doc/Corefile.5 $(DESTDIR)$(PREFIX)/share/man/man5/Corefile.5
	install -m 644 doc/Corefile.example $(DESTDIR)$(PREFIX)/share/doc/signet/Corefile.example
	sed 's|@SBINDIR@|$(PREFIX)/sbin|' doc/signetd.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/signetd.service

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

.PHONY: FORCE all deps san check-format check-includes unit integration test run bench fuzz install clean

# cpactl - one non-recursive Makefile.
#
#   make            build build/cpactl (developer build: warnings are errors)
#   make deps       install the Debian packages the build, tests and demo need
#   make check      unit tests, docs, then the ASan/UBSan build: unit and end-to-end tests
#   make e2e        the end-to-end tests on the developer build (E2E_JOBS=2 engines)
#   make fuzz       every libFuzzer target for FUZZ_SECONDS (60) each (clang)
#   make fuzz-merge fold what the last runs found into tests/fuzz/corpus/
#   make demo       the main job on a private engine and a fake CPA
#   make install    PREFIX=/usr/local DESTDIR= : binary, man pages, completions
#
# Every library comes through pkg-config.

PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

CC        ?= cc
PKGS      := libcurl jansson yaml-0.1 libarchive libgit2 libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN      := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(RELEASE),1)
WERROR    :=
else
WERROR    := -Werror
endif
CFLAGS    ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(WERROR) -D_GNU_SOURCE $(PKG_CFLAGS) $(CFLAGS)
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

LIB_SRC   := $(sort $(wildcard lib/*.c))
CMD_SRC   := $(sort $(wildcard cmd/*.c))
LIB_HDR   := $(wildcard lib/*.h) $(wildcard cmd/*.h)
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_HELPERS := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))

B         := build
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
CMD_OBJ   := $(CMD_SRC:%.c=$(B)/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

A         := build/asan
ALIB_OBJ  := $(LIB_SRC:%.c=$(A)/%.o)
ACMD_OBJ  := $(CMD_SRC:%.c=$(A)/%.o)
AUNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(A)/tests/%)

# The fuzz build: clang's libFuzzer, the library instrumented for coverage.
F         := build/fuzz
FUZZ_CC   ?= clang
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FLIB_OBJ  := $(LIB_SRC:%.c=$(F)/%.o)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(F)/%)

DEPS_PACKAGES := docker-compose gcc make pkg-config libc6-dev libcurl4-openssl-dev libjansson-dev libyaml-dev \
	libarchive-dev libgit2-dev libssl-dev libcmocka-dev bats docker.io iproute2 iptables \
	curl jq mandoc procps tar python3 zsh fish clang libclang-rt-14-dev openssl \
	docker-registry apache2-utils

.PHONY: all deps check unit e2e unit-asan e2e-asan check-asan fuzz fuzz-merge demo bench install uninstall clean

all: $(B)/cpactl

$(B)/%.o: %.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libcpactl.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/cpactl: $(CMD_OBJ) $(B)/libcpactl.a
	$(CC) $(ALL_CFLAGS) -o $@ $(CMD_OBJ) $(B)/libcpactl.a $(PKG_LIBS) $(LDFLAGS)

# The test helpers (the fake engine, ...) are compiled once, not into each test.
UNIT_HDR  := $(wildcard tests/unit/*.h)
$(UNIT_HELPERS:%.c=$(B)/%.o) $(UNIT_HELPERS:%.c=$(A)/%.o) $(UNIT_BIN) $(AUNIT_BIN): $(UNIT_HDR)
$(B)/tests/%: tests/unit/%.c $(UNIT_HELPERS:%.c=$(B)/%.o) $(B)/libcpactl.a $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(UNIT_HELPERS:%.c=$(B)/%.o) $(B)/libcpactl.a $(PKG_LIBS) -lcmocka -lpthread

# test_cli judges cmd/cli.c itself (how a verb ends), so it links that too.
$(B)/tests/test_cli: tests/unit/test_cli.c $(B)/cmd/cli.o $(UNIT_HELPERS:%.c=$(B)/%.o) $(B)/libcpactl.a $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/cmd/cli.o $(UNIT_HELPERS:%.c=$(B)/%.o) $(B)/libcpactl.a $(PKG_LIBS) -lcmocka -lpthread

# The sanitizer build: same sources, own objects.
$(A)/%.o: %.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(A)/libcpactl.a: $(ALIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(A)/cpactl: $(ACMD_OBJ) $(A)/libcpactl.a
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $(ACMD_OBJ) $(A)/libcpactl.a $(PKG_LIBS)

$(A)/tests/%: tests/unit/%.c $(UNIT_HELPERS:%.c=$(A)/%.o) $(A)/libcpactl.a $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $< $(UNIT_HELPERS:%.c=$(A)/%.o) $(A)/libcpactl.a $(PKG_LIBS) -lcmocka -lpthread

$(A)/tests/test_cli: tests/unit/test_cli.c $(A)/cmd/cli.o $(UNIT_HELPERS:%.c=$(A)/%.o) $(A)/libcpactl.a $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $< $(A)/cmd/cli.o $(UNIT_HELPERS:%.c=$(A)/%.o) $(A)/libcpactl.a $(PKG_LIBS) -lcmocka -lpthread

$(F)/%.o: %.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(F)/libcpactl.a: $(FLIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(F)/fuzz_%: tests/fuzz/fuzz_%.c $(F)/libcpactl.a $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(F)/libcpactl.a $(PKG_LIBS) -lpthread

# Quick when everything is there: dpkg-query answers in milliseconds.
deps:
	@missing=$$(for p in $(DEPS_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: missing packages: $$missing (run 'make deps' as root)" >&2; exit 1; \
		fi; \
		echo "make deps: installing $$missing" >&2; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		case " $$missing " in *" docker-registry "*) \
			systemctl disable --now docker-registry >/dev/null 2>&1 || true ;; \
		esac; \
	fi

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

e2e: $(B)/cpactl
	@CPACTL=$(abspath $(B)/cpactl) bash tests/e2e/run.sh

# The sanitizer build's tests, the way check runs them (check runs the two
# side by side; check-asan one after the other).
unit-asan: $(AUNIT_BIN)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		UNIT_LABEL=unit-asan sh tests/run-unit.sh $(AUNIT_BIN)

# LeakSanitizer's check at exit costs about 50 ms of CPU a run, and the
# end-to-end suite runs cpactl some 700 times on a CPU-bound 2-core machine:
# leaks are checked by the unit tests (test_crash runs every operation whole),
# every other sanitizer check stays on here.
e2e-asan: $(A)/cpactl
	@ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		CPACTL=$(abspath $(A)/cpactl) CPACTL_SUITE=e2e-asan bash tests/e2e/run.sh

check-asan: unit-asan e2e-asan

fuzz: $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_BIN)

fuzz-merge: $(FUZZ_BIN)
	@bash tests/fuzz/run.sh --merge $(FUZZ_BIN)

# The builds of check run on every core: they are a third of its time.
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)

check: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all $(A)/cpactl $(AUNIT_BIN)
	@bash tests/check.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@CPACTL=$(abspath $(B)/cpactl) bash examples/demo.sh

bench: deps all
	@CPACTL=$(abspath $(B)/cpactl) bash bench/discover.sh
	@CPACTL=$(abspath $(B)/cpactl) bash bench/backup.sh

install: $(B)/cpactl
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 $(B)/cpactl $(DESTDIR)$(BINDIR)/cpactl
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	for m in man/*.7; do [ -f "$$m" ] || continue; \
		install -d $(DESTDIR)$(MANDIR)/man7 && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man7/ || exit 1; done
	install -m 0644 completions/cpactl.bash $(DESTDIR)$(BASHCOMPDIR)/cpactl
	install -m 0644 completions/cpactl.zsh $(DESTDIR)$(ZSHCOMPDIR)/_cpactl
	install -m 0644 completions/cpactl.fish $(DESTDIR)$(FISHCOMPDIR)/cpactl.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cpactl $(DESTDIR)$(BASHCOMPDIR)/cpactl \
		$(DESTDIR)$(ZSHCOMPDIR)/_cpactl $(DESTDIR)$(FISHCOMPDIR)/cpactl.fish
	for m in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$$(basename $$m); done
	for m in man/*.7; do [ -f "$$m" ] || continue; rm -f $(DESTDIR)$(MANDIR)/man7/$$(basename $$m); done

clean:
	rm -rf $(B)

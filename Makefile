# tremu: the only build entry.
#   make         build ./tremu and tools
#   make check   build and run every test; ends with `N passed, N failed`
#   make run     build, prepare the default guest, boot it on this terminal
#   make deps    install build dependencies (Debian, as root) or print the command
#   make bench   benchmarks against Debian's QEMU
#   make install PREFIX=DIR   bin/tremu, bin/tremu-img, and bin/qemu-system-x86_64,
#                bin/qemu-img naming them (a QEMU_BUILD_DIR for course scripts)
#   make check-linux  Debian's kernel + busybox on the software CPU (tests/linux/run.sh)

CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -I. -MMD -MP -pthread
LDFLAGS += -pthread
PKGS    := capstone slirp
DEB_PKGS := build-essential pkg-config libcapstone-dev libsdl2-dev libslirp-dev \
            cpio xz-utils bc busybox-static qemu-system-x86 qemu-utils acpica-tools zlib1g-dev

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS += $(PKG_CFLAGS)
LDLIBS += $(PKG_LIBS) -lm -lz

LIB_SRCS := $(wildcard cpu/*.c accel/*.c accel/jit/*.c hw/*.c block/*.c net/*.c fs/*.c) \
            $(filter-out ui/main.c,$(wildcard ui/*.c))
LIB_OBJS := $(LIB_SRCS:.c=.o)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:.c=.o)

CACHE ?= $(HOME)/.cache/tremu

.PHONY: install all check check-unit check-guests check-linux check-lab run deps bench clean guest test-guests
all: tremu tools/tremu-img test-guests

%.o: %.c
	@echo "  CC      $@"
	@$(CC) $(CFLAGS) -c -o $@ $<

libtremu.a: $(LIB_OBJS)
	@rm -f $@
	@$(AR) rcs $@ $^

tremu: ui/main.o libtremu.a
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tools/tremu-img: tools/tremu-img.o libtremu.a
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/run-unit: $(UNIT_OBJS) libtremu.a
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test guests (assembly, built with the system toolchain).
test-guests:
	@$(MAKE) -s -C tests/guests

check: tremu tools/tremu-img tests/unit/run-unit test-guests guest
	@sh tests/check.sh

# The course's lab machine end to end under tcg (builds the image when missing).
check-lab: tremu tools/tremu-img
	@bash tests/lab/run.sh "$(CACHE)/lab"

check-unit: tests/unit/run-unit
	tests/unit/run-unit

guest:
	@sh tests/guest/mkguest.sh "$(CACHE)/guest"

run: tremu guest
	./tremu -m 512 -kernel "$(CACHE)/guest/vmlinuz" -initrd "$(CACHE)/guest/initramfs.cpio.gz" \
		-append "console=ttyS0" -nographic

# Debian's kernel and busybox on the software CPU, against the host and QEMU.
check-linux: tremu guest
	@bash tests/linux/run.sh

bench: tremu guest
	@bash tests/bench/bench.sh

deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PKGS); \
	else \
		echo "run as root: apt-get install -y $(DEB_PKGS)"; \
	fi

PREFIX ?= /usr/local
install: tremu tools/tremu-img
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 755 tremu "$(DESTDIR)$(PREFIX)/bin/tremu"
	install -m 755 tools/tremu-img "$(DESTDIR)$(PREFIX)/bin/tremu-img"
	ln -sf tremu "$(DESTDIR)$(PREFIX)/bin/qemu-system-x86_64"
	ln -sf tremu-img "$(DESTDIR)$(PREFIX)/bin/qemu-img"

clean:
	rm -f tremu tools/tremu-img tools/tremu-img.o tools/tremu-img.d libtremu.a tests/unit/run-unit $(LIB_OBJS) $(UNIT_OBJS) ui/main.o \
		$(LIB_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) ui/main.d
	@$(MAKE) -s -C tests/guests clean

-include $(LIB_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) ui/main.d tools/tremu-img.d

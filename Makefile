# tremu: the only build entry.
#   make         build ./tremu and tools
#   make check   build and run every test; ends with `N passed, N failed`
#   make run     build, prepare the default guest, boot it on this terminal
#   make deps    install build dependencies (Debian, as root) or print the command
#   make bench   benchmarks against Debian's QEMU
#   make report  the cost report for teachers (REPORT_DIR, build/report):
#                microbenchmark guest, boot, workload under every engine
#   make install PREFIX=DIR   bin/tremu, bin/tremu-img, and bin/qemu-system-x86_64,
#                bin/qemu-img naming them (a QEMU_BUILD_DIR for course scripts)
#   make check-linux  Debian's kernel + busybox on the software CPU (tests/linux/run.sh)
#   make check-crash  20 SIGKILLs of a guest writing to a qcow2 overlay (make check runs 5)
#   make fuzz    libFuzzer harnesses (clang, ASan+UBSan), each FUZZ_SECONDS (60)
#   make fuzz-short   the same, a few seconds each (CI), plus sanitizer runs of ./tremu

CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -I. -MMD -MP -pthread
LDFLAGS += -pthread
PKGS    := capstone slirp
# What a fresh Debian 12 needs for make, make check and make check-lab:
# python3 (test ports and servers), zstd (kernel payloads), openssh-client,
# e2fsprogs and debootstrap (the lab image and its ssh test), time (make bench),
# gnuplot-nox (make report's plots; without it the report has tables only).
DEB_PKGS := build-essential pkg-config libcapstone-dev libsdl2-dev libslirp-dev \
            cpio xz-utils zstd bc busybox-static qemu-system-x86 qemu-utils acpica-tools zlib1g-dev \
            python3 openssh-client e2fsprogs debootstrap time libvncserver-dev seabios xvfb \
            grub-pc-bin grub-common clang libclang-rt-dev gnuplot-nox
# Displays are optional: without the library the build says so and leaves
# that display out (-vnc / -display sdl then explain why they fail).
ifeq ($(shell pkg-config --exists libvncserver && echo y),y)
PKGS    += libvncserver
CFLAGS  += -DCONFIG_VNC
DISPLAY_TESTS := tests/display/vncclient
else
$(info tremu: libvncserver-dev not found: building without VNC (make deps installs it))
endif
ifeq ($(shell pkg-config --exists sdl2 && echo y),y)
PKGS    += sdl2
CFLAGS  += -DCONFIG_SDL
ifeq ($(shell pkg-config --exists x11 && echo y),y)
DISPLAY_TESTS += tests/display/xclose
endif
else
$(info tremu: libsdl2-dev not found: building without the SDL window)
endif
# Where the default firmware (SeaBIOS's bios-256k.bin) is found: roms/README.md.
SEABIOS_DIR ?= /usr/share/seabios
CFLAGS  += -DTREMU_FIRMWARE_DIR='"$(SEABIOS_DIR)"'

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS += $(PKG_CFLAGS)
LDLIBS += $(PKG_LIBS) -lm -lz

LIB_SRCS := $(wildcard cpu/*.c cpu/jit/*.c accel/*.c accel/jit/*.c hw/*.c block/*.c net/*.c fs/*.c) \
            $(filter-out ui/main.c,$(wildcard ui/*.c))
LIB_OBJS := $(LIB_SRCS:.c=.o)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:.c=.o)

CACHE ?= $(HOME)/.cache/tremu

.PHONY: fuzz fuzz-short fuzz-build check-crash
.PHONY: report
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

# The VNC viewer the display suite drives (libvncclient comes with libvncserver-dev).
tests/display/vncclient: tests/display/vncclient.c libtremu.a
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< libtremu.a $(LDLIBS) -lvncclient

# Closes the SDL window under Xvfb as a window manager would.
tests/display/xclose: tests/display/xclose.c
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $$(pkg-config --libs x11)

# Test guests (assembly, built with the system toolchain).
test-guests:
	@$(MAKE) -s -C tests/guests

check: tremu tools/tremu-img tests/unit/run-unit test-guests guest $(DISPLAY_TESTS)
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

# The cost report (tools/tremu-report, docs/teaching.md).
REPORT_DIR ?= build/report
report: tremu test-guests guest
	@bash tools/tremu-report "$(REPORT_DIR)"

# Crash consistency: the guest writes and syncs, tremu is killed (tests/suites/crash.sh).
check-crash: tremu tools/tremu-img guest
	@CRASH_RUNS=$${CRASH_RUNS:-20} sh tests/suites/crash.sh

# Sanitizer builds (tests/fuzz/README.md): the library once more with clang,
# ASan+UBSan and fuzzer coverage, in build-san/; the harnesses link it with
# libFuzzer, and build-san/tremu is the emulator under the same sanitizers.
SAN_DIR    := build-san
SAN_CC     ?= clang
SAN_FLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_CFLAGS := $(filter-out -O2 -O1 -O0 -Werror,$(CFLAGS)) $(SAN_FLAGS) -fsanitize=fuzzer-no-link
SAN_OBJS   := $(addprefix $(SAN_DIR)/,$(LIB_OBJS))
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(SAN_DIR)/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60

$(SAN_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  SAN-CC  $@"
	@$(SAN_CC) $(SAN_CFLAGS) -c -o $@ $<

$(SAN_DIR)/libtremu.a: $(SAN_OBJS)
	@rm -f $@
	@$(AR) rcs $@ $^

$(SAN_DIR)/tremu: $(SAN_DIR)/ui/main.o $(SAN_DIR)/libtremu.a
	@echo "  LINK    $@"
	@$(SAN_CC) $(LDFLAGS) $(SAN_FLAGS) -fsanitize=fuzzer-no-link -o $@ $^ $(LDLIBS)

$(SAN_DIR)/tremu-img: $(SAN_DIR)/tools/tremu-img.o $(SAN_DIR)/libtremu.a
	@echo "  LINK    $@"
	@$(SAN_CC) $(LDFLAGS) $(SAN_FLAGS) -fsanitize=fuzzer-no-link -o $@ $^ $(LDLIBS)

$(SAN_DIR)/fuzz_%: $(SAN_DIR)/tests/fuzz/fuzz_%.o $(SAN_DIR)/libtremu.a
	@echo "  LINK    $@"
	@$(SAN_CC) $(LDFLAGS) $(SAN_FLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BINS) $(SAN_DIR)/tremu $(SAN_DIR)/tremu-img

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-short: fuzz-build
	@sh tests/fuzz/run.sh 5

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
	rm -f tremu tools/tremu-img tools/tremu-img.o tools/tremu-img.d libtremu.a tests/unit/run-unit tests/display/vncclient tests/display/vncclient.d tests/display/xclose tests/display/xclose.d $(LIB_OBJS) $(UNIT_OBJS) ui/main.o \
		$(LIB_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) ui/main.d
	@$(MAKE) -s -C tests/guests clean
	rm -rf $(SAN_DIR)

-include $(LIB_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) ui/main.d tools/tremu-img.d
-include $(SAN_OBJS:.o=.d)

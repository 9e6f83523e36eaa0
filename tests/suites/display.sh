#!/bin/sh
# The screen: -vga std, -screendump, the VNC server and the SDL window.
#
# What it proves: bad display options stop tremu with a clear message; the
# screendump at exit writes a PNG of the adapter's screen and a text dump;
# a real VNC viewer (tests/display/vncclient, libvncclient) connecting over
# TCP reads the kernel's console and the shell prompt from the framebuffer
# (matching cells against the VGA BIOS font), types a command whose output
# then appears, and the guest powers off when told through the keyboard; a
# Unix-socket server with password=on refuses a wrong password and accepts
# the right one; an address-less -vnc listens on 127.0.0.1 only; under
# Xvfb the default display is an SDL window titled with machine and engine.
# Ports are found free at run time, never fixed.
#
# Needs: the default guest (make guest), Debian's seabios (the VGA BIOS
# font), libvncserver-dev for the VNC parts and xvfb + x11-utils for SDL;
# each part without what it needs is skipped with a message.
# DISPLAY_TIMEOUT (default 300) bounds each wait for the guest, in seconds;
# DISPLAY_ONLY=cli,vnc,mon,drm,tablet,sdl (comma-separated) runs only those parts.
# tablet: -device usb-tablet becomes a virtio tablet; Linux's virtio_input
# (Debian's module) reads a VNC viewer's click as ABS_X/ABS_Y events on
# /dev/input/event*, at the clicked spot scaled to 0..32767.
# mon: the monitor's screendump (PPM by default, -f png), change vnc password
# (prompted) and set_password vnc, checked with the viewer; info display's
# frame counter stays 0 until a viewer connects (nobody looks: no rendering).
cd "$(dirname "$0")/../.." || exit 1
T=./tremu
C=tests/display/vncclient
G=${CACHE:-$HOME/.cache/tremu}/guest
TO=${DISPLAY_TIMEOUT:-300}
ONLY=${DISPLAY_ONLY:-cli,vnc,mon,drm,tablet,sdl}
want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
pass=0; fail=0; skip=0
tmp=$(mktemp -d)
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

ok()    { pass=$((pass + 1)); echo "ok $1"; }
notok() { fail=$((fail + 1)); echo "not ok $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/    /'; done; }
skipt() { skip=$((skip + 1)); echo "skip $1 ($2)"; }
finish() {
    echo "display: $pass passed, $fail failed$([ $skip -gt 0 ] && echo ", $skip skipped")"
    [ "$fail" -eq 0 ]
    exit
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

[ -x $T ] || { notok "tremu built" "run make"; finish; }

# ---- command line ----
ROM=tests/guests/build/debugexit.bin
DX="-accel tcg -display none -nodefaults -device isa-debug-exit,iobase=0xf4,iosize=0x04 -bios $ROM"
bad() {
    name=$1; pat=$2; shift 2
    timeout 30 $T "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 85 ] && [ $rc -ne 124 ] && grep -q -- "$pat" "$tmp/err"; then
        ok "$name"
    else
        notok "$name" "exit $rc; stderr: $(head -c 300 "$tmp/err")"
    fi
}
if want cli; then
bad vga_unknown     "only 'std'"          $DX -vga cirrus
bad vnc_bad_display "display number"      $DX -vnc 127.0.0.1:70000
bad vnc_no_colon    "expected \[HOST\]"   $DX -vnc localhost
bad vnc_bad_option  "unknown option 'tls" $DX -vnc :1,tls=on
bad display_unknown "use none, sdl"       $DX -display gtk

if [ ! -f $ROM ]; then
    skipt screendump_png "$ROM not built (make test-guests)"
else
    # The ROM exits at once; the adapter still shows the BIOS's text mode.
    timeout 60 $T $DX -vga std -screendump "$tmp/s.png" >/dev/null 2>"$tmp/err"; rc=$?
    dims=$(python3 -c 'import sys,struct; d=open(sys.argv[1],"rb").read(); print("%dx%d" % struct.unpack(">II", d[16:24]) if d[:8]==b"\x89PNG\r\n\x1a\n" and d[12:16]==b"IHDR" else "bad")' "$tmp/s.png" 2>/dev/null)
    if [ "$dims" = 720x400 ]; then ok screendump_png; else notok screendump_png "exit $rc, png: ${dims:-none}" "$(cat "$tmp/err")"; fi
    timeout 60 $T $DX -vga none -screendump "$tmp/n.png" >/dev/null 2>"$tmp/err"
    if grep -q "no VGA" "$tmp/err" && [ ! -e "$tmp/n.png" ]; then ok screendump_without_vga; else notok screendump_without_vga "$(cat "$tmp/err")"; fi
fi
fi

if [ ! -s "$G/vmlinuz" ] || [ ! -s "$G/initramfs.cpio.gz" ]; then
    skipt guest_screen "no default guest in $G (make guest)"
    finish
fi
if [ ! -r /usr/share/seabios/vgabios-stdvga.bin ] && [ -z "$TREMU_VGABIOS" ]; then
    skipt guest_screen "no VGA BIOS font (apt-get install seabios)"
    finish
fi
LINUX="-m 256 -kernel $G/vmlinuz -initrd $G/initramfs.cpio.gz"
# A guest the test talks to through VNC or the monitor stays up until the
# test kills it: without a command the busybox init powers off as soon as
# its console shell cannot start (-serial none), which on a fast host came
# before the last VNC login of the monitor part.
STAY="tremu.cmd=sleep 3600"

# wait_exit PID SECS: the process ended within SECS; its status in $rc.
wait_exit() {
    n=0
    while kill -0 "$1" 2>/dev/null && [ $n -lt "$2" ]; do sleep 1; n=$((n + 1)); done
    if kill -0 "$1" 2>/dev/null; then kill "$1"; wait "$1" 2>/dev/null; rc=timeout; return 1; fi
    wait "$1"; rc=$?
    return 0
}

# ---- VNC over TCP: read the console, type a command, power off ----
if ! want vnc; then
    :
elif [ ! -x $C ]; then
    skipt vnc "tests/display/vncclient not built (libvncserver-dev missing?)"
elif ! $T -vnc :0 -h >/dev/null 2>&1; then
    skipt vnc "tremu built without VNC"
else
    port=$(free_port)
    $T $LINUX -append "console=ttyS0 console=tty0" -vnc "127.0.0.1:$((port - 5900))" \
        -serial "file:$tmp/serial1" -screendump "$tmp/end.txt" >"$tmp/t1.out" 2>&1 </dev/null &
    tp=$!; pids="$pids $tp"
    n=0; while ! $C "127.0.0.1:$port" size >"$tmp/size" 2>/dev/null && [ $n -lt 30 ]; do sleep 1; n=$((n + 1)); done
    if [ "$(cat "$tmp/size")" = 720x400 ]; then ok vnc_connect_text_mode; else notok vnc_connect_text_mode "size: $(cat "$tmp/size")" "$(cat "$tmp/t1.out")"; fi
    if $C "127.0.0.1:$port" wait "Run /init as init process" "$TO" wait "TREMU-BOOT-OK" 60 2>"$tmp/c1.err"; then
        ok vnc_console_shows_boot
    else
        notok vnc_console_shows_boot "$(tail -30 "$tmp/c1.err")"
    fi
    # The shell on tty0 reads what the viewer types (RFB keysyms → PS/2).
    if $C "127.0.0.1:$port" wait "/ #" 120 type 'echo $((6*7))vnc-OK
' wait "42vnc-OK" 60 2>"$tmp/c2.err"; then
        ok vnc_typed_command_runs
    else
        notok vnc_typed_command_runs "$(tail -30 "$tmp/c2.err")"
    fi
    $C "127.0.0.1:$port" type 'poweroff -f
' 2>/dev/null
    if wait_exit $tp 120 && [ "$rc" = 0 ]; then ok vnc_poweroff_from_keyboard; else notok vnc_poweroff_from_keyboard "exit: $rc" "$(cat "$tmp/t1.out")"; fi
    if grep -q "42vnc-OK" "$tmp/end.txt" 2>/dev/null; then ok screendump_text_at_exit; else notok screendump_text_at_exit "$(cat "$tmp/end.txt" 2>&1 | tail -5)"; fi

    # ---- unix socket, password=on ----
    sock="$tmp/vnc.sock"
    TREMU_VNC_PASSWORD=s3cret $T $LINUX -append "console=ttyS0 $STAY" -vnc "unix:$sock,password=on" \
        -serial none >"$tmp/t2.out" 2>&1 </dev/null &
    tp=$!; pids="$pids $tp"
    n=0; while [ ! -S "$sock" ] && [ $n -lt 30 ]; do sleep 1; n=$((n + 1)); done
    $C -p wrong "$sock" size >/dev/null 2>&1; r1=$?
    $C -p s3cret "$sock" size >"$tmp/size2" 2>&1; r2=$?
    if [ $r1 -eq 2 ] && [ $r2 -eq 0 ] && [ "$(cat "$tmp/size2")" = 720x400 ]; then
        ok vnc_unix_socket_password
    else
        notok vnc_unix_socket_password "wrong password: exit $r1 (want 2); right: exit $r2, $(cat "$tmp/size2")"
    fi
    kill $tp 2>/dev/null; wait $tp 2>/dev/null

    # ---- no host: loopback only ----
    port=$(free_port)
    $T $LINUX -append "console=ttyS0 $STAY" -vnc ":$((port - 5900))" -serial none >"$tmp/t3.out" 2>&1 </dev/null &
    tp=$!; pids="$pids $tp"
    n=0; while ! $C "127.0.0.1:$port" size >/dev/null 2>&1 && [ $n -lt 30 ]; do sleep 1; n=$((n + 1)); done
    hexport=$(printf '%04X' "$port")
    if grep -q " 0100007F:$hexport 00000000:0000 0A " /proc/net/tcp && \
       ! grep -q " 00000000:$hexport 00000000:0000 0A " /proc/net/tcp; then
        ok vnc_default_loopback_only
    else
        notok vnc_default_loopback_only "$(grep ":$hexport " /proc/net/tcp /proc/net/tcp6 2>/dev/null)"
    fi
    kill $tp 2>/dev/null; wait $tp 2>/dev/null
fi

# ---- the monitor: screendump, change vnc password, set_password ----
M="python3 tests/lib/mon_client.py"
if ! want mon; then
    :
elif [ ! -x $C ] || ! $T -vnc :0 -h >/dev/null 2>&1; then
    skipt monitor_display "needs VNC (libvncserver-dev)"
else
    sock="$tmp/mv.sock"
    $T $LINUX -append "console=ttyS0 $STAY" -vnc "unix:$sock,password=on" -serial none \
        -monitor "unix:$tmp/mon,server=on,wait=off" -qmp "unix:$tmp/qmp,server=on,wait=off" \
        >"$tmp/t6.out" 2>&1 </dev/null &
    tp=$!; pids="$pids $tp"
    n=0; while [ ! -S "$sock" ] && [ $n -lt 30 ]; do sleep 1; n=$((n + 1)); done
    sleep 2     # the guest runs a while with nobody looking
    timeout 60 $M hmp "$tmp/mon" "info display" "screendump $tmp/d.ppm" \
        "screendump -f png $tmp/d.img" "screendump $tmp/d.png" "screendump -f gif $tmp/x" \
        "screendump" "change vnc password
s3cret" >"$tmp/m1" 2>&1
    # The first frame is drawn at start-up for a viewer that may come (1 run).
    if grep -qE "renderer runs: 1([^0-9]|$)" "$tmp/m1" && grep -q "frames for viewers: 0" "$tmp/m1"; then ok renderer_idle_without_viewer; else notok renderer_idle_without_viewer "$(cat "$tmp/m1")"; fi
    hdr=$(head -c 15 "$tmp/d.ppm" 2>/dev/null | tr '\n' ' ')
    sz=$(stat -c %s "$tmp/d.ppm" 2>/dev/null)
    if [ "$hdr" = "P6 720 400 255 " ] && [ "$sz" = $((15 + 720 * 400 * 3)) ]; then ok monitor_screendump_ppm_default; else notok monitor_screendump_ppm_default "header '$hdr', $sz bytes" "$(cat "$tmp/m1")"; fi
    pngdims() { python3 -c 'import sys,struct; d=open(sys.argv[1],"rb").read(); print("%dx%d" % struct.unpack(">II", d[16:24]) if d[:8]==b"\x89PNG\r\n\x1a\n" else "notpng")' "$1" 2>/dev/null; }
    if [ "$(pngdims "$tmp/d.img")" = 720x400 ] && [ "$(pngdims "$tmp/d.png")" = 720x400 ]; then ok monitor_screendump_png; else notok monitor_screendump_png "-f png: $(pngdims "$tmp/d.img"), .png: $(pngdims "$tmp/d.png")"; fi
    if grep -q "format 'gif' not supported" "$tmp/m1" && grep -q "filename expected" "$tmp/m1" && [ ! -e "$tmp/x" ]; then ok monitor_screendump_errors; else notok monitor_screendump_errors "$(cat "$tmp/m1")"; fi
    if grep -q "^Password: " "$tmp/m1"; then ok change_vnc_password_prompts; else notok change_vnc_password_prompts "$(cat "$tmp/m1")"; fi
    $C -p wrong "$sock" size >/dev/null 2>&1; r1=$?
    $C -p s3cret "$sock" size >"$tmp/size6" 2>&1; r2=$?
    if [ $r1 -eq 2 ] && [ $r2 -eq 0 ] && [ "$(cat "$tmp/size6")" = 720x400 ]; then ok change_vnc_password_takes_effect; else notok change_vnc_password_takes_effect "wrong: exit $r1 (want 2), right: exit $r2 $(cat "$tmp/size6")"; fi
    timeout 60 $M hmp "$tmp/mon" "set_password vnc n3w keep" "set_password spice x" "info display" >"$tmp/m2" 2>&1
    $C -p s3cret "$sock" size >/dev/null 2>&1; r1=$?
    $C -p n3w "$sock" size >/dev/null 2>&1; r2=$?
    if [ $r1 -eq 2 ] && [ $r2 -eq 0 ] && grep -q "protocol 'spice' is not available" "$tmp/m2"; then ok set_password_vnc; else notok set_password_vnc "old: exit $r1 (want 2), new: exit $r2" "$(cat "$tmp/m2")"; fi
    if grep -q "frames for viewers: [1-9]" "$tmp/m2"; then ok renderer_runs_for_a_viewer; else notok renderer_runs_for_a_viewer "$(cat "$tmp/m2")"; fi
    timeout 60 $M qmp "$tmp/qmp" '{"execute":"qmp_capabilities"}' \
        "{\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$tmp/q.png\",\"format\":\"png\"}}" \
        '{"execute":"change-vnc-password","arguments":{"password":"qmppw"}}' >"$tmp/q1" 2>&1
    $C -p qmppw "$sock" size >/dev/null 2>&1; r2=$?
    if [ "$(pngdims "$tmp/q.png")" = 720x400 ] && [ $r2 -eq 0 ]; then ok qmp_screendump_and_password; else notok qmp_screendump_and_password "png $(pngdims "$tmp/q.png"), login exit $r2" "$(cat "$tmp/q1")"; fi
    kill $tp 2>/dev/null; wait $tp 2>/dev/null
    # -display none with a VGA the guest writes to (console=tty0): the
    # renderer never runs at all.
    $T $LINUX -append "console=ttyS0 console=tty0 $STAY" -display none -vga std -serial none \
        -monitor "unix:$tmp/mon3,server=on,wait=off" >"$tmp/t9.out" 2>&1 </dev/null &
    tp=$!; pids="$pids $tp"
    sleep 5
    timeout 60 $M hmp "$tmp/mon3" "info display" >"$tmp/m4" 2>&1
    if grep -q "VGA: text 80x25" "$tmp/m4" && grep -qE "renderer runs: 0([^0-9]|$)" "$tmp/m4"; then ok renderer_never_runs_display_none; else notok renderer_never_runs_display_none "$(cat "$tmp/m4")"; fi
    kill $tp 2>/dev/null; wait $tp 2>/dev/null
    # Without password=on there is no password to change (QEMU refuses too).
    port=$(free_port)
    $T $LINUX -append "console=ttyS0 $STAY" -vnc "127.0.0.1:$((port - 5900))" -serial none \
        -monitor "unix:$tmp/mon2,server=on,wait=off" >"$tmp/t7.out" 2>&1 </dev/null &
    tp=$!; pids="$pids $tp"
    timeout 60 $M hmp "$tmp/mon2" "change vnc password x" >"$tmp/m3" 2>&1
    if grep -q "not started with password=on" "$tmp/m3"; then ok change_vnc_password_needs_password_on; else notok change_vnc_password_needs_password_on "$(cat "$tmp/m3")"; fi
    kill $tp 2>/dev/null; wait $tp 2>/dev/null
fi

# ---- Linux's bochs-drm: the VBE framebuffer, seen by the viewer ----
D=${CACHE:-$HOME/.cache/tremu}/display
# guest_on_vnc INITRD CMD NAME EXTRA...: the default kernel with INITRD runs
# CMD; VNC on $tmp/NAME.sock (in $sock once it listens), serial console in
# $tmp/NAME.serial, tremu's output in $tmp/NAME.out; its pid in $tp.
guest_on_vnc() {
    initrd=$1; gcmd=$2; name=$3; shift 3
    sock="$tmp/$name.sock"
    $T -m 256 -kernel "$G/vmlinuz" -initrd "$initrd" "$@" \
        -append "console=ttyS0 tremu.cmd64=$(printf '%s' "$gcmd" | base64 -w0)" \
        -vnc "unix:$sock" -serial "file:$tmp/$name.serial" >"$tmp/$name.out" 2>&1 </dev/null &
    tp=$!; pids="$pids $tp"
    n=0; while [ ! -S "$sock" ] && [ $n -lt 30 ]; do sleep 1; n=$((n + 1)); done
}
# with_mods PART TEST SCRIPT: whether part PART runs; it needs VNC and the
# initramfs SCRIPT builds (else a skip of TEST says why).
with_mods() {
    want "$1" || return 1
    if [ ! -x $C ] || ! $T -vnc :0 -h >/dev/null 2>&1; then
        skipt "$2" "needs VNC (libvncserver-dev)"; return 1
    fi
    if ! sh "$3" "$G" "$D" 2>"$tmp/$1.mkerr"; then
        skipt "$2" "$(cat "$tmp/$1.mkerr")"; return 1
    fi
}
if with_mods drm bochs_drm tests/display/mkdrm.sh; then
    # The guest loads bochs-drm, writes to the console (now fbcon on the
    # framebuffer), and waits for a line typed on it before powering off.
    cmd='for m in drm drm_kms_helper ttm drm_ttm_helper drm_vram_helper bochs; do insmod /opt/drm/$m.ko || echo INSMOD-FAIL $m; done; cat /proc/fb; echo drm-on-screen > /dev/tty1; read x < /dev/tty1; echo "typed=$x"'
    guest_on_vnc "$D/initramfs-drm.cpio.gz" "$cmd" drm -screendump "$tmp/drm.png"
    if $C -f "$G/vmlinux" "$sock" wait drm-on-screen "$TO" size type 'fbok
' >"$tmp/drm.size" 2>"$tmp/c5.err" && [ "$(cat "$tmp/drm.size")" = 1024x768 ]; then
        ok bochs_drm_framebuffer_on_vnc
    else
        notok bochs_drm_framebuffer_on_vnc "size: $(cat "$tmp/drm.size")" "$(tail -20 "$tmp/c5.err")" "$(tail -5 "$tmp/drm.serial")"
    fi
    wait_exit $tp 120
    if grep -q "bochs-drmdrmfb" "$tmp/drm.serial" && grep -q "typed=fbok" "$tmp/drm.serial" && [ "$rc" = 0 ]; then
        ok bochs_drm_probe_and_keyboard
    else
        notok bochs_drm_probe_and_keyboard "exit $rc" "$(grep -E 'bochs|drm|INSMOD|typed' "$tmp/drm.serial" | tail -8)"
    fi
    dims=$(python3 -c 'import sys,struct; d=open(sys.argv[1],"rb").read(); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$tmp/drm.png" 2>/dev/null)
    if [ "$dims" = 1024x768 ]; then ok screendump_vbe_png; else notok screendump_vbe_png "png: ${dims:-none}"; fi
fi

# ---- the virtio tablet: a viewer's click reaches /dev/input/event* ----
if with_mods tablet virtio_tablet_guest tests/display/mkinput.sh; then
    # The guest loads virtio_input and evdev, finds the tablet's event node,
    # opens it (evdev queues events only for an open reader: announcing
    # first lost the click on a loaded host), says so on the screen, and
    # prints the first events it reads (one
    # input_event of 24 bytes per line, as 12 u16: type is the 9th field).
    cmd='for m in $(cat /opt/input/ORDER); do insmod /opt/input/$m || echo INSMOD-FAIL $m; done; grep -i "virtio tablet" /proc/bus/input/devices; ev=$(awk "/Name=\"QEMU Virtio Tablet\"/ {f=1} f && /Handlers/ {for (i = 1; i <= NF; i++) if (\$i ~ /^event/) print \$i; exit}" /proc/bus/input/devices); echo EV=$ev; exec 3< /dev/input/$ev; echo tablet-ready > /dev/tty0; dd bs=24 count=5 <&3 2>/dev/null | od -An -v -tu2 -w24'
    guest_on_vnc "$D/initramfs-input.cpio.gz" "$cmd" tab -device usb-tablet
    if grep -q "usb-tablet: tremu has no USB; the guest gets a virtio tablet" "$tmp/tab.out"; then ok usb_tablet_becomes_virtio_tablet; else notok usb_tablet_becomes_virtio_tablet "$(cat "$tmp/tab.out")"; fi
    # 720x400 text screen: (360, 200) is 360*32767/719 = 16406, 200*32767/399 = 16424.
    $C "$sock" wait tablet-ready "$TO" click 360 200 >/dev/null 2>"$tmp/c8.err"
    wait_exit $tp 120
    # od prints each event as 12 u16: sec(4) usec(4) type code value-lo value-hi
    ev() { tr -d '\r' <"$tmp/tab.serial" | awk -v t="$1" -v c="$2" -v v="$3" 'NF == 12 && $9 == t && $10 == c && $11 == v {f = 1} END {exit !f}'; }
    if ev 3 0 16406 && ev 3 1 16424 && ev 1 272 1 && ev 1 272 0; then
        ok virtio_tablet_click_reaches_evdev
    else
        notok virtio_tablet_click_reaches_evdev "exit $rc" "$(grep -v '^\[' "$tmp/tab.serial" | tail -12)" "$(tail -5 "$tmp/c8.err")"
    fi
fi

# ---- SDL under Xvfb: the default display when $DISPLAY is set ----
if ! want sdl; then
    :
elif ! command -v Xvfb >/dev/null || ! command -v xwininfo >/dev/null; then
    skipt sdl_window "needs Xvfb and xwininfo (apt-get install xvfb x11-utils)"
elif ! $T -display sdl -h >/dev/null 2>&1; then
    skipt sdl_window "tremu built without SDL2"
else
    # -displayfd: Xvfb picks a free display number and tells us.
    Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$tmp/dispno" 2>/dev/null &
    xp=$!; pids="$pids $xp"
    n=0; while [ ! -s "$tmp/dispno" ] && [ $n -lt 20 ]; do sleep 1; n=$((n + 1)); done
    dn=$(cat "$tmp/dispno")
    DISPLAY=":$dn" $T $LINUX -append "console=ttyS0 $STAY" -name sdltest -serial none >"$tmp/t4.out" 2>&1 </dev/null &
    tp=$!; pids="$pids $tp"
    n=0; title=
    while [ $n -lt 30 ]; do
        title=$(DISPLAY=":$dn" xwininfo -root -tree 2>/dev/null | grep -o '"sdltest - tremu \[[a-z]*, running\]"')
        [ -n "$title" ] && break
        sleep 1; n=$((n + 1))
    done
    if [ -n "$title" ]; then ok "sdl_window_title $title"; else notok sdl_window_title "$(DISPLAY=":$dn" xwininfo -root -tree 2>&1 | head -20)" "$(cat "$tmp/t4.out")"; fi
    # Closing the window presses the ACPI power button (the title says so);
    # closing it again quits, with status 0 as a guest poweroff would.
    if [ ! -x tests/display/xclose ]; then
        skipt sdl_close "tests/display/xclose not built (libx11-dev)"
    else
        DISPLAY=":$dn" tests/display/xclose sdltest
        n=0; pd=
        while [ $n -lt 30 ]; do
            pd=$(DISPLAY=":$dn" xwininfo -root -tree 2>/dev/null | grep -o 'sdltest - tremu \[[a-z]*, powering down\]')
            [ -n "$pd" ] && break
            sleep 1; n=$((n + 1))
        done
        if [ -n "$pd" ]; then ok sdl_close_presses_power_button; else notok sdl_close_presses_power_button "$(DISPLAY=":$dn" xwininfo -root -tree 2>&1 | grep sdltest)"; fi
        DISPLAY=":$dn" tests/display/xclose sdltest
        if wait_exit $tp 60 && [ "$rc" = 0 ]; then ok sdl_second_close_quits; else notok sdl_second_close_quits "exit: $rc"; fi
    fi
    kill $tp 2>/dev/null; wait $tp 2>/dev/null
    kill $xp 2>/dev/null; wait $xp 2>/dev/null
fi
finish

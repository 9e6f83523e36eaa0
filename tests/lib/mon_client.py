#!/usr/bin/env python3
"""Talks to tremu's monitor over a unix socket, for tests.
  mon_client.py hmp SOCKET CMD...   prints each command's output, one
                                    "=== CMD" header per command
  mon_client.py qmp SOCKET JSON...  prints every line received (replies,
                                    events) after sending each JSON object
Waits up to 20 s for the socket to appear."""
import json, os, socket, sys, time

mode, path, cmds = sys.argv[1], sys.argv[2], sys.argv[3:]
for _ in range(200):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)     # the file appears at bind(), before listen()
        break
    except OSError:
        s.close()
        time.sleep(0.1)
s.settimeout(20)
buf = b""

def until(marker):
    global buf
    while marker not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    i = buf.find(marker)
    if i < 0:
        out, buf = buf, b""
        return out
    out, buf = buf[:i], buf[i + len(marker):]
    return out

if mode == "hmp":
    print(until(b"(qemu) ").decode(errors="replace"), end="")
    for c in cmds:
        s.sendall(c.encode() + b"\n")
        print("=== " + c)
        if c in ("quit", "q"):
            try:
                print(s.recv(4096).decode(errors="replace"), end="")
            except OSError:
                pass
            break
        print(until(b"(qemu) ").decode(errors="replace"), end="")
else:
    print(until(b"\n").decode().strip())
    for c in cmds:
        s.sendall(c.encode())
        want_id = json.loads(c).get("id")
        while True:
            line = until(b"\n").decode().strip()
            if not line:
                break
            print(line)
            o = json.loads(line)
            if "return" in o or "error" in o:
                break
    # events after the last command (e.g. SHUTDOWN after quit)
    s.settimeout(3)
    try:
        while True:
            line = until(b"\n").decode().strip()
            if not line:
                break
            print(line)
    except OSError:
        pass

#!/usr/bin/env python3
"""The course's sensor server, for tests: listens on 127.0.0.1 (port from
bind(0), written to PORTFILE), sends "SENSOR42\n" every 0.2 s to whoever
connects until a line containing "GUEST" comes back, which it writes to
OUTFILE and answers "ACK". Serves clients one after another until killed."""
import socket, sys, time, select

portfile, outfile = sys.argv[1], sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[3]) if len(sys.argv) > 3 else 0))
s.listen(1)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = s.accept()
    got = b""
    try:
        while True:
            c.sendall(b"SENSOR42\n")
            r, _, _ = select.select([c], [], [], 0.2)
            if r:
                d = c.recv(4096)
                if not d:
                    break
                got += d
                if b"GUEST" in got and b"\n" in got[got.index(b"GUEST"):]:
                    with open(outfile, "ab") as f:
                        f.write(got)
                    got = b""
                    c.sendall(b"ACK\n")
    except OSError:
        pass
    c.close()

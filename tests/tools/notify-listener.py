#!/usr/bin/python3
"""A fake systemd NOTIFY_SOCKET for tests/integration/53-notify.sh.

notify-listener.py SOCKET LOG BROKER_SOCK TCP_PORT: bind a datagram socket at
SOCKET (mode 0666, so that a broker that dropped privileges can send), and
for every message append one line per assignment to LOG:
    READY=1 sock=1 tcp=1
where sock says whether BROKER_SOCK existed and tcp whether 127.0.0.1:TCP_PORT
accepted a connection when the message arrived.  Runs until killed.
"""
import os
import socket
import sys

path, log, broker_sock, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(log, "a", buffering=1) as out:
    out.write("listening\n")
    while True:
        data = s.recv(4096).decode("ascii", "replace")
        has_sock = int(os.path.exists(broker_sock))
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=1)
            c.close()
            tcp = 1
        except OSError:
            tcp = 0
        for line in data.split("\n"):
            if line:
                out.write("%s sock=%d tcp=%d\n" % (line, has_sock, tcp))

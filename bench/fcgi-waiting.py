#!/usr/bin/env python3
"""bench/fcgi-waiting.py: 1,000 requests waiting on mute devices through
lighttpd (the shipped configuration: max-procs 2, AWTRIX_THREADS 512) into
awtrix-cloud.fcgi, against a stand-in broker on the front socket that
answers one "fast" token at once and never answers the others.  Reports the
FastCGI processes' RSS and threads idle and with N requests waiting, and the
p50/p99 of sequential requests on the fast token, idle and under that load.

    bench/fcgi-waiting.py [N]      (default 1000; run as root or the web user)

The stand-in broker is what makes N mute requests possible on one machine
(the real broker caps one device at 16 in flight, so 1,000 would need 63
agents); the web server and the FastCGI program are the real ones.
AWTRIX_TIMEOUT_MS is raised to 60 s so that nothing times out while it is
measured.  Everything listens on 127.0.0.1 or in a private directory, and
everything started here is stopped on exit.
"""
import os, re, shutil, socket, struct, subprocess, sys, tempfile, threading
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = "F" * 32
MUTE = "M" * 32
T = tempfile.mkdtemp(prefix="awtrix-wait.")
os.chmod(T, 0o711)
procs = []
waiting = 0
lock = threading.Lock()


def broker_conn(c):
    global waiting
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            return
        buf += d
        while len(buf) >= 4:
            n = struct.unpack(">I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            p, buf = buf[4:4 + n], buf[4 + n:]
            typ, rid = p[0], p[1:5]
            if typ != 1:
                continue
            if p[5:37].decode() == FAST:
                body = b"OK"
                pay = (bytes([2]) + rid + bytes([0]) + struct.pack(">HHB", 200, 0, 10)
                       + b"text/plain" + struct.pack(">I", len(body)) + body)
                c.sendall(struct.pack(">I", len(pay)) + pay)
            else:
                with lock:
                    waiting += 1


def broker(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=broker_conn, args=(c,), daemon=True).start()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def request(port, token):
    body = b'{"text":"x"}'
    return (("POST /cloud?mode=notify&token=%s HTTP/1.1\r\nHost: b\r\n"
             "Content-Type: application/json\r\nContent-Length: %d\r\n"
             "Connection: close\r\n\r\n" % (token, len(body))).encode() + body)


def one_fast(port):
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request(port, FAST))
    r = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        r += d
    s.close()
    ok = r.startswith(b"HTTP/1.1 200")
    return (time.monotonic() - t0) * 1000, ok


def latency(port, n=300):
    ms, bad = [], 0
    for _ in range(n):
        t, ok = one_fast(port)
        ms.append(t)
        bad += not ok
    ms.sort()
    return ms[len(ms) // 2], ms[int(len(ms) * 0.99) - 1], bad


def fcgi_pids(prog):
    out = subprocess.run(["pgrep", "-f", "^" + prog], capture_output=True,
                         text=True).stdout.split()
    return [int(p) for p in out]


def mem(prog):
    rss = thr = 0
    for p in fcgi_pids(prog):
        st = open("/proc/%d/status" % p).read()
        rss += int(re.search(r"VmRSS:\s+(\d+)", st).group(1))
        thr += int(re.search(r"Threads:\s+(\d+)", st).group(1))
    return rss, thr, len(fcgi_pids(prog))


def main():
    user = "www-data" if os.getuid() == 0 else None
    sock = T + "/broker.sock"
    threading.Thread(target=broker, args=(sock,), daemon=True).start()
    prog_dir = T + "/prog"
    os.makedirs(prog_dir)
    prog = prog_dir + "/awtrix-cloud.fcgi"
    shutil.copy(os.environ.get("E2E_FCGI", ROOT + "/bin/awtrix-cloud.fcgi"), prog)
    os.chmod(prog_dir, 0o755)
    os.chmod(prog, 0o755)
    run = T + "/run"
    os.makedirs(run)
    port = free_port()
    conf = open(ROOT + "/lighttpd/awtrix-cloud.conf").read()
    conf = re.sub(r'(?m)^var.awtrix_program .*', 'var.awtrix_program = "%s"' % prog, conf)
    conf = re.sub(r'(?m)^var.awtrix_broker .*', 'var.awtrix_broker = "%s"' % sock, conf)
    conf = re.sub(r'(?m)^var.awtrix_fcgi_dir .*', 'var.awtrix_fcgi_dir = "%s"' % run, conf)
    conf = re.sub(r'(?m)^var.awtrix_log_dir .*', 'var.awtrix_log_dir = "%s"' % T, conf)
    conf = re.sub(r'(?m)^var.awtrix_acme_root .*', 'var.awtrix_acme_root = "%s"' % T, conf)
    conf = re.sub(r'(?m)^ssl\..*$', '', conf)
    conf = re.sub(r'(?m)^include_shell .*$', '', conf)
    conf = conf.replace('ssl.engine = "enable"', 'ssl.engine = "disable"')
    conf = conf.replace('"0.0.0.0:443"', '"127.0.0.1:%d"' % port)
    conf = conf.replace('$HTTP["scheme"] == "http"', '$SERVER["socket"] == "127.0.0.1:%d"' % free_port())
    conf = conf.replace('"AWTRIX_TIMEOUT_MS"    => "10000"', '"AWTRIX_TIMEOUT_MS"    => "60000"')
    conf = conf.replace('"read-timeout"    => 15', '"read-timeout"    => 120')
    with open(T + "/awtrix.conf", "w") as f:
        f.write(conf)
    with open(T + "/lighttpd.conf", "w") as f:
        f.write('server.modules = ( "mod_access", "mod_redirect" )\n'
                'server.document-root = "%s"\nserver.bind = "127.0.0.1"\n'
                'server.port = %d\nserver.errorlog = "%s/error.log"\n'
                'server.max-fds = 8192\nserver.max-connections = 4000\n'
                '%sinclude "%s/awtrix.conf"\n'
                % (T, port, T, ('server.username = "%s"\nserver.groupname = "%s"\n'
                                % (user, user)) if user else "", T))
    if user:
        shutil.chown(T, user, user)
        shutil.chown(run, user, user)
    procs.append(subprocess.Popen(["lighttpd", "-D", "-f", T + "/lighttpd.conf"]))
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.1)
    time.sleep(1)
    one_fast(port)
    idle_mem = mem(prog)
    p50i, p99i, badi = latency(port)
    hold = []
    for i in range(N):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request(port, MUTE))
        hold.append(s)
    for _ in range(300):
        with lock:
            if waiting >= N:
                break
        time.sleep(0.1)
    load_mem = mem(prog)
    p50l, p99l, badl = latency(port)
    print("RESULT waiting=%d fcgi_procs=%d" % (waiting, load_mem[2]))
    print("RESULT idle: fcgi_rss_kb=%d threads=%d fast p50=%.2f ms p99=%.2f ms failed=%d"
          % (idle_mem[0], idle_mem[1], p50i, p99i, badi))
    print("RESULT %d waiting: fcgi_rss_kb=%d threads=%d fast p50=%.2f ms p99=%.2f ms failed=%d"
          % (waiting, load_mem[0], load_mem[1], p50l, p99l, badl))
    for s in hold:
        s.close()


try:
    main()
finally:
    for p in procs:
        p.terminate()
        p.wait()
    shutil.rmtree(T, ignore_errors=True)

#!/usr/bin/python3
"""Real clients and servers for tests/integration/test-net.c.

  nethelp.py serve DIR         TCP, UDP and unix servers; writes DIR/ports, DIR/pid, DIR/ready
  nethelp.py client OP ARGS... one line per operation: "ok ..." or "err ERRNO-NAME"
  nethelp.py barrier PORT N READY  asyncio server: answers once N clients are connected at
                               once; creates the file READY when it listens
  nethelp.py barrier-clients PORT N   N concurrent asyncio clients of it
  nethelp.py accept-server PORT N READY  blocking accept, N times: answers "hi"
  nethelp.py et-server PORT N READY      edge-triggered epoll, accepts until EAGAIN: "et"
  nethelp.py many PORT N                 N concurrent clients; prints the answers counted

Client operations: tcp HOST PORT, udp HOST PORT (sendto), udpconn HOST PORT (connect, send),
unix PATH, unixdg PATH, bind HOST PORT, bindunix PATH, pid, echo HOST PORT (a server on
HOST:PORT, 0 for any port, and a client of it, both in this process).
"""
import asyncio
import errno
import os
import select
import socket
import struct
import sys


def serve(d):
    tcp = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        tcp.append(s)
    udp = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        udp.append(s)
    unix = []
    for name in ("ok.sock", "no.sock"):
        p = os.path.join(d, name)
        s = socket.socket(socket.AF_UNIX)
        s.bind(p)
        os.chmod(p, 0o777)
        s.listen(16)
        unix.append(s)
    dg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dg.bind(os.path.join(d, "dg.sock"))
    os.chmod(os.path.join(d, "dg.sock"), 0o777)
    dg.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    os.symlink(os.path.join(d, "no.sock"), os.path.join(d, "link.sock"))
    with open(os.path.join(d, "ports"), "w") as f:
        f.write(" ".join(str(s.getsockname()[1]) for s in tcp + udp) + "\n")
    with open(os.path.join(d, "pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    log = open(os.path.join(d, "log"), "a", buffering=1)
    open(os.path.join(d, "ready"), "w").close()
    every = tcp + udp + unix + [dg]
    while True:
        for s in select.select(every, [], [])[0]:
            if s in tcp:
                c, _ = s.accept()
                c.sendall(b"hi %d\n" % s.getsockname()[1])
                c.close()
            elif s in udp:
                data, peer = s.recvfrom(100)
                s.sendto(b"re " + data, peer)
            elif s in unix:
                c, _ = s.accept()
                pid, uid, gid = struct.unpack(
                    "3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
                c.sendall(b"uid=%d gid=%d\n" % (uid, gid))
                c.close()
            else:
                msg, anc, _, _ = dg.recvmsg(100, socket.CMSG_SPACE(12))
                for _, _, data in anc:
                    pid, uid, gid = struct.unpack("3i", data)
                    log.write("dg %s pid=%d uid=%d gid=%d\n" % (msg.decode(), pid, uid, gid))


def err(e):
    return "err " + errno.errorcode.get(e.errno, str(e.errno))


def client(args):
    i = 0
    while i < len(args):
        op = args[i]
        path = None
        try:
            if op == "pid":
                print("pid", os.getpid())
                i += 1
                continue
            if op == "echo":
                host, port = args[i + 1], int(args[i + 2])
                i += 3
                fam = socket.AF_INET6 if ":" in host else socket.AF_INET
                with socket.socket(fam) as srv, socket.socket(fam) as c:
                    srv.bind((host, port))
                    srv.listen(1)
                    c.settimeout(10)
                    c.connect(srv.getsockname()[:2])
                    a, _ = srv.accept()
                    a.sendall(b"hello")
                    a.close()
                    print("ok echo", c.recv(100).decode())
                continue
            if op in ("tcp", "udp", "udpconn", "bind"):
                host, port = args[i + 1], int(args[i + 2])
                i += 3
                fam = socket.AF_INET6 if ":" in host else socket.AF_INET
                if op == "tcp":
                    s = socket.socket(fam)
                    s.settimeout(10)
                    s.connect((host, port))
                    print("ok", s.recv(100).decode().strip())
                elif op == "bind":
                    s = socket.socket(fam)
                    s.bind((host, port))
                    print("ok bound", port in (0, s.getsockname()[1]))
                else:
                    s = socket.socket(fam, socket.SOCK_DGRAM)
                    s.settimeout(10)
                    if op == "udp":
                        s.sendto(b"x", (host, port))
                    else:
                        s.connect((host, port))
                        s.send(b"y")
                    print("ok", s.recv(100).decode())
                s.close()
            else:
                path = args[i + 1]
                i += 2
                if op == "unix":
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(path)
                    print("ok", s.recv(100).decode().strip())
                elif op == "unixdg":
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    s.sendto(b"m%d" % os.getpid(), path)
                    print("ok sent")
                elif op == "bindunix":
                    s = socket.socket(socket.AF_UNIX)
                    s.bind(path)
                    print("ok", s.getsockname() == path, os.path.exists(path))
                else:
                    raise SystemExit("unknown op " + op)
                s.close()
        except OSError as e:
            if op == "bindunix":
                print(err(e), os.path.exists(path))
            else:
                print(err(e))
        sys.stdout.flush()


async def barrier_server(port, n, ready):
    # Answers nobody until n clients are connected at the same time: only a server that
    # gets every connection while the others wait gets there.
    connected = 0
    everyone = asyncio.Event()

    async def handle(r, w):
        nonlocal connected
        connected += 1
        if connected == n:
            everyone.set()
        line = await r.readline()
        await everyone.wait()
        w.write(b"all %d " % connected + line)
        await w.drain()
        w.close()

    srv = await asyncio.start_server(handle, "0.0.0.0", port)
    open(ready, "w").close()
    async with srv:
        await srv.serve_forever()


async def barrier_clients(port, n):
    async def one(i):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"%d\n" % i)
        await w.drain()
        return (await r.readline()).decode()

    res = await asyncio.gather(*(one(i) for i in range(n)))
    ok = sorted(int(x.split()[2]) for x in res) == list(range(n))
    print("answers", len(res), "all-together", all(x.startswith("all %d " % n) for x in res),
          "each-own", ok)


def accept_server(port, n, ready):
    s = socket.socket(socket.AF_INET6)
    s.bind(("::", port))
    s.listen(8)
    open(ready, "w").close()
    for _ in range(n):
        c, _ = s.accept()  # blocking, no timeout
        c.sendall(b"hi\n")
        c.close()


def et_server(port, n, ready):
    # An edge-triggered loop reports a listener once per change: it must accept until
    # EAGAIN, and every waiting connection must be there by then or show up as a new edge.
    s = socket.socket()
    s.bind(("0.0.0.0", port))
    s.listen(8)
    s.setblocking(False)
    ep = select.epoll()
    ep.register(s.fileno(), select.EPOLLIN | select.EPOLLET)
    open(ready, "w").close()
    done = 0
    while done < n:
        ep.poll()
        while True:
            try:
                c, _ = s.accept()
            except BlockingIOError:
                break
            c.setblocking(True)
            c.sendall(b"et\n")
            c.close()
            done += 1


async def many(port, n):
    async def one():
        r, w = await asyncio.open_connection("127.0.0.1", port)
        line = await r.readline()
        w.close()
        return line.decode().strip()

    res = await asyncio.gather(*(one() for _ in range(n)))
    print(" ".join("%s=%d" % (k, res.count(k)) for k in sorted(set(res))))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif sys.argv[1] == "client":
        client(sys.argv[2:])
    elif sys.argv[1] == "barrier":
        asyncio.run(barrier_server(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    elif sys.argv[1] == "barrier-clients":
        asyncio.run(barrier_clients(int(sys.argv[2]), int(sys.argv[3])))
    elif sys.argv[1] == "accept-server":
        accept_server(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "et-server":
        et_server(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "many":
        asyncio.run(many(int(sys.argv[2]), int(sys.argv[3])))

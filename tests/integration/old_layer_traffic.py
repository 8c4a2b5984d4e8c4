"""Real traffic through Python's socket module, for a layer with an older
table (test_layer_old.sh): accept (accept4 with SOCK_CLOEXEC, and with
SOCK_NONBLOCK through a non-blocking listener), sendmsg and recvmsg with
several buffers and addresses, sendall, sendfile, and SCM_RIGHTS over
AF_UNIX.

    python3 old_layer_traffic.py DIR

It prints what it saw (counts, flags, whether bytes match), nothing that
depends on timing.  Every blocking call has a timeout.
"""
import array
import os
import select
import socket
import sys


def tcp(family, host):
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.bind((host, 0))
    lsock.listen(2)
    addr = lsock.getsockname()[:2]
    cli = socket.create_connection(addr, timeout=5)
    srv, _ = lsock.accept()
    srv.settimeout(5)
    print("%s accept: close-on-exec %s" % (
        family.name, not os.get_inheritable(srv.fileno())))
    n = cli.sendmsg([b"hello ", b"world", b"!" * 3000])
    got = b""
    while len(got) < n:
        msg, anc, flags, _ = srv.recvmsg(65536)
        got += msg
    print("  sendmsg: %d, recvmsg got %d, equal %s, ancillary %d" % (
        n, len(got), got == b"hello world" + b"!" * 3000, len(anc)))
    payload = bytes(range(256)) * 1000
    cli.sendall(payload)
    got = b""
    while len(got) < len(payload):
        got += srv.recv(65536)
    print("  sendall %d: equal %s" % (len(payload), got == payload))
    # A non-blocking listener: the accepted socket comes from accept4
    # with SOCK_NONBLOCK|SOCK_CLOEXEC inside Python.
    lsock.setblocking(False)
    cli2 = socket.create_connection(addr, timeout=5)
    select.select([lsock], [], [], 5)
    srv2, _ = lsock.accept()
    print("  non-blocking listener: accepted, blocking %s" % (
        srv2.getblocking(),))
    for s in (cli, srv, cli2, srv2, lsock):
        s.close()


def udp(family, host):
    a = socket.socket(family, socket.SOCK_DGRAM)
    b = socket.socket(family, socket.SOCK_DGRAM)
    a.bind((host, 0))
    b.bind((host, 0))
    b.settimeout(5)
    n = a.sendmsg([b"dgram ", b"two"], [], 0, b.getsockname())
    msg, anc, flags, frm = b.recvmsg(100)
    print("%s udp: sendmsg %d, recvmsg %r from the sender %s" % (
        family.name, n, msg, frm[:2] == a.getsockname()[:2]))
    a.close()
    b.close()


def scm():
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    y.settimeout(5)
    r, w = os.pipe()
    try:
        x.sendmsg([b"fd"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                             array.array("i", [r]))])
    except OSError as e:
        print("scm_rights: sendmsg failed: %s" % (
            __import__("errno").errorcode[e.errno],))
    else:
        msg, anc, flags, _ = y.recvmsg(10, socket.CMSG_SPACE(4))
        fds = array.array("i")
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:4])
        os.write(w, b"through")
        print("scm_rights: %r, a descriptor came: %s, it reads %r" % (
            msg, len(fds) == 1, os.read(fds[0], 7) if fds else None))
        for fd in fds:
            os.close(fd)
    for fd in (r, w):
        os.close(fd)
    x.close()
    y.close()


def sendfile(d):
    path = os.path.join(d, "old-layer.bin")
    data = os.urandom(1) * 0 + bytes(range(251)) * 2000
    with open(path, "wb") as f:
        f.write(data)
    lsock = socket.create_server(("127.0.0.1", 0))
    cli = socket.create_connection(lsock.getsockname(), timeout=5)
    srv, _ = lsock.accept()
    srv.settimeout(5)
    with open(path, "rb") as f:
        sent = cli.sendfile(f)
    cli.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        chunk = srv.recv(65536)
        if not chunk:
            break
        got += chunk
    print("sendfile: %d, equal %s" % (sent, got == data))
    for s in (cli, srv, lsock):
        s.close()
    os.unlink(path)


tcp(socket.AF_INET, "127.0.0.1")
tcp(socket.AF_INET6, "::1")
udp(socket.AF_INET, "127.0.0.1")
udp(socket.AF_INET6, "::1")
sendfile(sys.argv[1])
scm()

"""asyncio's loop.sock_sendfile and socket.sendfile, unmodified.

    python3 sendfile_asyncio.py DIR

A server and a client in one process over TCP loopback: the client sends
a 1 MiB file (written in DIR) with loop.sock_sendfile on its non-blocking
socket, three times (whole, from an offset, a count), and then with
socket.sendfile on a blocking socket; the server checks every byte.  It
prints what it saw: counts, file positions and whether the bytes match,
nothing that depends on timing.  Every wait is bounded.
"""
import asyncio
import hashlib
import os
import socket
import sys

SIZE = 1 << 20


async def receive(loop, conn, n):
    got = bytearray()
    while len(got) < n:
        chunk = await loop.sock_recv(conn, 65536)
        if not chunk:
            break
        got += chunk
    return bytes(got)


async def run(path, data):
    loop = asyncio.get_running_loop()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.setblocking(False)
    cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    cli.setblocking(False)
    # A small send buffer: the sends must meet EAGAIN and wait.
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    await loop.sock_connect(cli, lsock.getsockname())
    srv, _ = await loop.sock_accept(lsock)
    srv.setblocking(False)
    with open(path, "rb") as f:
        cases = [(0, None), (1000, None), (5000, 300000)]
        for offset, count in cases:
            want = SIZE - offset if count is None else count
            recv = asyncio.ensure_future(receive(loop, srv, want))
            sent = await asyncio.wait_for(
                loop.sock_sendfile(cli, f, offset, count, fallback=False),
                20)
            got = await asyncio.wait_for(recv, 20)
            print("sock_sendfile offset=%d count=%s: sent %d, position %d,"
                  " bytes %s" % (offset, count, sent, f.tell(),
                                 "equal" if got == data[offset:offset + want]
                                 else "DIFFER"))
    cli.close()
    srv.close()
    lsock.close()


def blocking(path, data):
    lsock = socket.create_server(("127.0.0.1", 0))
    cli = socket.create_connection(lsock.getsockname(), timeout=20)
    srv, _ = lsock.accept()
    srv.settimeout(20)
    with open(path, "rb") as f:
        sent = cli.sendfile(f, 123)
        cli.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            chunk = srv.recv(65536)
            if not chunk:
                break
            got += chunk
        print("socket.sendfile: sent %d, position %d, bytes %s" % (
            sent, f.tell(), "equal" if bytes(got) == data[123:] else
            "DIFFER"))
    for s in (cli, srv, lsock):
        s.close()


def main():
    path = os.path.join(sys.argv[1], "sendfile-asyncio.bin")
    data = hashlib.shake_256(b"wspshim").digest(SIZE)
    with open(path, "wb") as f:
        f.write(data)
    asyncio.run(run(path, data))
    blocking(path, data)
    os.unlink(path)


main()

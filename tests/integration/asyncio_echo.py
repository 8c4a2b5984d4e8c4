#!/usr/bin/env python3
"""asyncio_echo.py - asyncio servers and clients for test_real_asyncio.sh.

    asyncio_echo.py self        servers and clients in this process
    asyncio_echo.py echod DIR   clients of the echo server in DIR

Every client sends a payload unique to it and checks that exactly those
bytes come back.  Output is one line per transport, the same on every run;
any failure prints one line and exits 1.  Every wait has a timeout.
"""
import asyncio
import hashlib
import os
import socket
import sys
import tempfile

TIMEOUT = 15
CLIENTS = 20


def payload(tag, i, size):
    """size bytes that only client i of tag sends."""
    seed = hashlib.sha256(("%s/%d" % (tag, i)).encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


async def echo_stream(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def stream_client(opener, tag, i):
    data = payload(tag, i, 1000 + i * 9973)
    reader, writer = await opener()
    writer.write(data)
    await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()
    got = await reader.readexactly(len(data))
    writer.close()
    await writer.wait_closed()
    if got != data:
        raise RuntimeError("%s client %d: the echo differs" % (tag, i))
    return len(data)


async def stream_clients(opener, tag):
    sizes = await asyncio.wait_for(asyncio.gather(
        *(stream_client(opener, tag, i) for i in range(CLIENTS))), TIMEOUT)
    print("%s: %d concurrent clients, %d bytes echoed intact"
          % (tag, CLIENTS, sum(sizes)))


class EchoDatagram(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


class Collect(asyncio.DatagramProtocol):
    def __init__(self):
        self.queue = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.queue.put_nowait((data, addr))

    def error_received(self, exc):
        self.queue.put_nowait((exc, None))


async def datagram_client(family, server, tag, i):
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        Collect, remote_addr=server, family=family)
    try:
        for k in range(5):
            data = payload(tag, i * 100 + k, 1 + (i * 131 + k * 577) % 4000)
            transport.sendto(data)
            got, _ = await asyncio.wait_for(proto.queue.get(), TIMEOUT)
            if isinstance(got, Exception):
                raise got
            if got != data:
                raise RuntimeError("%s client %d: datagram %d differs"
                                   % (tag, i, k))
    finally:
        transport.close()
    return 5


async def datagram_clients(family, server, tag):
    n = await asyncio.wait_for(asyncio.gather(
        *(datagram_client(family, server, tag, i) for i in range(CLIENTS))),
        TIMEOUT)
    print("%s: %d clients, %d datagrams echoed intact"
          % (tag, CLIENTS, sum(n)))


async def sock_calls(host, port, family):
    """The loop's low-level sock_* calls on a non-blocking socket."""
    loop = asyncio.get_running_loop()
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(s, (host, port)), TIMEOUT)
        data = payload("sock", 0, 70000)
        await asyncio.wait_for(loop.sock_sendall(s, data), TIMEOUT)
        got = b""
        while len(got) < len(data):
            chunk = await asyncio.wait_for(loop.sock_recv(s, 65536),
                                           TIMEOUT)
            if not chunk:
                break
            got += chunk
        if got != data:
            raise RuntimeError("sock_* calls: the echo differs")
    print("sock_connect/sock_sendall/sock_recv: 70000 bytes echoed intact")


async def run_self():
    loop = asyncio.get_running_loop()
    tcp4 = await asyncio.start_server(echo_stream, "127.0.0.1", 0)
    tcp6 = await asyncio.start_server(echo_stream, "::1", 0,
                                      family=socket.AF_INET6)
    tmp = tempfile.mkdtemp(prefix="wspshim-asyncio.")
    path = os.path.join(tmp, "s.sock")
    unix = await asyncio.start_unix_server(echo_stream, path)
    udp, _ = await loop.create_datagram_endpoint(
        EchoDatagram, local_addr=("127.0.0.1", 0))
    try:
        p4 = tcp4.sockets[0].getsockname()[1]
        p6 = tcp6.sockets[0].getsockname()[1]
        await stream_clients(
            lambda: asyncio.open_connection("127.0.0.1", p4), "tcp4")
        await stream_clients(
            lambda: asyncio.open_connection("::1", p6), "tcp6")
        await stream_clients(
            lambda: asyncio.open_unix_connection(path), "unix")
        await datagram_clients(socket.AF_INET,
                               udp.get_extra_info("sockname"), "udp4")
        await sock_calls("127.0.0.1", p4, socket.AF_INET)
    finally:
        for server in (tcp4, tcp6, unix):
            server.close()
            await server.wait_closed()
        udp.close()
        os.unlink(path)
        os.rmdir(tmp)


def echod_ports(directory):
    ports = {}
    with open(os.path.join(directory, "ports")) as f:
        for line in f:
            key, port = line.split()
            ports[key] = int(port)
    return ports


async def run_echod(directory):
    ports = echod_ports(directory)
    await stream_clients(
        lambda: asyncio.open_connection("127.0.0.1", ports["tcp4"]), "tcp4")
    await stream_clients(
        lambda: asyncio.open_connection("::1", ports["tcp6"]), "tcp6")
    await stream_clients(lambda: asyncio.open_unix_connection(
        os.path.join(directory, "stream.sock")), "unix")
    await datagram_clients(socket.AF_INET, ("127.0.0.1", ports["udp4"]),
                           "udp4")
    await datagram_clients(socket.AF_INET6, ("::1", ports["udp6"]), "udp6")
    await sock_calls("127.0.0.1", ports["tcp4"], socket.AF_INET)


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "self":
        job = run_self()
    elif len(sys.argv) == 3 and sys.argv[1] == "echod":
        job = run_echod(sys.argv[2])
    else:
        print("usage: asyncio_echo.py self | echod DIR", file=sys.stderr)
        return 2
    try:
        asyncio.run(asyncio.wait_for(job, 4 * TIMEOUT))
    except Exception as e:  # one line, whatever went wrong
        print("asyncio_echo: %s: %s" % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

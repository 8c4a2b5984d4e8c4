/*
 * fuzz_sockopt - getsockopt, setsockopt and WSAIoctl argument spaces on
 * managed sockets: a fresh socket of one of six kinds (TCP, UDP over IPv4
 * and IPv6, AF_UNIX stream and datagram) made through WSASocketW, then
 * calls through its chain (the provider table the shim's hooks call)
 * with levels, names, lengths and buffers the input gives.
 *
 * Buffers are heap blocks of exactly the length passed, so ASan catches
 * a read or write past what the caller said.  Properties: a failure is a
 * WSA code (10004..11031); a getsockopt that succeeds reports a length
 * within the buffer; WSAIoctl reports no more bytes than the output
 * buffer holds; the socket still works afterwards (SO_TYPE unchanged)
 * and closes.
 *
 * getsockopt and WSAIoctl take any level, name and control code (they
 * only read, or the base answers from a fixed list).  setsockopt sticks
 * to options that touch only the socket itself: never multicast
 * membership, which would send IGMP/MLD reports on real interfaces.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "fuzz.h"

#include "core.h"

static const int kinds[][3] = {
	{ AF_INET, SOCK_STREAM, IPPROTO_TCP },
	{ AF_INET, SOCK_DGRAM, IPPROTO_UDP },
	{ AF_INET6, SOCK_STREAM, IPPROTO_TCP },
	{ AF_INET6, SOCK_DGRAM, IPPROTO_UDP },
	{ AF_UNIX, SOCK_STREAM, 0 },
	{ AF_UNIX, SOCK_DGRAM, 0 },
};

/* Options setsockopt may change: (level, name). */
static const int settable[][2] = {
	{ SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_KEEPALIVE },
	{ SOL_SOCKET, SO_SNDBUF }, { SOL_SOCKET, SO_RCVBUF },
	{ SOL_SOCKET, SO_LINGER }, { SOL_SOCKET, SO_RCVTIMEO },
	{ SOL_SOCKET, SO_SNDTIMEO }, { SOL_SOCKET, SO_BROADCAST },
	{ SOL_SOCKET, SO_OOBINLINE }, { SOL_SOCKET, SO_REUSEPORT },
	{ SOL_SOCKET, SO_PASSCRED }, { SOL_SOCKET, SO_RCVLOWAT },
	{ SOL_SOCKET, SO_TIMESTAMP }, { SOL_SOCKET, SO_ERROR },
	{ SOL_SOCKET, SO_TYPE }, { SOL_SOCKET, SO_PROTOCOL_INFOW },
	{ SOL_SOCKET, SO_PROTOCOL_INFOA }, { SOL_SOCKET, 0x1001 },
	{ SOL_SOCKET, 0x700c }, { SOL_SOCKET, 0x7010 },
	{ IPPROTO_TCP, TCP_NODELAY }, { IPPROTO_TCP, TCP_MAXSEG },
	{ IPPROTO_TCP, TCP_KEEPIDLE }, { IPPROTO_TCP, TCP_KEEPINTVL },
	{ IPPROTO_TCP, TCP_CORK }, { IPPROTO_TCP, TCP_USER_TIMEOUT },
	{ IPPROTO_IP, IP_TOS }, { IPPROTO_IP, IP_TTL },
	{ IPPROTO_IP, IP_PKTINFO }, { IPPROTO_IP, IP_RECVTOS },
	{ IPPROTO_IPV6, IPV6_V6ONLY }, { IPPROTO_IPV6, IPV6_UNICAST_HOPS },
	{ IPPROTO_IPV6, IPV6_RECVPKTINFO }, { IPPROTO_IPV6, IPV6_TCLASS },
	{ 12345, 1 }, { -1, -1 },
};

static const DWORD ioctls[] = {
	FIONBIO, FIONREAD, SIOCATMARK, SIO_BASE_HANDLE, SIO_BSP_HANDLE,
	0x4800001c, 0xc8000006, 0x98000004, 0x48000016, 0x8004667e,
};

/* Whether e is a WSA code. */
static int
wsa_code(int e)
{
	return e >= WSABASEERR && e <= WSABASEERR + 1031;
}

/* A heap block of n bytes (at least 1) filled from the input. */
static char *
block(struct fz *f, size_t n)
{
	char *b = malloc(n > 0 ? n : 1);

	FZ_CHECK(b != NULL);
	fz_bytes(f, b, n);
	return b;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t k = fz_u8(&f), op = fz_u8(&f);
	int level, name, len, inlen, e, rc, v, vlen;
	DWORD code, in_n, out_n, ret;
	struct wsock *ws;
	char *buf, *out;
	SOCKET s, h;
	size_t i;

	k %= sizeof(kinds) / sizeof(kinds[0]);
	s = WSASocketW(kinds[k][0], kinds[k][1], kinds[k][2], NULL, 0, 0);
	FZ_CHECK(s != INVALID_SOCKET);
	ws = fdtab_get((int)s);
	FZ_CHECK(ws != NULL && ws != FDTAB_ADOPT);
	h = ws->handle;
	for (i = 0; i < 4 && f.n > 0; i++) {
		e = 0;
		switch (op >> (2 * i) & 3) {
		case 0:		/* getsockopt, anything */
			level = fz_u8(&f) < 128 ? SOL_SOCKET :
			    (int)fz_u32(&f);
			name = (int)(int16_t)(fz_u8(&f) | fz_u8(&f) << 8);
			inlen = len = (int)(int16_t)(fz_u8(&f) | fz_u8(&f) << 8)
			    % 1200;
			buf = block(&f, len > 0 ? (size_t)len : 0);
			rc = ws->procs->lpWSPGetSockOpt(h, level, name, buf,
			    &len, &e);
			if (rc == 0)
				FZ_CHECK(len >= 0 && len <= inlen);
			else
				FZ_CHECK(rc == SOCKET_ERROR && wsa_code(e));
			free(buf);
			break;
		case 1:		/* setsockopt, the safe ones */
			v = fz_u8(&f) % (int)(sizeof(settable) /
			    sizeof(settable[0]));
			len = (int)(int16_t)(fz_u8(&f) | fz_u8(&f) << 8) % 700;
			buf = block(&f, len > 0 ? (size_t)len : 0);
			rc = ws->procs->lpWSPSetSockOpt(h, settable[v][0],
			    settable[v][1], buf, len, &e);
			FZ_CHECK(rc == 0 || (rc == SOCKET_ERROR &&
			    wsa_code(e)));
			free(buf);
			break;
		default:	/* WSAIoctl */
			code = fz_u8(&f) < 200 ?
			    ioctls[fz_u8(&f) % (sizeof(ioctls) /
			    sizeof(ioctls[0]))] : fz_u32(&f);
			in_n = fz_u8(&f) % 64;
			out_n = fz_u8(&f) % 64;
			buf = block(&f, in_n);
			out = block(&f, out_n);
			ret = 0xdeadbeef;
			rc = ws->procs->lpWSPIoctl(h, code, in_n ? buf : NULL,
			    in_n, out_n ? out : NULL, out_n, &ret, NULL, NULL,
			    NULL, &e);
			if (rc == 0)
				FZ_CHECK(ret <= out_n);
			else
				FZ_CHECK(rc == SOCKET_ERROR && wsa_code(e));
			free(buf);
			free(out);
			break;
		}
	}
	/* Still the same socket, and it closes. */
	vlen = (int)sizeof(v);
	FZ_CHECK(ws->procs->lpWSPGetSockOpt(h, SOL_SOCKET, SO_TYPE,
	    (char *)&v, &vlen, &e) == 0 && v == kinds[k][1]);
	FZ_CHECK(closesocket(s) == 0);
	return 0;
}

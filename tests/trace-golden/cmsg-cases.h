/*
 * cmsg-cases.h - control messages of every kind strace decodes, and some
 * it does not, for golden.c (the decoder on them, into decode.out) and
 * cmsgs.c (a program that sends them, traced by strace and by the layer
 * in test_trace_golden.sh).  x86_64 numbers.
 */
#ifndef CMSG_CASES_H
#define CMSG_CASES_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

struct cmsg_case {
	const char	*name;
	int		level, type;
	size_t		len;		/* data bytes */
	size_t		extra;		/* cmsg_len beyond them (a lie) */
	size_t		tail;		/* junk bytes after the message */
};

static const struct cmsg_case cmsg_cases[] = {
	{ "SCM_RIGHTS", SOL_SOCKET, 1, 3 * sizeof(int), 0, 0 },
	{ "SCM_RIGHTS short", SOL_SOCKET, 1, 2, 0, 0 },
	{ "SCM_CREDENTIALS", SOL_SOCKET, 2, 12, 0, 0 },
	{ "SCM_SECURITY", SOL_SOCKET, 3, 3, 0, 0 },
	{ "SCM 4", SOL_SOCKET, 4, 4, 0, 0 },
	{ "SO_TIMESTAMP_OLD", SOL_SOCKET, 29, 16, 0, 0 },
	{ "SO_TIMESTAMP_OLD short", SOL_SOCKET, 29, 4, 0, 0 },
	{ "SO_TIMESTAMPNS_OLD", SOL_SOCKET, 35, 16, 0, 0 },
	{ "SO_TIMESTAMPING_OLD", SOL_SOCKET, 37, 48, 0, 0 },
	{ "SO_TIMESTAMP_NEW", SOL_SOCKET, 63, 16, 0, 0 },
	{ "SO_TIMESTAMPNS_NEW", SOL_SOCKET, 64, 16, 0, 0 },
	{ "SO_TIMESTAMPING_NEW", SOL_SOCKET, 65, 48, 0, 0 },
	{ "SO_WIFI_STATUS", SOL_SOCKET, 41, 4, 0, 0 },
	{ "SO_TXTIME", SOL_SOCKET, 61, 8, 0, 0 },
	{ "SCM_TIMESTAMPING_OPT_STATS", SOL_SOCKET, 54, 4, 0, 0 },
	{ "SCM_TIMESTAMPING_PKTINFO", SOL_SOCKET, 58, 4, 0, 0 },
	{ "SCM unknown", SOL_SOCKET, 99, 4, 0, 0 },
	{ "IP_TOS", SOL_IP, 1, 1, 0, 0 },
	{ "IP_TOS as int", SOL_IP, 1, 4, 0, 0 },
	{ "IP_TTL", SOL_IP, 2, 4, 0, 0 },
	{ "IP_TTL three", SOL_IP, 2, 12, 0, 0 },
	{ "IP_TTL short", SOL_IP, 2, 2, 0, 0 },
	{ "IP SCM_SECURITY", SOL_IP, 3, 3, 0, 0 },
	{ "IP_RECVOPTS", SOL_IP, 6, 5, 0, 0 },
	{ "IP_RETOPTS", SOL_IP, 7, 5, 0, 0 },
	{ "IP_PKTINFO", SOL_IP, 8, 12, 0, 0 },
	{ "IP_PKTINFO short", SOL_IP, 8, 8, 0, 0 },
	{ "IP_RECVERR", SOL_IP, 11, 32, 0, 0 },
	{ "IP_ORIGDSTADDR", SOL_IP, 20, 16, 0, 0 },
	{ "IP_CHECKSUM", SOL_IP, 23, 4, 0, 0 },
	{ "IP 52", SOL_IP, 52, 4, 0, 0 },
	{ "IP unknown", SOL_IP, 99, 4, 0, 0 },
	{ "IPV6_PKTINFO", SOL_IPV6, 50, 20, 0, 0 },
	{ "IPV6_HOPLIMIT", SOL_IPV6, 52, 4, 0, 0 },
	{ "IPV6_TCLASS", SOL_IPV6, 67, 4, 0, 0 },
	{ "SOL_TCP", IPPROTO_TCP, 1, 4, 0, 0 },
	{ "cmsg_len past the buffer", SOL_IP, 2, 4, 100, 0 },
	{ "bytes after the last header", SOL_SOCKET, 2, 12, 0, 8 },
};

#define CMSG_NCASES	(sizeof(cmsg_cases) / sizeof(cmsg_cases[0]))

/*
 * The data of case c into d (room for 64 bytes): what each type's
 * decoder shows, recognisably (times, addresses, an errno); the rest
 * counts up from 1.
 */
static inline void
cmsg_case_data(const struct cmsg_case *c, unsigned char *d)
{
	static const int64_t times[6] = { 1700000000, 123456, 3, 4, 5, 6 };
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(4242), .sin_addr.s_addr = htonl(0x7f000001) };
	struct in_pktinfo pi = { .ipi_ifindex = 1,
	    .ipi_spec_dst.s_addr = htonl(0x7f000001),
	    .ipi_addr.s_addr = htonl(0x0a010203) };
	struct in6_pktinfo pi6 = { .ipi6_addr = IN6ADDR_LOOPBACK_INIT,
	    .ipi6_ifindex = 1 };
	uint32_t ee[4] = { 111, 3 << 16 | 3 << 8 | 2, 5, 6 };	/* LE */
	size_t i;

	for (i = 0; i < 64; i++)
		d[i] = (unsigned char)(i + 1);
	if (c->level == SOL_SOCKET && c->type == 1) {
		int fds[3] = { 0, 1, 2 };

		memcpy(d, fds, sizeof(fds));
	} else if (c->level == SOL_SOCKET && c->type == 2) {
		uint32_t uc[3] = { 1234, 0, 0 };

		memcpy(d, uc, sizeof(uc));
	} else if (c->level == SOL_SOCKET && (c->type == 3)) {
		memcpy(d, "abc", 3);
	} else if (c->level == SOL_SOCKET && c->len >= 16) {
		memcpy(d, times, sizeof(times));
	} else if (c->level == SOL_IP && c->type == 1) {
		memset(d, 0, 4);
		d[0] = 0x10;
	} else if (c->level == SOL_IP && c->type == 2) {
		uint32_t ttl[3] = { 64, 0, 255 };

		memcpy(d, ttl, sizeof(ttl));
	} else if (c->level == SOL_IP && c->type == 6) {
		memcpy(d, "\1\2\203\0\377", 5);
	} else if (c->level == SOL_IP && c->type == 8) {
		memcpy(d, &pi, sizeof(pi));
	} else if (c->level == SOL_IP && c->type == 11) {
		memcpy(d, ee, sizeof(ee));
		sin.sin_port = htons(53);
		memcpy(d + sizeof(ee), &sin, sizeof(sin));
	} else if (c->level == SOL_IP && c->type == 20) {
		memcpy(d, &sin, sizeof(sin));
	} else if (c->level == SOL_IPV6 && c->type == 50) {
		memcpy(d, &pi6, sizeof(pi6));
	}
}

/* The control buffer of case c in ctl (room for 256 bytes): its length
 * (as msg_controllen). */
static inline size_t
cmsg_case_build(const struct cmsg_case *c, unsigned char *ctl)
{
	struct cmsghdr h;

	memset(ctl, 0, 256);
	h.cmsg_len = CMSG_LEN(c->len) + c->extra;
	h.cmsg_level = c->level;
	h.cmsg_type = c->type;
	memcpy(ctl, &h, sizeof(h));
	cmsg_case_data(c, ctl + CMSG_LEN(0));
	return CMSG_SPACE(c->len) + c->tail;
}

#endif

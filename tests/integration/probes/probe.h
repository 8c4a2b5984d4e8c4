/*
 * probe.h - what the integration probe programs share.
 *
 * A probe checks one behaviour of the socket API against the echo server
 * (echod) and exits 0 only when everything it checked holds; otherwise it
 * prints one line, "PROBE: reason", and exits 1.  On success it prints a
 * short transcript of what it observed (fd numbers, byte counts, errno
 * names) that the test scripts compare with the unpreloaded run, so it
 * must not depend on timing, ports or pids.
 *
 * The echo server's directory comes from the environment (ECHO_DIR).
 * Every blocking call is bounded: sockets get SO_RCVTIMEO/SO_SNDTIMEO of
 * PROBE_IO_TIMEOUT seconds and the whole probe a watchdog.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define PROBE_IO_TIMEOUT	5	/* seconds, each blocking call */
#define PROBE_WATCHDOG		30	/* seconds, a whole probe */

/* The transports echod serves. */
enum transport {
	T_TCP4, T_TCP6, T_UDP4, T_UDP4C, T_UDP6, T_UDP6C,
	T_UNIX_STREAM, T_UNIX_DGRAM, T_UNIX_SEQPACKET, T_COUNT
};

/* Where a transport's echo service is, and how to reach it. */
struct peer {
	enum transport		t;
	int			family;
	int			type;
	int			connected;	/* connect() before use */
	struct sockaddr_storage	addr;
	socklen_t		len;
};

extern const char *probe_name;

/* Name the probe (for failure lines) and start its watchdog. */
void	probe_init(const char *name);

/* Print "PROBE: reason" and exit 1. */
__attribute__((noreturn, format(printf, 1, 2)))
void	fail(const char *fmt, ...);

/* As fail, with ": ENAME" of the current errno appended. */
__attribute__((noreturn, format(printf, 1, 2)))
void	fail_errno(const char *fmt, ...);

/* The symbolic name of an errno value ("EPIPE"), or "E?N". */
const char *errno_name(int e);

/* The transport named s ("tcp4", "unix-dgram", ...); fails if unknown. */
enum transport transport_byname(const char *s);
const char *transport_name(enum transport t);

/* Fill p with the echo service of transport t. */
void	peer_get(enum transport t, struct peer *p);

/* A socket for p (bound to an autobind address for AF_UNIX datagrams),
 * with I/O timeouts, connected when p says so.  extra goes into type
 * (SOCK_NONBLOCK, SOCK_CLOEXEC). */
int	peer_socket(const struct peer *p, int extra);

/* The number of descriptors open in this process (fails when
 * /proc/self/fd cannot be read). */
int	fd_count(void);

/* Set SO_RCVTIMEO and SO_SNDTIMEO of fd to PROBE_IO_TIMEOUT. */
void	set_timeouts(int fd);

/* Fill buf with n bytes derived from seed (different seeds differ). */
void	pattern(void *buf, size_t n, unsigned long seed);

/* Send all of buf on a connected socket (send, looping on short counts). */
void	send_all(int fd, const void *buf, size_t n);

/* Receive exactly n bytes from a stream socket into buf. */
void	recv_all(int fd, void *buf, size_t n);

/* One echo round trip of n bytes made from seed on a connected socket of
 * the given type (whole messages for datagrams and seqpacket). */
void	round_trip(int fd, int type, size_t n, unsigned long seed);

/* Send a few bytes from x to y and others back; both must arrive intact
 * (x and y are the two ends of a stream connection). */
void	exchange(int x, int y);

/* A TCP listener on 127.0.0.1 port 0 (or ::1 for AF_INET6); *port gets
 * its port. */
int	local_listener(int family, int *port);

/* A connected pair over TCP loopback (family AF_INET or AF_INET6): *cli is
 * the connect()ed end, *srv the accept()ed one. */
void	tcp_pair(int family, int *cli, int *srv);

/* Whether two socket addresses are equal (family, address, port/path). */
int	same_addr(const struct sockaddr_storage *a, socklen_t alen,
	    const struct sockaddr_storage *b, socklen_t blen);

/* Whether libwspshim.so is loaded into this process. */
int	shim_loaded(void);

/* Write a marker (write(-1, ...), which fails with EBADF) that shows in
 * strace: "probe:begin" and "probe:end" delimit the part compared. */
void	trace_mark(const char *what);

/* Open and close a socket of every transport (so that every chain has
 * started: loading providers is start-up, not the data path), then mark
 * "probe:begin". */
void	trace_begin(void);

#endif

/*
 * netev.c - network events in the base provider: WSPEventSelect and
 * WSPEnumNetworkEvents, on one epoll instance and one watcher thread per
 * process, made at the process's first WSPEventSelect (see netev.h and
 * docs/overlapped.md).
 *
 * Recording.  Each watched socket keeps the events asked for (want), the
 * events that may be recorded now (armed), and the record (rec, with an
 * error code per event).  An event is recorded once, which disarms it,
 * and is armed again only by its re-enabling call, which the base reports
 * through netev_hook(): Winsock's rule, so a program that reads half of
 * what arrived hears FD_READ again after its read, and one that does not
 * read hears nothing more.  Recording sets the socket's event object.
 *
 * Watching.  The socket is in the epoll set with EPOLLONESHOT, for what
 * its armed events and its state need: EPOLLIN for FD_READ (FD_ACCEPT on
 * a listener), EPOLLPRI for FD_OOB, EPOLLOUT for FD_WRITE and for a
 * connect under way, EPOLLRDHUP for FD_CLOSE and to tell the end of a
 * stream from data.  Each report disarms the registration until the
 * watcher has applied it and armed it again for what is still wanted; a
 * report that changed nothing (an EPOLLHUP or EPOLLERR the kernel reports
 * whether asked or not) leaves it disarmed until the next hook, so a dead
 * socket cannot spin the thread.
 *
 * State.  What a stream socket can report depends on where it is: not
 * connected (nothing), connecting (FD_CONNECT with the connect's result,
 * then FD_WRITE), connected (FD_READ, FD_OOB, FD_WRITE, FD_CLOSE),
 * listening (FD_ACCEPT).  WSPEventSelect reads it from the kernel; the
 * base's connect and listen move it on.  A datagram socket is always
 * "connected".
 *
 * Locking.  One mutex (netev_lock) guards the table, the records and the
 * epoll registrations; everything under it is short.  Event objects are
 * set under it, so WSPEnumNetworkEvents's read-and-reset of the record
 * and the event loses no event recorded meanwhile.
 *
 * fork(): the child starts with no watcher and nothing watched (the
 * epoll instance is the parent's: the child closes its copy); its
 * sockets stay non-blocking.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base.h"
#include "errmap.h"
#include "event.h"
#include "libc.h"
#include "log.h"
#include "netev.h"
#include "spawn.h"

#define NETEV_BUCKETS	256
#define NETEV_BATCH	64
#define NETEV_ARMABLE	(FD_READ | FD_WRITE | FD_OOB | FD_ACCEPT | \
			 FD_CONNECT | FD_CLOSE)

/* Where a socket is, for what it can report. */
enum { NS_IDLE, NS_CONNECTING, NS_CONNECTED, NS_LISTENING };

struct netev_sock {
	struct netev_sock	*next;		/* hash bucket, or free list */
	SOCKET			s;
	int			fd;
	int			stream;		/* connection-oriented */
	int			tcp;
	int			state;
	int			registered;	/* in the epoll set */
	uint32_t		mask;		/* armed there; 0: disarmed */
	uint32_t		slot;		/* index in netev_slots */
	uint32_t		gen;		/* epoll data: slot | gen << 32 */
	WSAEVENT		ev;
	LONG			want;
	LONG			armed;
	LONG			rec;
	int			err[FD_MAX_EVENTS];
};

unsigned netev_live;	/* __atomic builtins only */

static pthread_mutex_t netev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct netev_sock *netev_hash[NETEV_BUCKETS];
static struct netev_sock **netev_slots;	/* never freed: the watcher may
					 * hold a report for a slot reused */
static uint32_t netev_nslots, netev_cap;
static struct netev_sock *netev_free;
static int netev_epfd = -1;

static inline struct netev_sock **
netev_bucket(SOCKET s)
{
	return &netev_hash[(s ^ s >> 8 ^ s >> 16) % NETEV_BUCKETS];
}

static struct netev_sock *
netev_find(SOCKET s)
{
	struct netev_sock *ns;

	for (ns = *netev_bucket(s); ns != NULL; ns = ns->next)
		if (ns->s == s)
			return ns;
	return NULL;
}

/* A fresh entry for s, linked in; NULL when out of memory. */
static struct netev_sock *
netev_new(SOCKET s)
{
	struct netev_sock *ns, **grown, **b;
	uint32_t cap;

	if ((ns = netev_free) != NULL) {
		netev_free = ns->next;
	} else {
		if (netev_nslots == netev_cap) {
			cap = netev_cap != 0 ? netev_cap * 2 : 16;
			grown = realloc(netev_slots, cap * sizeof(*grown));
			if (grown == NULL)
				return NULL;
			netev_slots = grown;
			netev_cap = cap;
		}
		if ((ns = calloc(1, sizeof(*ns))) == NULL)
			return NULL;
		ns->slot = netev_nslots;
		netev_slots[netev_nslots++] = ns;
	}
	ns->s = s;
	ns->registered = 0;
	ns->mask = 0;
	b = netev_bucket(s);
	ns->next = *b;
	*b = ns;
	__atomic_fetch_add(&netev_live, 1, __ATOMIC_RELAXED);
	return ns;
}

/* Nothing: ns leaves the epoll set and the table (its descriptor is
 * still open); a report the watcher holds for it is ignored (gen). */
static void
netev_forget(struct netev_sock *ns)
{
	struct netev_sock **p;

	if (ns->registered)
		(void)epoll_ctl(netev_epfd, EPOLL_CTL_DEL, ns->fd, NULL);
	for (p = netev_bucket(ns->s); *p != ns; p = &(*p)->next)
		;
	*p = ns->next;
	ns->s = INVALID_SOCKET;
	ns->gen++;
	ns->next = netev_free;
	netev_free = ns;
	__atomic_fetch_sub(&netev_live, 1, __ATOMIC_RELAXED);
}

/* The epoll events ns needs now. */
static uint32_t
netev_mask(const struct netev_sock *ns)
{
	LONG w = ns->want & ns->armed;
	uint32_t m = 0;

	switch (ns->state) {
	case NS_CONNECTING:
		return EPOLLOUT;	/* the connect's end, wanted or not */
	case NS_LISTENING:
		return (w & FD_ACCEPT) != 0 ? EPOLLIN : 0;
	case NS_CONNECTED:
		if (w & FD_READ)
			m |= EPOLLIN;
		if (w & FD_OOB)
			m |= EPOLLPRI;
		if (w & FD_WRITE)
			m |= EPOLLOUT;
		if (ns->stream && (w & (FD_READ | FD_CLOSE)))
			m |= EPOLLRDHUP;
		return m;
	default:
		return 0;
	}
}

/* Nothing: ns's registration asks for what it needs now (a report since
 * the last arming left it disarmed: mask 0). */
static void
netev_arm(struct netev_sock *ns)
{
	struct epoll_event e;
	uint32_t m = netev_mask(ns);

	if (m == ns->mask && (m != 0 || !ns->registered))
		return;
	e.events = m | EPOLLONESHOT;
	e.data.u64 = (uint64_t)ns->gen << 32 | ns->slot;
	if (m == 0) {
		/* Disarmed already (a report came) or about to be: out of the
		 * set, so no EPOLLHUP reaches the watcher for nothing. */
		(void)epoll_ctl(netev_epfd, EPOLL_CTL_DEL, ns->fd, NULL);
		ns->registered = 0;
	} else if (ns->registered) {
		(void)epoll_ctl(netev_epfd, EPOLL_CTL_MOD, ns->fd, &e);
	} else if (epoll_ctl(netev_epfd, EPOLL_CTL_ADD, ns->fd, &e) == 0) {
		ns->registered = 1;
	} else {
		m = 0;
	}
	ns->mask = m;
}

/* Nothing: event bit (FD_*_BIT) happened with WSA code code; recorded
 * when asked for, and the event object set. */
static void
netev_record(struct netev_sock *ns, int bit, int code)
{
	int err;

	ns->armed &= ~(1L << bit);
	if ((ns->want & 1L << bit) == 0)
		return;
	ns->rec |= 1L << bit;
	ns->err[bit] = code;
	(void)event_set(ns->ev, &err);
}

/* The socket's pending error as a WSA code (read, so cleared: only a
 * connect's end asks, where Winsock hands it over with FD_CONNECT). */
static int
netev_so_error(int fd)
{
	socklen_t len = sizeof(int);
	int e = 0;

	if (libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		e = errno;
	return e == 0 ? 0 : errmap_from_errno(e);
}

/* The TCP state of fd, or -1 (not TCP). */
static int
netev_tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (libc.getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return -1;
	return ti.tcpi_state;
}

/* FD_CLOSE's code: 0 when the peer closed in order, WSAECONNRESET when
 * the connection was reset (TCP's state is CLOSE, not CLOSE_WAIT), read
 * without taking the socket's error from the program's next call. */
static int
netev_close_code(const struct netev_sock *ns)
{
	return ns->tcp && netev_tcp_state(ns->fd) == TCP_CLOSE ?
	    WSAECONNRESET : 0;
}

/* Whether fd has bytes to read. */
static int
netev_has_data(int fd)
{
	int n = 0;

	return libc.ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

/* Nothing: what a report r means for ns, applied. */
static void
netev_apply(struct netev_sock *ns, uint32_t r)
{
	int code;

	if (ns->state == NS_CONNECTING) {
		if ((r & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0)
			return;
		code = netev_so_error(ns->fd);
		ns->state = code == 0 ? NS_CONNECTED : NS_IDLE;
		netev_record(ns, FD_CONNECT_BIT, code);
		if (code != 0)
			return;
		ns->armed |= FD_WRITE;
	}
	if (ns->state == NS_LISTENING) {
		if ((r & EPOLLIN) && (ns->armed & FD_ACCEPT))
			netev_record(ns, FD_ACCEPT_BIT, 0);
		return;
	}
	if (ns->state != NS_CONNECTED)
		return;
	if ((r & EPOLLIN) && (ns->armed & FD_READ)) {
		/* At the end of a stream EPOLLIN stays up with nothing to
		 * read: that is FD_CLOSE's, so FD_READ waits for a read. */
		if ((r & EPOLLRDHUP) == 0 || netev_has_data(ns->fd))
			netev_record(ns, FD_READ_BIT, 0);
		else
			ns->armed &= ~FD_READ;
	}
	if ((r & EPOLLPRI) && (ns->armed & FD_OOB))
		netev_record(ns, FD_OOB_BIT, 0);
	if ((r & EPOLLOUT) && (ns->armed & FD_WRITE))
		netev_record(ns, FD_WRITE_BIT, 0);
	if (ns->stream && (r & (EPOLLRDHUP | EPOLLHUP)) &&
	    (ns->armed & FD_CLOSE))
		netev_record(ns, FD_CLOSE_BIT, netev_close_code(ns));
}

static void *
netev_main(void *unused)
{
	struct epoll_event evs[NETEV_BATCH];
	struct netev_sock *ns;
	LONG armed, rec;
	int i, n, state;
	uint32_t slot;

	(void)unused;
	for (;;) {
		n = epoll_wait(netev_epfd, evs, NETEV_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg("network events: epoll_wait: %s; events stop",
			    strerror(errno));
			return NULL;
		}
		pthread_mutex_lock(&netev_lock);
		for (i = 0; i < n; i++) {
			slot = (uint32_t)evs[i].data.u64;
			if (slot >= netev_nslots)
				continue;
			ns = netev_slots[slot];
			if (ns->gen != (uint32_t)(evs[i].data.u64 >> 32) ||
			    ns->s == INVALID_SOCKET)
				continue;	/* forgotten since */
			ns->mask = 0;		/* EPOLLONESHOT disarmed it */
			armed = ns->armed;
			rec = ns->rec;
			state = ns->state;
			netev_apply(ns, evs[i].events);
			/* A report that changed nothing stays disarmed until
			 * a hook: what it said is still true. */
			if (ns->armed != armed || ns->rec != rec ||
			    ns->state != state)
				netev_arm(ns);
		}
		pthread_mutex_unlock(&netev_lock);
	}
}

/* The epoll instance and the watcher, made once (netev_lock held): 0 or
 * WSAENOBUFS. */
static int
netev_start(void)
{
	if (netev_epfd >= 0)
		return 0;
	if ((netev_epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return WSAENOBUFS;
	if (spawn_engine(netev_main) != 0) {
		(void)libc.close(netev_epfd);
		netev_epfd = -1;
		return WSAENOBUFS;
	}
	return 0;
}

/* Nothing: ns's state and type, read from the kernel. */
static void
netev_probe(struct netev_sock *ns)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	int type = 0, on = 0, tstate;

	(void)libc.getsockopt(ns->fd, SOL_SOCKET, SO_TYPE, &type, &len);
	ns->stream = type == SOCK_STREAM || type == SOCK_SEQPACKET;
	tstate = ns->stream ? netev_tcp_state(ns->fd) : -1;
	ns->tcp = tstate >= 0;
	if (!ns->stream) {
		ns->state = NS_CONNECTED;
		return;
	}
	len = sizeof(on);
	if (libc.getsockopt(ns->fd, SOL_SOCKET, SO_ACCEPTCONN, &on,
	    &len) == 0 && on) {
		ns->state = NS_LISTENING;
		return;
	}
	len = sizeof(ss);
	if (libc.getpeername(ns->fd, (struct sockaddr *)&ss, &len) == 0)
		ns->state = NS_CONNECTED;
	else
		ns->state = tstate == TCP_SYN_SENT ? NS_CONNECTING : NS_IDLE;
}

static int
netev_fail(LPINT lpErrno, int code)
{
	*lpErrno = code;
	return SOCKET_ERROR;
}

int WSPAPI
netev_select(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents,
    LPINT lpErrno)
{
	struct netev_sock *ns;
	int fd, on = 1, err;

	if ((fd = base_kernel_fd(s)) < 0)
		return netev_fail(lpErrno, WSAENOTSOCK);
	if ((lNetworkEvents & ~FD_ALL_EVENTS) != 0 ||
	    (lNetworkEvents != 0 && event_fd(hEventObject) < 0))
		return netev_fail(lpErrno, WSAEINVAL);
	/* Whatever lNetworkEvents is, as Winsock. */
	if (libc.ioctl(fd, FIONBIO, &on) != 0)
		return netev_fail(lpErrno, errmap_from_errno(errno));
	pthread_mutex_lock(&netev_lock);
	ns = netev_find(s);
	if (lNetworkEvents == 0) {
		if (ns != NULL)
			netev_forget(ns);
		pthread_mutex_unlock(&netev_lock);
		return 0;
	}
	if ((err = netev_start()) != 0 ||
	    (ns == NULL && (ns = netev_new(s)) == NULL)) {
		pthread_mutex_unlock(&netev_lock);
		return netev_fail(lpErrno, err != 0 ? err : WSAENOBUFS);
	}
	if (ns->registered && ns->fd != fd) {
		(void)epoll_ctl(netev_epfd, EPOLL_CTL_DEL, ns->fd, NULL);
		ns->registered = 0;
		ns->mask = 0;
	}
	ns->fd = fd;
	ns->ev = hEventObject;
	ns->want = lNetworkEvents;
	ns->armed = NETEV_ARMABLE;
	ns->rec = 0;
	memset(ns->err, 0, sizeof(ns->err));
	netev_probe(ns);
	base_netev_mark(s);
	/* Re-armed from scratch: what is true now is reported now. */
	ns->mask = 0;
	netev_arm(ns);
	pthread_mutex_unlock(&netev_lock);
	return 0;
}

int WSPAPI
netev_enum(SOCKET s, WSAEVENT hEventObject,
    LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno)
{
	struct netev_sock *ns;
	int i, err;

	if (base_kernel_fd(s) < 0)
		return netev_fail(lpErrno, WSAENOTSOCK);
	if (lpNetworkEvents == NULL)
		return netev_fail(lpErrno, WSAEFAULT);
	if (hEventObject != WSA_INVALID_EVENT && event_fd(hEventObject) < 0)
		return netev_fail(lpErrno, WSAEINVAL);
	memset(lpNetworkEvents, 0, sizeof(*lpNetworkEvents));
	pthread_mutex_lock(&netev_lock);
	if ((ns = netev_find(s)) != NULL) {
		lpNetworkEvents->lNetworkEvents = ns->rec;
		for (i = 0; i < FD_MAX_EVENTS; i++)
			if (ns->rec & 1L << i)
				lpNetworkEvents->iErrorCode[i] = ns->err[i];
		ns->rec = 0;
	}
	if (hEventObject != WSA_INVALID_EVENT)
		(void)event_reset(hEventObject, &err);
	pthread_mutex_unlock(&netev_lock);
	return 0;
}

void
netev_note(SOCKET s, enum netev_what what)
{
	struct netev_sock *ns;
	int saved = errno;	/* the base's caller reads it next */

	pthread_mutex_lock(&netev_lock);
	if ((ns = netev_find(s)) == NULL) {
		pthread_mutex_unlock(&netev_lock);
		errno = saved;
		return;
	}
	switch (what) {
	case NETEV_RECV:
		ns->armed |= FD_READ;
		break;
	case NETEV_RECV_OOB:
		ns->armed |= FD_OOB;
		break;
	case NETEV_SEND_BLOCKED:
		ns->armed |= FD_WRITE;
		break;
	case NETEV_ACCEPT:
		ns->armed |= FD_ACCEPT;
		break;
	case NETEV_CONNECTING:
		ns->state = NS_CONNECTING;
		ns->armed |= FD_CONNECT | FD_WRITE;
		break;
	case NETEV_CONNECTED:
		ns->state = NS_CONNECTED;
		ns->armed |= FD_WRITE;
		netev_record(ns, FD_CONNECT_BIT, 0);
		break;
	case NETEV_LISTEN:
		ns->state = NS_LISTENING;
		ns->armed |= FD_ACCEPT;
		break;
	}
	/* What the last report left disarmed is looked at again. */
	netev_arm(ns);
	pthread_mutex_unlock(&netev_lock);
	errno = saved;
}

void
netev_accepted(SOCKET ls, SOCKET s)
{
	struct netev_sock *ns;
	WSAEVENT ev = WSA_INVALID_EVENT;
	LONG want = 0;
	int err, saved = errno;

	pthread_mutex_lock(&netev_lock);
	if ((ns = netev_find(ls)) != NULL) {
		ns->armed |= FD_ACCEPT;
		netev_arm(ns);
		ev = ns->ev;
		want = ns->want;
	}
	pthread_mutex_unlock(&netev_lock);
	if (want != 0 && s != INVALID_SOCKET &&
	    netev_select(s, ev, want, &err) != 0)
		log_msg("network events: the accepted socket keeps none of "
		    "its listener's (%s)", errmap_name(err));
	errno = saved;
}

int
netev_selected(SOCKET s)
{
	int r;

	if (!netev_any())
		return 0;
	pthread_mutex_lock(&netev_lock);
	r = netev_find(s) != NULL;
	pthread_mutex_unlock(&netev_lock);
	return r;
}

void
netev_close(SOCKET s)
{
	struct netev_sock *ns;

	pthread_mutex_lock(&netev_lock);
	if ((ns = netev_find(s)) != NULL)
		netev_forget(ns);
	pthread_mutex_unlock(&netev_lock);
}

void
netev_atfork_prepare(void)
{
	pthread_mutex_lock(&netev_lock);
}

void
netev_atfork_parent(void)
{
	pthread_mutex_unlock(&netev_lock);
}

void
netev_atfork_child(void)
{
	uint32_t i;

	for (i = 0; i < netev_nslots; i++)
		free(netev_slots[i]);
	free(netev_slots);
	netev_slots = NULL;
	netev_nslots = netev_cap = 0;
	netev_free = NULL;
	memset(netev_hash, 0, sizeof(netev_hash));
	__atomic_store_n(&netev_live, 0, __ATOMIC_RELAXED);
	if (netev_epfd >= 0)
		(void)libc.close(netev_epfd);	/* the parent's instance */
	netev_epfd = -1;
	pthread_mutex_init(&netev_lock, NULL);
}

/*
 * test_ovl.c - overlapped WSASend, WSARecv, WSASendTo, WSARecvFrom,
 * WSAIoctl and WSAGetOverlappedResult over loopback (spi/ovl.c through
 * the application API), on io_uring and, with ring set-up refused through
 * the real-function table, on the poll fallback: the suites named *_poll
 * run the same cases that way.
 *
 * The overlapped end is a WSASocket with WSA_FLAG_OVERLAPPED; its peer is
 * a plain libc socket the test drives itself.  Every wait is bounded.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <wspshim/ws2spi.h>

#include "event.h"
#include "libc.h"
#include "ovl.h"

#define WAIT_MS		5000
#define SHORT_MS	50
#define MANY		1000

static void __attribute__((constructor))
hermetic_catalog(void)
{
	setenv("WSPSHIM_CATALOG", "/nonexistent/wspshim-test/catalog", 1);
	unsetenv("WSPSHIM_LAYERS");
}

static void
start(void)
{
	WSADATA d;

	cr_assert_eq(WSAStartup(MAKEWORD(2, 2), &d), 0);
}

static int
no_ring(unsigned e, struct io_uring *r, struct io_uring_params *p)
{
	return -EPERM;
}

/* Start with io_uring refused, as kernel.io_uring_disabled would. */
static void
start_poll(void)
{
	start();
	libc.io_uring_queue_init_params = no_ring;
}

/* A connected TCP pair over 127.0.0.1: *ov the overlapped WSASocket,
 * *peer a plain socket. */
static void
tcp_pair(SOCKET *ov, int *peer, DWORD flags)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(l, 0);
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 1), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	*ov = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, flags);
	cr_assert_neq(*ov, INVALID_SOCKET);
	cr_assert_eq(connect((int)*ov, (struct sockaddr *)&a, sizeof(a)), 0);
	*peer = accept(l, NULL, NULL);
	cr_assert_geq(*peer, 0);
	setsockopt(*peer, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	close(l);
}

static WSAEVENT
new_event(void)
{
	WSAEVENT e = WSACreateEvent();

	cr_assert_neq(e, WSA_INVALID_EVENT);
	return e;
}

/* Wait for ev, bounded. */
static void
wait_event(WSAEVENT ev)
{
	cr_assert_eq(WSAWaitForMultipleEvents(1, &ev, FALSE, WAIT_MS, FALSE),
	    WSA_WAIT_EVENT_0, "the request did not complete");
}

TestSuite(ovl, .init = start);
TestSuite(ovl_poll, .init = start_poll);

/* --- event completion, pending and immediate --------------------------- */

static void
event_completion(void)
{
	WSAOVERLAPPED ov = { 0 };
	char buf[16] = { 0 };
	WSABUF b = { sizeof(buf), buf };
	DWORD n = 99, flags = 0, got, fl;
	SOCKET s;
	int peer;

	tcp_pair(&s, &peer, WSA_FLAG_OVERLAPPED);
	ov.hEvent = new_event();
	cr_assert_eq(WSARecv(s, &b, 1, &n, &flags, &ov, NULL), SOCKET_ERROR);
	cr_assert_eq(WSAGetLastError(), WSA_IO_PENDING);
	cr_assert_eq(WSAGetOverlappedResult(s, &ov, &got, FALSE, &fl), FALSE);
	cr_assert_eq(WSAGetLastError(), WSA_IO_INCOMPLETE);
	cr_assert(!HasOverlappedIoCompleted(&ov));
	cr_assert_eq(send(peer, "hello", 5, 0), 5);
	wait_event(ov.hEvent);
	cr_assert_eq(WSAGetOverlappedResult(s, &ov, &got, FALSE, &fl), TRUE);
	cr_assert_eq(got, 5);
	cr_assert_eq(ov.Internal, 0);
	cr_assert_eq(ov.InternalHigh, 5);
	cr_assert_str_eq(buf, "hello");

	/* Data already there: it completes at once, with the event set. */
	cr_assert_eq(send(peer, "again", 5, 0), 5);
	usleep(20000);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(WSARecv(s, &b, 1, &n, &flags, &ov, NULL), 0);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(buf, "again");
	cr_assert_eq(WSAWaitForMultipleEvents(1, &ov.hEvent, FALSE, 0, FALSE),
	    WSA_WAIT_EVENT_0, "an immediate success sets the event");

	/* A send, then the byte count through the result. */
	b.len = 3;
	cr_assert_eq(WSASend(s, &b, 1, &n, 0, &ov, NULL), 0);
	cr_assert_eq(WSAGetOverlappedResult(s, &ov, &got, TRUE, &fl), TRUE);
	cr_assert_eq(got, 3);
	cr_assert_eq(recv(peer, buf, sizeof(buf), 0), 3);
	closesocket(s);
	close(peer);
}

Test(ovl, event_completion_pending_and_immediate)
{
	event_completion();
	cr_assert_str_eq(ovl_backend(), "io_uring");
}

Test(ovl_poll, event_completion_pending_and_immediate)
{
	event_completion();
	cr_assert_str_eq(ovl_backend(), "poll");
}

/* --- completion routines ----------------------------------------------- */

static pthread_t routine_thread;
static int routine_runs;
static DWORD routine_err, routine_cb;

static void WSAAPI
routine(DWORD err, DWORD cb, LPWSAOVERLAPPED ov, DWORD flags)
{
	routine_thread = pthread_self();
	routine_runs++;
	routine_err = err;
	routine_cb = cb;
}

Test(ovl, routine_runs_only_in_an_alertable_wait_of_its_thread)
{
	WSAOVERLAPPED ov = { 0 };
	char buf[8];
	WSABUF b = { sizeof(buf), buf };
	DWORD n, flags = 0;
	WSAEVENT idle = new_event();
	SOCKET s;
	int peer;

	tcp_pair(&s, &peer, WSA_FLAG_OVERLAPPED);
	cr_assert_eq(WSARecv(s, &b, 1, &n, &flags, &ov, routine),
	    SOCKET_ERROR);
	cr_assert_eq(WSAGetLastError(), WSA_IO_PENDING);
	cr_assert_eq(send(peer, "abc", 3, 0), 3);
	/* Completed, but the routine waits for an alertable wait. */
	cr_assert_eq(WSAWaitForMultipleEvents(1, &idle, FALSE, SHORT_MS * 4,
	    FALSE), WSA_WAIT_TIMEOUT);
	cr_assert(HasOverlappedIoCompleted(&ov));
	cr_assert_eq(routine_runs, 0);
	cr_assert_eq(SleepEx(WAIT_MS, TRUE), WSA_WAIT_IO_COMPLETION);
	cr_assert_eq(routine_runs, 1);
	cr_assert_eq(routine_err, 0);
	cr_assert_eq(routine_cb, 3);
	cr_assert(pthread_equal(routine_thread, pthread_self()));
	closesocket(s);
	close(peer);
}

/* --- order: 1,000 requests in flight on one socket --------------------- */

struct many {
	WSAOVERLAPPED	ov[MANY];
	WSABUF		b[MANY];
	unsigned char	*buf;
	int		order[MANY];
	int		done;
};

static struct many *many_now;

static void WSAAPI
many_routine(DWORD err, DWORD cb, LPWSAOVERLAPPED ov, DWORD flags)
{
	struct many *m = many_now;

	cr_assert_eq(err, 0);
	m->order[m->done++] = (int)(ov - m->ov);
}

static void
many_receives(void)
{
	struct many *m = calloc(1, sizeof(*m));
	size_t per = 100, total = per * MANY, off, got;
	unsigned char *src = malloc(total), *out;
	DWORD n, flags = 0;
	SOCKET s;
	int peer, i;

	many_now = m;
	m->buf = malloc(total);
	for (off = 0; off < total; off++)
		src[off] = (unsigned char)(off * 7 + off / 251);
	tcp_pair(&s, &peer, WSA_FLAG_OVERLAPPED);
	for (i = 0; i < MANY; i++) {
		m->b[i] = (WSABUF){ (ULONG)per, (char *)m->buf + i * per };
		cr_assert_eq(WSARecv(s, &m->b[i], 1, &n, &flags, &m->ov[i],
		    many_routine), SOCKET_ERROR);
		cr_assert_eq(WSAGetLastError(), WSA_IO_PENDING);
	}
	/* Sent in odd pieces, so receives fill partly. */
	for (off = 0; off < total; off += 333)
		cr_assert_gt(send(peer, src + off, total - off < 333 ?
		    total - off : 333, 0), 0);
	while (m->done < MANY)
		cr_assert_eq(SleepEx(WAIT_MS, TRUE), WSA_WAIT_IO_COMPLETION,
		    "%d of %d completed", m->done, MANY);
	/* Routines ran in posting order, and the pieces, in posting
	 * order, are the stream. */
	out = malloc(total);
	got = 0;
	for (i = 0; i < MANY; i++) {
		cr_assert_eq(m->order[i], i, "completion %d was request %d",
		    i, m->order[i]);
		memcpy(out + got, m->b[i].buf, m->ov[i].InternalHigh);
		got += m->ov[i].InternalHigh;
	}
	cr_assert_leq(got, total);
	cr_assert_eq(memcmp(out, src, got), 0, "bytes out of order");
	closesocket(s);
	close(peer);
	free(out);
	free(src);
	free(m->buf);
	free(m);
}

Test(ovl, thousand_receives_fill_in_posting_order)
{
	many_receives();
}

Test(ovl_poll, thousand_receives_fill_in_posting_order)
{
	many_receives();
}

static void
many_sends(void)
{
	struct many *m = calloc(1, sizeof(*m));
	size_t per = 4096, total = per * MANY, got = 0, off;
	unsigned char *in = malloc(total);
	DWORD n;
	SOCKET s;
	int peer, i, small = 4096, pending = 0;

	many_now = m;
	m->buf = malloc(total);
	for (off = 0; off < total; off++)
		m->buf[off] = (unsigned char)(off / per + off * 13);
	tcp_pair(&s, &peer, WSA_FLAG_OVERLAPPED);
	setsockopt((int)s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	for (i = 0; i < MANY; i++) {
		m->b[i] = (WSABUF){ (ULONG)per, (char *)m->buf + i * per };
		if (WSASend(s, &m->b[i], 1, &n, 0, &m->ov[i],
		    many_routine) != 0) {
			cr_assert_eq(WSAGetLastError(), WSA_IO_PENDING);
			pending++;
		}
	}
	cr_assert_gt(pending, 0, "a small send buffer leaves sends pending");
	while (got < total) {
		struct pollfd p = { .fd = peer, .events = POLLIN };
		ssize_t r;

		cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "%zu of %zu bytes", got,
		    total);
		r = recv(peer, in + got, total - got, 0);
		cr_assert_gt(r, 0);
		got += (size_t)r;
		SleepEx(0, TRUE);
	}
	while (m->done < MANY)
		cr_assert_eq(SleepEx(WAIT_MS, TRUE), WSA_WAIT_IO_COMPLETION);
	for (i = 0; i < MANY; i++) {
		cr_assert_eq(m->order[i], i);
		cr_assert_eq(m->ov[i].InternalHigh, per);
	}
	cr_assert_eq(memcmp(in, m->buf, total), 0,
	    "the bytes of two sends interleaved or came out of order");
	closesocket(s);
	close(peer);
	free(in);
	free(m->buf);
	free(m);
}

Test(ovl, thousand_sends_keep_their_bytes_in_order)
{
	many_sends();
}

Test(ovl_poll, thousand_sends_keep_their_bytes_in_order)
{
	many_sends();
}

/* --- UDP with addresses ------------------------------------------------ */

Test(ovl, udp_sendto_and_recvfrom_with_addresses)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, b_addr, from;
	socklen_t len = sizeof(a);
	WSAOVERLAPPED ov = { 0 }, ov2 = { 0 };
	char buf[32] = { 0 };
	WSABUF b = { sizeof(buf), buf }, out = { 4, "ping" };
	DWORD n, flags = 0, got, fl;
	INT fromlen = sizeof(from);
	SOCKET s, t;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = WSASocketW(AF_INET, SOCK_DGRAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED);
	t = WSASocketW(AF_INET, SOCK_DGRAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED);
	cr_assert_eq(bind((int)s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname((int)s, (struct sockaddr *)&a, &len), 0);
	b_addr = a;
	b_addr.sin_port = 0;
	cr_assert_eq(bind((int)t, (struct sockaddr *)&b_addr, sizeof(b_addr)),
	    0);
	len = sizeof(b_addr);
	cr_assert_eq(getsockname((int)t, (struct sockaddr *)&b_addr, &len), 0);
	ov.hEvent = new_event();
	cr_assert_eq(WSARecvFrom(s, &b, 1, &n, &flags,
	    (struct sockaddr *)&from, &fromlen, &ov, NULL), SOCKET_ERROR);
	cr_assert_eq(WSAGetLastError(), WSA_IO_PENDING);
	cr_assert_eq(WSASendTo(t, &out, 1, &n, 0, (struct sockaddr *)&a,
	    sizeof(a), &ov2, NULL), 0);
	cr_assert_eq(n, 4);
	wait_event(ov.hEvent);
	cr_assert_eq(WSAGetOverlappedResult(s, &ov, &got, TRUE, &fl), TRUE);
	cr_assert_eq(got, 4);
	cr_assert_str_eq(buf, "ping");
	cr_assert_eq(fromlen, sizeof(from));
	cr_assert_eq(from.sin_port, b_addr.sin_port, "the sender's address");
	cr_assert_eq(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	closesocket(s);
	closesocket(t);
}

/* --- GetOverlappedResult waiting, cancellation, errors ----------------- */

struct later {
	int	fd;
	int	delay_ms;
};

static void *
send_later(void *arg)
{
	struct later *l = arg;

	usleep((useconds_t)l->delay_ms * 1000);
	(void)send(l->fd, "late", 4, 0);
	return NULL;
}

Test(ovl, get_result_waits_without_an_event)
{
	WSAOVERLAPPED ov = { 0 };
	char buf[8];
	WSABUF b = { sizeof(buf), buf };
	DWORD n, flags = 0, got = 0, fl;
	struct later l;
	pthread_t t;
	SOCKET s;

	tcp_pair(&s, &l.fd, WSA_FLAG_OVERLAPPED);
	l.delay_ms = 30;
	cr_assert_eq(WSARecv(s, &b, 1, &n, &flags, &ov, NULL), SOCKET_ERROR);
	cr_assert_eq(pthread_create(&t, NULL, send_later, &l), 0);
	cr_assert_eq(WSAGetOverlappedResult(s, &ov, &got, TRUE, &fl), TRUE);
	cr_assert_eq(got, 4);
	pthread_join(t, NULL);
	closesocket(s);
	close(l.fd);
}

static void
cancel_by_close(void)
{
	WSAOVERLAPPED ov[3] = { 0 };
	char buf[3][8];
	WSABUF b[3];
	DWORD n, flags = 0;
	SOCKET s;
	int peer, i;

	tcp_pair(&s, &peer, WSA_FLAG_OVERLAPPED);
	for (i = 0; i < 3; i++) {
		b[i] = (WSABUF){ sizeof(buf[i]), buf[i] };
		ov[i].hEvent = new_event();
		cr_assert_eq(WSARecv(s, &b[i], 1, &n, &flags, &ov[i], routine),
		    SOCKET_ERROR);
	}
	cr_assert_eq(closesocket(s), 0);
	for (i = 0; i < 3; i++) {
		wait_event(ov[i].hEvent);
		cr_assert_eq(ov[i].Internal, WSA_OPERATION_ABORTED);
	}
	while (routine_runs < 3)
		cr_assert_eq(SleepEx(WAIT_MS, TRUE), WSA_WAIT_IO_COMPLETION);
	cr_assert_eq(routine_err, WSA_OPERATION_ABORTED);
	close(peer);
}

Test(ovl, closesocket_aborts_what_is_pending)
{
	cancel_by_close();
}

Test(ovl_poll, closesocket_aborts_what_is_pending)
{
	cancel_by_close();
}

Test(ovl, documented_errors)
{
	WSAOVERLAPPED ov = { 0 };
	char buf[8];
	WSABUF b = { sizeof(buf), buf };
	DWORD n, flags = 0, got, fl;
	SOCKET s;
	int peer, pfd[2];

	tcp_pair(&s, &peer, WSA_FLAG_OVERLAPPED);
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(WSARecv((SOCKET)pfd[0], &b, 1, &n, &flags, &ov, NULL),
	    SOCKET_ERROR);
	cr_assert_eq(WSAGetLastError(), WSAENOTSOCK);
	cr_assert_eq(WSARecv(s, NULL, 1, &n, &flags, &ov, NULL), SOCKET_ERROR);
	cr_assert_eq(WSAGetLastError(), WSAEFAULT);
	cr_assert_eq(WSARecv(s, &b, 1, &n, NULL, &ov, NULL), SOCKET_ERROR);
	cr_assert_eq(WSAGetLastError(), WSAEFAULT);
	ov.hEvent = (WSAEVENT)(uintptr_t)0x1233;
	cr_assert_eq(WSARecv(s, &b, 1, &n, &flags, &ov, NULL), SOCKET_ERROR);
	cr_assert_eq(WSAGetLastError(), WSA_INVALID_HANDLE);
	cr_assert_eq(WSASend(s, &b, 1, &n, 0, &ov, NULL), SOCKET_ERROR);
	cr_assert_eq(WSAGetLastError(), WSA_INVALID_HANDLE);
	cr_assert_eq(WSAGetOverlappedResult(s, NULL, &got, FALSE, &fl), FALSE);
	cr_assert_eq(WSAGetLastError(), WSAEFAULT);
	cr_assert_eq(WSAGetOverlappedResult(s, &ov, NULL, FALSE, &fl), FALSE);
	cr_assert_eq(WSAGetLastError(), WSAEFAULT);
	ov.Internal = WSA_IO_PENDING;
	cr_assert_eq(WSAGetOverlappedResult(s, &ov, &got, TRUE, &fl), FALSE);
	cr_assert_eq(WSAGetLastError(), WSA_INVALID_HANDLE);
	cr_assert_eq(WSAGetOverlappedResult((SOCKET)pfd[0], &ov, &got, FALSE,
	    &fl), FALSE);
	cr_assert_eq(WSAGetLastError(), WSAENOTSOCK);
	closesocket(s);
	close(peer);
}

Test(ovl, non_overlapped_socket_is_synchronous)
{
	WSAOVERLAPPED ov = { 0 };
	char buf[8] = { 0 };
	WSABUF b = { sizeof(buf), buf };
	DWORD n = 0, flags = 0;
	SOCKET s;
	int peer;

	tcp_pair(&s, &peer, 0);
	ov.hEvent = new_event();
	ov.Internal = 4242;
	cr_assert_eq(send(peer, "sync", 4, 0), 4);
	cr_assert_eq(WSARecv(s, &b, 1, &n, &flags, &ov, routine), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(ov.Internal, 4242, "the overlapped struct was used");
	cr_assert_eq(WSAWaitForMultipleEvents(1, &ov.hEvent, FALSE, 0, TRUE),
	    WSA_WAIT_TIMEOUT, "an event was set or a routine queued");
	cr_assert_eq(routine_runs, 0);
	cr_assert_str_eq(ovl_backend(), "none",
	    "a synchronous call started the engine");
	closesocket(s);
	close(peer);
}

Test(ovl, ioctl_completes_at_once)
{
	WSAOVERLAPPED ov = { 0 };
	unsigned long avail = 0;
	DWORD n = 0;
	SOCKET s;
	int peer;

	tcp_pair(&s, &peer, WSA_FLAG_OVERLAPPED);
	cr_assert_eq(send(peer, "xyz", 3, 0), 3);
	usleep(20000);
	ov.hEvent = new_event();
	cr_assert_eq(WSAIoctl(s, FIONREAD, NULL, 0, &avail, sizeof(avail), &n,
	    &ov, routine), 0);
	cr_assert_eq(avail, 3);
	cr_assert_eq(ov.Internal, 0);
	cr_assert_eq(ov.InternalHigh, n);
	wait_event(ov.hEvent);
	cr_assert_eq(SleepEx(WAIT_MS, TRUE), WSA_WAIT_IO_COMPLETION);
	cr_assert_eq(routine_runs, 1);
	closesocket(s);
	close(peer);
}

Test(ovl, fork_child_inherits_no_pending_request)
{
	WSAOVERLAPPED ov = { 0 };
	char buf[8] = { 0 };
	WSABUF b = { sizeof(buf), buf };
	DWORD n, flags = 0, got, fl;
	SOCKET s;
	int peer, status;
	pid_t pid;

	tcp_pair(&s, &peer, WSA_FLAG_OVERLAPPED);
	ov.hEvent = new_event();
	cr_assert_eq(WSARecv(s, &b, 1, &n, &flags, &ov, NULL), SOCKET_ERROR);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		WSAOVERLAPPED ov2 = { 0 };
		char c[8] = { 0 };
		WSABUF b2 = { sizeof(c), c };
		SOCKET s2;
		int p2, ok;

		alarm(20);	/* a child that hangs fails the test, bounded */
		usleep(100000);
		/* The parent's request stays the parent's. */
		ok = ov.Internal == WSA_IO_PENDING &&
		    !strcmp(ovl_backend(), "none");
		/* The child's own request works, on its own engine. */
		tcp_pair(&s2, &p2, WSA_FLAG_OVERLAPPED);
		ov2.hEvent = WSACreateEvent();
		ok = ok && WSARecv(s2, &b2, 1, &n, &flags, &ov2, NULL) != 0 &&
		    send(p2, "kid", 3, 0) == 3 &&
		    WSAGetOverlappedResult(s2, &ov2, &got, TRUE, &fl) &&
		    got == 3;
		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(send(peer, "mom", 3, 0), 3);
	wait_event(ov.hEvent);
	cr_assert_eq(WSAGetOverlappedResult(s, &ov, &got, TRUE, &fl), TRUE);
	cr_assert_eq(got, 3);
	cr_assert_str_eq(buf, "mom");
	closesocket(s);
	close(peer);
}

/* --- a layer completing its client's request itself -------------------- */

static WSAOVERLAPPED client_ov;
static DWORD client_cb;

static void WSPAPI
client_routine_apc(DWORD_PTR ctx)
{
	routine(0, (DWORD)ctx, &client_ov, 0);
}

struct waiter {
	SOCKET	s;
	BOOL	ok;
	DWORD	cb;
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;
	DWORD fl;

	w->ok = WSAGetOverlappedResult(w->s, &client_ov, &w->cb, TRUE, &fl);
	return NULL;
}

/*
 * What a layer does with WPUCompleteOverlappedRequest and WPUQueueApc,
 * played by the test: it takes the client's request (client_ov, pending),
 * issues its own below with its own WSAOVERLAPPED, and when its own
 * completes, completes the client's: the client's waiter wakes, its event
 * is set and its routine runs in its thread's alertable wait.
 */
Test(ovl, layer_completes_the_clients_request)
{
	WSAOVERLAPPED own = { 0 }, bad = { 0 };
	char buf[16] = { 0 };
	WSABUF b = { sizeof(buf), buf };
	DWORD n, flags = 0, fl;
	WSATHREADID tid;
	struct waiter w;
	pthread_t t;
	SOCKET s;
	int peer, err = 0;

	tcp_pair(&s, &peer, WSA_FLAG_OVERLAPPED);
	w.s = s;
	client_ov.hEvent = new_event();
	client_ov.Internal = WSA_IO_PENDING;	/* the layer took it */
	cr_assert_eq(apc_open_current_thread(&tid, &err), 0);
	cr_assert_eq(WSARecv(s, &b, 1, &n, &flags, &own, NULL), SOCKET_ERROR);
	cr_assert_eq(WSAGetLastError(), WSA_IO_PENDING);
	cr_assert_eq(pthread_create(&t, NULL, waiter_main, &w), 0);
	cr_assert_eq(send(peer, "layered", 7, 0), 7);
	cr_assert_eq(WSAGetOverlappedResult(s, &own, &client_cb, TRUE, &fl),
	    TRUE);
	cr_assert_eq(WPUCompleteOverlappedRequest(s, &client_ov, 0, client_cb,
	    &err), 0);
	cr_assert_eq(apc_queue(&tid, client_routine_apc, client_cb, &err), 0);
	pthread_join(t, NULL);
	cr_assert(w.ok, "the client's waiter failed: %d", WSAGetLastError());
	cr_assert_eq(w.cb, 7);
	wait_event(client_ov.hEvent);
	cr_assert_eq(SleepEx(WAIT_MS, TRUE), WSA_WAIT_IO_COMPLETION);
	cr_assert_eq(routine_runs, 1);
	cr_assert_eq(routine_cb, 7);
	cr_assert(pthread_equal(routine_thread, pthread_self()));

	cr_assert_eq(WPUCompleteOverlappedRequest(s, NULL, 0, 0, &err),
	    SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT);
	bad.hEvent = (WSAEVENT)(uintptr_t)0x777;
	bad.Internal = WSA_IO_PENDING;
	cr_assert_eq(WPUCompleteOverlappedRequest(s, &bad, WSAECONNRESET, 3,
	    &err), SOCKET_ERROR);
	cr_assert_eq(err, WSA_INVALID_HANDLE);
	cr_assert_eq(bad.Internal, WSAECONNRESET, "completed all the same");
	cr_assert_eq(bad.InternalHigh, 3);
	closesocket(s);
	close(peer);
}

/*
 * test_procfill.c - completing an older provider's table (spi/procfill.c)
 * and the copying sendfile and splice (spi/basefile.c), on tables of mock
 * members that record what the fallbacks hand them.
 *
 * The mocks' WSPSend takes at most `room' bytes per call and then says
 * WSAEWOULDBLOCK, as a non-blocking socket whose buffer fills; the bytes
 * it took are kept for the test to compare.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errmap.h"
#include "libc.h"
#include "procfill.h"

#define SOCK	((SOCKET)0x1234)

static size_t room;		/* what WSPSend takes before it is full */
static char took[1 << 20];
static size_t ntook;
static int calls_send, calls_sendto, calls_recvfrom, calls_accept;
static const struct sockaddr *last_to;

static int WSPAPI
m_send(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	size_t n = 0, k;
	DWORD i;

	calls_send++;
	cr_assert_eq(s, SOCK);
	if (room == 0) {
		*err = WSAEWOULDBLOCK;
		return SOCKET_ERROR;
	}
	for (i = 0; i < nb && room > 0; i++) {
		k = b[i].len < room ? b[i].len : room;
		memcpy(took + ntook, b[i].buf, k);
		ntook += k;
		room -= k;
		n += k;
	}
	*sent = (DWORD)n;
	return 0;
}

static int WSPAPI
m_sendto(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	calls_sendto++;
	last_to = to;
	return m_send(s, b, nb, sent, flags, ov, cr, tid, err);
}

static int WSPAPI
m_recvfrom(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	calls_recvfrom++;
	memcpy(b[0].buf, "abc", 3);
	*got = 3;
	*flags = MSG_TRUNC;
	if (fromlen != NULL)
		*fromlen = 7;
	return 0;
}

static SOCKET WSPAPI
m_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC cond, DWORD_PTR data, LPINT err)
{
	calls_accept++;
	return SOCK + 4;
}

static void
m_other(void)
{
}

/* A function pointer of any member type (through void (*)(void), the
 * cast gcc allows). */
#define AS(type, f)	((type)(void (*)(void))(f))

/* A version 0 table: the mocks where the tests look, m_other elsewhere. */
static void
table0(WSPPROC_TABLE *t)
{
	void (**m)(void) = (void (**)(void))(void *)t;
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < WSPSHIM_WINSOCK_PROC_COUNT; i++)
		m[i] = m_other;
	t->lpWSPSend = m_send;
	t->lpWSPSendTo = m_sendto;
	t->lpWSPRecvFrom = m_recvfrom;
	t->lpWSPAccept = m_accept;
}

static void
fresh(void)
{
	libc_init();
	room = sizeof(took);
	ntook = 0;
	calls_send = calls_sendto = calls_recvfrom = calls_accept = 0;
}

TestSuite(fill, .init = fresh, .timeout = 30);

Test(fill, version0_table_gets_every_linux_member)
{
	WSPPROC_TABLE t, before;

	table0(&t);
	before = t;
	cr_assert_eq(procfill_complete(&t, 0), 0);
	cr_expect(procfill_has_members(&t, WSPSHIM_LINUX_TABLE_VERSION));
	cr_expect_eq(memcmp(&t, &before, WSPSHIM_WINSOCK_PROC_COUNT *
	    sizeof(void (*)(void))), 0, "the Winsock members stay");
}

Test(fill, version1_keeps_its_own_linux_members)
{
	WSPPROC_TABLE t;

	table0(&t);
	t.lpWSPSendMsg = AS(LPWSPSENDMSG, m_other);
	t.lpWSPRecvMsg = AS(LPWSPRECVMSG, m_other);
	t.lpWSPAccept4 = AS(LPWSPACCEPT4, m_other);
	cr_assert_eq(procfill_complete(&t, 1), 0);
	cr_expect_eq((void *)t.lpWSPSendMsg, (void *)m_other);
	cr_expect_eq((void *)t.lpWSPAccept4, (void *)m_other);
	cr_expect_neq((void *)t.lpWSPSendFile, NULL);
	cr_expect_neq((void *)t.lpWSPSplice, NULL);
}

Test(fill, same_table_shares_fallbacks_other_table_does_not)
{
	WSPPROC_TABLE a, b, c;

	table0(&a);
	table0(&b);
	table0(&c);
	c.lpWSPBind = AS(LPWSPBIND, m_send);	/* another provider's */
	cr_assert_eq(procfill_complete(&a, 0), 0);
	cr_assert_eq(procfill_complete(&b, 0), 0);
	cr_assert_eq(procfill_complete(&c, 0), 0);
	cr_expect_eq((void *)a.lpWSPSendMsg, (void *)b.lpWSPSendMsg);
	cr_expect_neq((void *)a.lpWSPSendMsg, (void *)c.lpWSPSendMsg);
}

Test(fill, current_version_is_left_alone)
{
	WSPPROC_TABLE t;

	memset(&t, 0, sizeof(t));
	cr_expect_eq(procfill_complete(&t, WSPSHIM_LINUX_TABLE_VERSION), 0);
	cr_expect_eq((void *)t.lpWSPSendFile, NULL);
}

Test(fill, complete_proc_table_refuses_bad_tables)
{
	WSPPROC_TABLE t;
	int err = 0;

	cr_expect_eq(WSPShimCompleteProcTable(NULL, 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	table0(&t);
	cr_expect_eq(WSPShimCompleteProcTable(&t,
	    WSPSHIM_LINUX_TABLE_VERSION + 1, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVALIDPROCTABLE);
	cr_expect_eq(WSPShimCompleteProcTable(&t, 1, &err), SOCKET_ERROR,
	    "version 1 without its members");
	cr_expect_eq(err, WSAEINVALIDPROCTABLE);
	t.lpWSPSelect = NULL;
	cr_expect_eq(WSPShimCompleteProcTable(&t, 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVALIDPROCTABLE);
}

Test(fill, slots_run_out_with_a_clear_error)
{
	WSPPROC_TABLE t;
	uintptr_t i;
	int err = 0, rc = 0;

	for (i = 0; i < 100 && rc == 0; i++) {
		table0(&t);
		t.lpWSPBind = (LPWSPBIND)(i + 1);	/* 100 providers */
		rc = WSPShimCompleteProcTable(&t, 0, &err);
	}
	cr_expect_eq(rc, SOCKET_ERROR);
	cr_expect_eq(err, WSAENOBUFS);
	cr_expect_eq(i, 65, "64 slots, the 65th refused");
}

Test(fill, sendmsg_fallback_sends_every_buffer)
{
	struct iovec iov[2] = { { "hello ", 6 }, { "world", 5 } };
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	WSPPROC_TABLE t;
	DWORD n = 0;
	int err = 0;

	table0(&t);
	cr_assert_eq(procfill_complete(&t, 0), 0);
	cr_assert_eq(t.lpWSPSendMsg(SOCK, &m, 0, &n, &err), 0);
	cr_expect_eq(n, 11);
	cr_expect_eq(calls_send, 1);
	cr_expect_eq(memcmp(took, "hello world", 11), 0);
	m.msg_name = &to;
	m.msg_namelen = sizeof(to);
	cr_assert_eq(t.lpWSPSendMsg(SOCK, &m, 0, &n, &err), 0);
	cr_expect_eq(calls_sendto, 1);
	cr_expect_eq((const void *)last_to, (void *)&to);
}

Test(fill, sendmsg_fallback_refuses_ancillary_data)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { "x", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	WSPPROC_TABLE t;
	DWORD n = 0;
	int err = 0;

	table0(&t);
	cr_assert_eq(procfill_complete(&t, 0), 0);
	cr_expect_eq(t.lpWSPSendMsg(SOCK, &m, 0, &n, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEOPNOTSUPP);
	cr_expect_eq(calls_send, 0, "nothing sent without its control part");
}

Test(fill, recvmsg_fallback_fills_the_header)
{
	char buf[8], name[16];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_name = name, .msg_namelen = sizeof(name),
	    .msg_controllen = 99 };
	WSPPROC_TABLE t;
	DWORD n = 0, fl = 0;
	int err = 0;

	table0(&t);
	cr_assert_eq(procfill_complete(&t, 0), 0);
	cr_assert_eq(t.lpWSPRecvMsg(SOCK, &m, &fl, &n, &err), 0);
	cr_expect_eq(n, 3);
	cr_expect_eq(m.msg_namelen, 7);
	cr_expect_eq(m.msg_controllen, 0);
	cr_expect_eq(m.msg_flags, MSG_TRUNC);
}

Test(fill, accept4_fallback_without_flags_is_accept)
{
	WSPPROC_TABLE t;
	int err = 0;

	table0(&t);
	cr_assert_eq(procfill_complete(&t, 0), 0);
	cr_expect_eq(t.lpWSPAccept4(SOCK, NULL, NULL, 0, &err), SOCK + 4);
	cr_expect_eq(calls_accept, 1);
	cr_expect_eq(t.lpWSPAccept4(SOCK, NULL, NULL, 0x100000, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
}

/* A temporary file of n pattern bytes, offset at 0. */
static int
temp_file(size_t n)
{
	char path[] = "/tmp/wspshim-procfill-XXXXXX";
	char *b = malloc(n);
	size_t i;
	int fd;

	cr_assert_not_null(b);
	for (i = 0; i < n; i++)
		b[i] = (char)(i * 7 + 3);
	cr_assert((fd = mkstemp(path)) >= 0);
	unlink(path);
	cr_assert_eq(write(fd, b, n), (ssize_t)n);
	lseek(fd, 0, SEEK_SET);
	free(b);
	return fd;
}

static int
pattern_at(size_t from, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (took[i] != (char)((from + i) * 7 + 3))
			return 0;
	return 1;
}

Test(fill, sendfile_fallback_with_offset_stops_at_a_short_send)
{
	WSPPROC_TABLE t;
	int64_t off = 100;
	DWORD n = 0;
	int err = 0, fd = temp_file(200000);

	table0(&t);
	cr_assert_eq(procfill_complete(&t, 0), 0);
	room = 40000;		/* the socket takes 40000, then is full */
	cr_assert_eq(t.lpWSPSendFile(SOCK, fd, &off, 150000, &n, &err), 0);
	cr_expect_eq(n, 40000, "the short count");
	cr_expect_eq(off, 40100, "the offset moved by what was sent");
	cr_expect_eq(lseek(fd, 0, SEEK_CUR), 0, "the file offset did not");
	cr_expect(pattern_at(100, 40000));
	/* Full: nothing goes, the offset stays, EAGAIN's code. */
	cr_expect_eq(t.lpWSPSendFile(SOCK, fd, &off, 150000, &n, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEWOULDBLOCK);
	cr_expect_eq(off, 40100);
	close(fd);
}

Test(fill, sendfile_fallback_without_offset_moves_the_file_offset_by_sent)
{
	WSPPROC_TABLE t;
	DWORD n = 0;
	int err = 0, fd = temp_file(100000);

	table0(&t);
	cr_assert_eq(procfill_complete(&t, 0), 0);
	lseek(fd, 500, SEEK_SET);
	room = 20001;
	cr_assert_eq(t.lpWSPSendFile(SOCK, fd, NULL, 90000, &n, &err), 0);
	cr_expect_eq(n, 20001);
	cr_expect_eq(lseek(fd, 0, SEEK_CUR), 20501);
	cr_expect(pattern_at(500, 20001));
	/* Room for all: the whole count, to the end of the file. */
	room = sizeof(took);
	ntook = 0;
	cr_assert_eq(t.lpWSPSendFile(SOCK, fd, NULL, 1 << 20, &n, &err), 0);
	cr_expect_eq(n, 100000 - 20501);
	cr_expect_eq(lseek(fd, 0, SEEK_CUR), 100000);
	cr_assert_eq(t.lpWSPSendFile(SOCK, fd, NULL, 10, &n, &err), 0);
	cr_expect_eq(n, 0, "end of file");
	close(fd);
}

Test(fill, sendfile_fallback_gives_the_kernels_errors)
{
	WSPPROC_TABLE t;
	int64_t off = -1;
	DWORD n = 0;
	int err = 0, p[2], fd = temp_file(10);

	table0(&t);
	cr_assert_eq(procfill_complete(&t, 0), 0);
	cr_assert_eq(pipe(p), 0);
	cr_expect_eq(t.lpWSPSendFile(SOCK, -1, NULL, 1, &n, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEBADF);
	cr_expect_eq(t.lpWSPSendFile(SOCK, p[0], NULL, 1, &n, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL, "a pipe, no offset");
	cr_expect_eq(t.lpWSPSendFile(SOCK, fd, &off, 1, &n, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL, "a negative offset");
	cr_expect_eq(t.lpWSPSendFile(SOCK, p[1], NULL, 0, &n, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEBADF, "a write-only descriptor");
	cr_expect_eq(calls_send, 0);
	close(p[0]);
	close(p[1]);
	close(fd);
}

Test(fill, splice_fallback_leaves_unsent_bytes_in_the_pipe)
{
	static char data[1000];
	WSPPROC_TABLE t;
	DWORD n = 0;
	int err = 0, p[2], q = -1;

	table0(&t);
	cr_assert_eq(procfill_complete(&t, 0), 0);
	cr_assert_eq(pipe(p), 0);
	memset(data, 'q', sizeof(data));
	cr_assert_eq(write(p[1], data, sizeof(data)), (ssize_t)sizeof(data));
	room = 100;
	cr_assert_eq(t.lpWSPSplice(SOCK, p[0], WSPSHIM_SPLICE_TO_SOCKET,
	    1000, 0, &n, &err), 0);
	cr_expect_eq(n, 100);
	ioctl(p[0], FIONREAD, &q);
	cr_expect_eq(q, 900, "the pipe keeps what was not sent");
	cr_expect_eq(t.lpWSPSplice(SOCK, p[0], WSPSHIM_SPLICE_TO_SOCKET,
	    1000, SPLICE_F_NONBLOCK, &n, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEWOULDBLOCK);
	ioctl(p[0], FIONREAD, &q);
	cr_expect_eq(q, 900);
	cr_expect_eq(t.lpWSPSplice(SOCK, 0, 7, 1, 0, &n, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL, "no such direction");
	close(p[0]);
	close(p[1]);
}

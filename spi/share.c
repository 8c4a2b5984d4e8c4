/*
 * share.c - sockets shared with another process (see share.h).
 *
 * Why a holder process: Windows keeps a shared socket alive until the last
 * descriptor in any process is closed, so the source may close its own at
 * once.  Something must hold the open file description meanwhile, and it
 * must not be a thread or a listening socket of a process that never
 * shares (the program would see them), nor pidfd_getfd(), which needs
 * ptrace rights over the source that Yama and containers usually refuse.
 * A forked holder owns nothing of the program: it closes every other
 * descriptor (a pipe's write end held there would keep the program's
 * reader from its EOF), resets every signal to its default, and lives
 * until its token is used, the target exits, or the token's time is up.
 *
 * The holder is forked with clone() and no exit signal, twice, so the
 * program never gets a SIGCHLD or a wait() result it did not cause, no
 * fork handler (the program's or ours) runs, and no zombie stays behind.
 * Between clone() and its exit the holder makes raw calls only, as a child
 * of a threaded program must.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "libc.h"
#include "log.h"
#include "share.h"

#define SHARE_MAGIC		0x77737368u	/* "wssh" */
#define SHARE_TAKE_MS		5000	/* the target's wait for the holder */
#define SHARE_BIND_TRIES	8	/* names already taken, then give up */

/* What the holder sends with the descriptor. */
struct share_msg {
	uint32_t	magic;
	uint32_t	flags;		/* the source socket's dwFlags */
	struct share_blob blob;		/* only its first len bytes are sent */
};

#define SHARE_MSG_HEAD	(offsetof(struct share_msg, blob.b))
#define SHARE_REC_HEAD	(sizeof(GUID) + sizeof(uint32_t))

/* The thread's attachments for its next duplication, and what the last
 * token it took carried (malloc'd, NULL when none). */
static __thread struct share_blob *share_next;
static __thread struct share_blob *share_got;
static __thread DWORD share_got_tok;

/* --- the layers' attachments ------------------------------------------ */

struct share_blob *
share_claim(void)
{
	struct share_blob *b = share_next;

	share_next = NULL;
	return b;
}

void
share_deliver(DWORD tok, struct share_blob *blob)
{
	free(share_got);
	share_got = blob;
	share_got_tok = tok;
}

void
share_forget(void)
{
	free(share_claim());
	share_deliver(0, NULL);
}

/* The record of id in b: its length in *len and its bytes, or NULL. */
static const unsigned char *
share_find(const struct share_blob *b, const GUID *id, uint32_t *len)
{
	uint32_t off = 0;

	while (b != NULL && off + SHARE_REC_HEAD <= b->len) {
		memcpy(len, b->b + off + sizeof(GUID), sizeof(*len));
		if (*len > b->len - off - SHARE_REC_HEAD)
			return NULL;		/* damaged: stop */
		if (memcmp(b->b + off, id, sizeof(GUID)) == 0)
			return b->b + off + SHARE_REC_HEAD;
		off += (uint32_t)SHARE_REC_HEAD + *len;
	}
	return NULL;
}

WSPSHIM_EXPORT int WSPAPI
WSPShimShareAttach(const GUID *lpLayerId, const void *lpData,
    DWORD dwLength)
{
	struct share_blob *b = share_next;
	uint32_t len32 = dwLength, had;

	if (lpLayerId == NULL || (lpData == NULL && dwLength != 0))
		return WSAEFAULT;
	if (dwLength > WSPSHIM_SHARE_DATA_MAX)
		return WSAENOBUFS;
	if (b == NULL && (b = share_next = calloc(1, sizeof(*b))) == NULL)
		return WSAENOBUFS;
	if (share_find(b, lpLayerId, &had) != NULL)
		return WSAEINVAL;
	if (b->len + SHARE_REC_HEAD + dwLength > sizeof(b->b) ||
	    b->len + dwLength > WSPSHIM_SHARE_DATA_MAX)
		return WSAENOBUFS;
	memcpy(b->b + b->len, lpLayerId, sizeof(GUID));
	memcpy(b->b + b->len + sizeof(GUID), &len32, sizeof(len32));
	if (dwLength != 0)
		memcpy(b->b + b->len + SHARE_REC_HEAD, lpData, dwLength);
	b->len += (uint32_t)SHARE_REC_HEAD + len32;
	return 0;
}

WSPSHIM_EXPORT int WSPAPI
WSPShimShareData(const WSAPROTOCOL_INFOW *lpProtocolInfo,
    const GUID *lpLayerId, void *lpBuffer, LPDWORD lpdwLength)
{
	const unsigned char *p;
	uint32_t len;

	if (lpProtocolInfo == NULL || lpLayerId == NULL || lpdwLength == NULL)
		return WSAEFAULT;
	if (share_got_tok == 0 ||
	    lpProtocolInfo->dwProviderReserved != share_got_tok)
		return WSAEINVAL;
	if ((p = share_find(share_got, lpLayerId, &len)) == NULL)
		return WSANO_DATA;
	if (lpBuffer == NULL || *lpdwLength < len) {
		*lpdwLength = len;
		return WSAEFAULT;
	}
	memcpy(lpBuffer, p, len);
	*lpdwLength = len;
	return 0;
}

/* Nothing: *a and *len name the rendezvous of tok for pid of user uid. */
static void
share_name(struct sockaddr_un *a, socklen_t *len, uid_t uid, pid_t pid,
    DWORD tok)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* Abstract: sun_path[0] stays 0, and the name is not a string. */
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1,
	    "wspshim-share-%u-%d-%08x", (unsigned)uid, (int)pid,
	    (unsigned)tok);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* The value after "key" in process pid's status file (its second number
 * with second set), or -1; *zombie is 1 for an exited, unreaped one. */
static long
share_status(pid_t pid, const char *key, int second, int *zombie)
{
	char path[64], buf[2048], *p;
	ssize_t n;
	int fd, saved = errno;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		errno = saved;
		return -1;
	}
	n = libc.read(fd, buf, sizeof(buf) - 1);
	(void)libc.close(fd);
	errno = saved;
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*zombie = strstr(buf, "\nState:\tZ") != NULL ||
	    strstr(buf, "\nState:\tX") != NULL;
	if ((p = strstr(buf, key)) == NULL)
		return -1;
	p += strlen(key);
	v = strtol(p, &p, 10);
	if (second)
		v = strtol(p, NULL, 10);
	return v;
}

int
share_check_target(DWORD pid)
{
	int zombie = 0;
	long euid;

	if (pid == 0 || pid > INT_MAX || (pid_t)pid == getpid())
		return WSAEINVAL;
	euid = share_status((pid_t)pid, "\nUid:", 1, &zombie);
	if (euid < 0 || zombie || (uid_t)euid != geteuid())
		return WSAEINVAL;
	return 0;
}

/* --- the holder ------------------------------------------------------- */

/* The kernel's sigaction, for the raw call the holder makes. */
struct share_ksigaction {
	void		(*handler)(int);
	unsigned long	flags;
	void		(*restorer)(void);
	unsigned long	mask;
};

/* Nothing: every signal at its default action, none blocked. */
static void
share_hold_signals(void)
{
	struct share_ksigaction dfl = { .handler = SIG_DFL };
	unsigned long none = 0;
	int sig;

	for (sig = 1; sig < 65; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL,
			    sizeof(dfl.mask));
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL,
	    sizeof(none));
}

/* Nothing: every descriptor closed but the n in keep (sorted, distinct). */
static void
share_hold_fds(const int *keep, int n)
{
	unsigned from = 0;
	int i;

	for (i = 0; i < n; i++) {
		if ((unsigned)keep[i] > from)
			(void)syscall(SYS_close_range, from,
			    (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	(void)syscall(SYS_close_range, from, ~0u, 0);
}

/* Milliseconds of the monotonic clock. */
static long long
share_now_ms(void)
{
	struct timespec ts;

	(void)syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 after handing sfd to the process on connection c when it is target
 * of user uid, else 0.  c is closed. */
static int
share_hold_serve(int c, int sfd, pid_t target, uid_t uid,
    const struct share_msg *m)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { (void *)m, SHARE_MSG_HEAD + m->blob.len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.b, .msg_controllen = sizeof(u.b),
	};
	int ok = 0;

	if (syscall(SYS_getsockopt, c, SOL_SOCKET, SO_PEERCRED, &cr,
	    &crlen) == 0 && cr.pid == target && cr.uid == uid) {
		memset(&u, 0, sizeof(u));
		u.h.cmsg_level = SOL_SOCKET;
		u.h.cmsg_type = SCM_RIGHTS;
		u.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&u.h), &sfd, sizeof(int));
		ok = syscall(SYS_sendmsg, c, &msg, MSG_NOSIGNAL) ==
		    (long)iov.iov_len;
	}
	(void)syscall(SYS_close, c);
	return ok;
}

/*
 * The holder: serve the rendezvous lfd until target (whose pidfd is pfd,
 * or -1) has taken sfd, has exited, or ttl seconds are gone; then exit.
 */
static void __attribute__((noreturn))
share_hold(int lfd, int sfd, int pfd, pid_t target, uid_t uid,
    const struct share_msg *m, unsigned ttl)
{
	int keep[3] = { lfd, sfd, pfd }, n = pfd >= 0 ? 3 : 2, i, j, t;
	long long end, left;
	struct pollfd p[2];
	struct timespec ts;
	int c;

	for (i = 1; i < n; i++)		/* sort the three for close_range */
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	share_hold_signals();
	share_hold_fds(keep, n);
	end = share_now_ms() + (long long)ttl * 1000;
	while ((left = end - share_now_ms()) > 0) {
		p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = pfd, .events = POLLIN };
		/* Without a pidfd, look at the target once a second. */
		if (pfd < 0 && left > 1000)
			left = 1000;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = left % 1000 * 1000000;
		if (syscall(SYS_ppoll, p, pfd >= 0 ? 2 : 1, &ts, NULL, 0) < 0 &&
		    errno != EINTR)
			break;
		if (pfd >= 0 ? p[1].revents != 0 :
		    syscall(SYS_kill, target, 0) != 0 && errno == ESRCH)
			break;			/* the target is gone */
		if ((p[0].revents & POLLIN) == 0)
			continue;
		c = (int)syscall(SYS_accept4, lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0 && share_hold_serve(c, sfd, target, uid, m))
			break;
	}
	syscall(SYS_exit_group, 0);
	__builtin_unreachable();
}

/* A raw fork with no exit signal: no SIGCHLD, no fork handler. */
static pid_t
share_clone(void)
{
	return (pid_t)syscall(SYS_clone, 0UL, NULL, NULL, NULL, 0UL);
}

/* --- the source ------------------------------------------------------- */

/* How long an offer lasts: WSPSHIM_SHARE_TTL seconds, or the default. */
static unsigned
share_ttl(void)
{
	const char *s = getenv("WSPSHIM_SHARE_TTL");
	unsigned long v;
	char *end;

	if (s == NULL || *s == '\0')
		return SHARE_TTL_DEFAULT;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > SHARE_TTL_MAX) {
		log_once("WSPSHIM_SHARE_TTL=%s is not 1 to %d seconds; "
		    "using %d", s, SHARE_TTL_MAX, SHARE_TTL_DEFAULT);
		return SHARE_TTL_DEFAULT;
	}
	return (unsigned)v;
}

/* A fresh token: the tag and 27 random bits. */
static DWORD
share_token_new(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)share_now_ms() * 2654435761u ^
		    (uint32_t)getpid() << 16;
	return SHARE_TOKEN_TAG | (r & ~SHARE_TOKEN_TAG_MASK);
}

/* The rendezvous socket for pid, bound and listening, with its token in
 * *tok; or -1 with a WSA code in *err. */
static int
share_listen(pid_t pid, DWORD *tok, int *err)
{
	struct sockaddr_un a;
	socklen_t len;
	int lfd, i;

	for (i = 0; i < SHARE_BIND_TRIES; i++) {
		lfd = libc.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (lfd < 0) {
			*err = errno == EMFILE || errno == ENFILE ?
			    WSAEMFILE : WSAENOBUFS;
			return -1;
		}
		*tok = share_token_new();
		share_name(&a, &len, geteuid(), pid, *tok);
		if (libc.bind(lfd, (struct sockaddr *)&a, len) == 0 &&
		    libc.listen(lfd, 4) == 0)
			return lfd;
		(void)libc.close(lfd);
		if (errno != EADDRINUSE)
			break;
	}
	*err = WSAENOBUFS;
	return -1;
}

/* 0 once a holder serves lfd for fd, else a WSA code. */
static int
share_start_holder(int lfd, int fd, pid_t pid, const struct share_msg *m)
{
	int pfd, st = 0, err = 0;
	unsigned ttl = share_ttl();
	pid_t mid, w;

	/* Made here, so the target cannot exit and its pid be reused
	 * unnoticed before the holder watches it. */
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0 && errno == ESRCH)
		return WSAEINVAL;
	mid = share_clone();
	if (mid == 0) {
		/* The middle process: the holder's parent, gone at once, so
		 * the holder is init's to reap.  It names the holder before
		 * making it, so the holder has its name by the time the
		 * source returns. */
		pid_t h;

		(void)syscall(SYS_prctl, PR_SET_NAME, "wspshim-share", 0, 0,
		    0);
		h = share_clone();

		if (h == 0)
			share_hold(lfd, fd, pfd, pid, geteuid(), m, ttl);
		syscall(SYS_exit_group, h < 0);
	}
	if (mid < 0)
		err = WSAENOBUFS;
	else {
		do
			w = waitpid(mid, &st, __WALL);
		while (w < 0 && errno == EINTR);
		if (w != mid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			err = WSAENOBUFS;
	}
	if (pfd >= 0)
		(void)libc.close(pfd);
	return err;
}

int
share_offer(int fd, DWORD flags, DWORD pid, DWORD *tok)
{
	struct share_blob *blob = share_claim();
	struct share_msg *m;
	int lfd, err = WSAENOBUFS, saved = errno;

	if ((m = malloc(sizeof(*m))) == NULL)
		goto out;
	m->magic = SHARE_MAGIC;
	m->flags = flags;
	m->blob.len = 0;
	if (blob != NULL)
		memcpy(&m->blob, blob, sizeof(*blob));
	if ((lfd = share_listen((pid_t)pid, tok, &err)) < 0)
		goto out;
	err = share_start_holder(lfd, fd, (pid_t)pid, m);
	(void)libc.close(lfd);	/* the holder's now, or nobody's */
out:
	free(m);
	free(blob);
	errno = saved;
	return err;
}

/* --- the target ------------------------------------------------------- */

/* The descriptor in msg's one SCM_RIGHTS message, or -1 (any others that
 * came are closed). */
static int
share_msg_fd(struct msghdr *msg)
{
	struct cmsghdr *c;
	int fd = -1, got, i, n;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int),
			    sizeof(int));
			if (fd < 0)
				fd = got;
			else
				(void)libc.close(got);
		}
	}
	return fd;
}

/* 1 if fd is a socket of family af and type type, else 0. */
static int
share_fd_is(int fd, int af, int type)
{
	int v;
	socklen_t len = sizeof(v);

	if (libc.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 ||
	    v != af)
		return 0;
	len = sizeof(v);
	return libc.getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 &&
	    v == type;
}

/* The holder's answer on c within SHARE_TAKE_MS: 0 and its descriptor and
 * message, or WSAEINVAL. */
static int
share_receive(int c, int *fd, struct share_msg *m)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr msg;
	struct pollfd p = { .fd = c, .events = POLLIN };
	size_t got;
	long long end = share_now_ms() + SHARE_TAKE_MS, left;
	ssize_t n;

	/* Wait with poll(), not SO_RCVTIMEO: the program's signals must
	 * not end the wait early, nor a timeout of ours show in its calls. */
	while ((left = end - share_now_ms()) > 0) {
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return WSAEINVAL;
		if (p.revents == 0)
			continue;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = u.b;
		msg.msg_controllen = sizeof(u.b);
		n = libc.recvmsg(c, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		*fd = n > 0 ? share_msg_fd(&msg) : -1;
		got = n > 0 ? (size_t)n : 0;
		if (got >= SHARE_MSG_HEAD && m->magic == SHARE_MAGIC &&
		    m->blob.len == got - SHARE_MSG_HEAD && *fd >= 0 &&
		    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0)
			return 0;
		if (*fd >= 0)
			(void)libc.close(*fd);
		return WSAEINVAL;
	}
	return WSAEINVAL;
}

int
share_take(DWORD tok, int af, int type, int *fd, DWORD *flags)
{
	struct sockaddr_un a;
	struct share_msg *m;
	struct ucred cr;
	socklen_t len, crlen = sizeof(cr);
	int c, err = WSAEINVAL, saved = errno;

	if (!share_is_token(tok))
		return WSAEINVAL;
	if ((m = malloc(sizeof(*m))) == NULL)
		return WSAENOBUFS;
	if ((c = libc.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0) {
		err = WSAENOBUFS;
		goto out;
	}
	share_name(&a, &len, geteuid(), getpid(), tok);
	/* A holder of this user only: another user may have squatted the
	 * name, as abstract names have no owner. */
	if (libc.connect(c, (struct sockaddr *)&a, len) == 0 &&
	    libc.getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0 &&
	    cr.uid == geteuid() && share_receive(c, fd, m) == 0) {
		if (share_fd_is(*fd, af, type)) {
			*flags = m->flags;
			err = 0;
		} else
			(void)libc.close(*fd);
	}
	(void)libc.close(c);
out:
	if (err == 0 && m->blob.len > 0) {
		/* The message's tail is the blob: keep just that. */
		struct share_blob *b = malloc(sizeof(*b));

		if (b != NULL)
			memcpy(b, &m->blob, sizeof(*b));
		share_deliver(tok, b);
	} else
		share_deliver(err == 0 ? tok : 0, NULL);
	free(m);
	errno = saved;
	return err;
}

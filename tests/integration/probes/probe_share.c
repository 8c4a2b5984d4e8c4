/*
 * probe_share.c - sockets shared with another process, as a Winsock
 * program shares them: WSADuplicateSocketW(s, pid, &info) in the source,
 * the info handed over (a pipe, a file), WSASocketW(FROM_PROTOCOL_INFO...)
 * in the target.  Over loopback, through whatever chain the environment
 * sets up:
 *   - a forked child takes a connected TCP socket its parent has already
 *     closed, and both ends' bytes arrive in one stream;
 *   - an exec'd (posix_spawn'ed) child takes a listening socket and
 *     accepts on it, the info on its stdin;
 *   - two unrelated processes (siblings) share a bound UDP socket, the
 *     info and the pid through files;
 *   - the refusals: a token used twice, tried by a third process or a
 *     forked child of the target, altered by one byte, or left until its
 *     time is up; a pid that exited; another user's process (as root);
 *     and the holder gone once its token is spent or dead.
 * Checks each rule itself (exit 1 with the line that failed) and prints
 * what it saw, the same in every mode; every wait is bounded.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <wspshim/winsock2.h>

#include "wsacheck.h"

extern char **environ;

/* Every blocking call on s gives up after 5 s. */
static void
bounded(SOCKET s)
{
	struct timeval tv = { 5, 0 };

	CHECK(setsockopt((int)s, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == 0 && setsockopt((int)s, SOL_SOCKET, SO_SNDTIMEO,
	    &tv, sizeof(tv)) == 0, "timeouts");
}

/* A socket of the triple, bound to 127.0.0.1 (listening for TCP), and
 * its address. */
static SOCKET
bound(int type, struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	SOCKET s = WSASocketW(AF_INET, type, 0, NULL, 0, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(s != INVALID_SOCKET && bind((int)s, (struct sockaddr *)a,
	    sizeof(*a)) == 0 && getsockname((int)s, (struct sockaddr *)a,
	    &len) == 0, "bound socket");
	CHECK(type != SOCK_STREAM || listen((int)s, 8) == 0, "listen");
	bounded(s);
	return s;
}

/* A TCP client connected to a. */
static SOCKET
connected(const struct sockaddr_in *a)
{
	SOCKET c = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, 0);

	CHECK(c != INVALID_SOCKET && connect((int)c,
	    (const struct sockaddr *)a, sizeof(*a)) == 0, "connect");
	bounded(c);
	return c;
}

/* Exactly n bytes from s into buf. */
static void
recv_all(SOCKET s, char *buf, int n)
{
	int got = 0, r;

	while (got < n) {
		r = recv(s, buf + got, n - got, 0);
		CHECK(r > 0, "recv %d of %d: %d", got, n, r);
		got += r;
	}
}

static void
put(int fd, const void *p, size_t n)
{
	CHECK(write(fd, p, n) == (ssize_t)n, "write %zu", n);
}

static void
get(int fd, void *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, (char *)p + got, n - got);
		CHECK(r > 0, "read %zu of %zu", got, n);
		got += (size_t)r;
	}
}

/* The shared socket of info: WSASocketW with FROM_PROTOCOL_INFO, or with
 * the triple given explicitly; g and dwFlags are junk, as they are
 * ignored. */
static SOCKET
take(WSAPROTOCOL_INFOW *info, int explicit)
{
	if (explicit)
		return WSASocketW(info->iAddressFamily, info->iSocketType,
		    info->iProtocol, info, 0x1234, WSA_FLAG_MULTIPOINT_C_ROOT);
	return WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, info, 0x1234, WSA_FLAG_MULTIPOINT_C_ROOT);
}

/* "refused (WSAEINVAL)" if taking info fails as it must, else fails. */
static void
refused(const char *what, WSAPROTOCOL_INFOW *info)
{
	SOCKET s = take(info, 0);

	CHECK(s == INVALID_SOCKET, "%s: taken", what);
	CHECK(WSAGetLastError() == WSAEINVAL, "%s: %d", what,
	    WSAGetLastError());
	printf("%s: refused (WSAEINVAL)\n", what);
}

/* The exit status of child pid, waited for. */
static int
reap(pid_t pid)
{
	int st;

	CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The inode of socket s, to find its holder. */
static ino_t
inode(SOCKET s)
{
	struct stat st;

	CHECK(fstat((int)s, &st) == 0, "fstat");
	return st.st_ino;
}

/* The number of holder processes holding socket inode ino. */
static int
holders(ino_t ino)
{
	char path[600], comm[32], want[64], link[64];
	DIR *d = opendir("/proc"), *fdd;
	struct dirent *p, *f;
	int n = 0, fd;
	ssize_t r;

	CHECK(d != NULL, "opendir /proc");
	snprintf(want, sizeof(want), "socket:[%lu]", (unsigned long)ino);
	while ((p = readdir(d)) != NULL) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		r = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (r <= 0 || strncmp(comm, "wspshim-share\n", 14) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		if ((fdd = opendir(path)) == NULL)
			continue;
		while ((f = readdir(fdd)) != NULL) {
			snprintf(path, sizeof(path), "/proc/%s/fd/%s",
			    p->d_name, f->d_name);
			r = readlink(path, link, sizeof(link) - 1);
			if (r > 0 && (link[r] = '\0', strcmp(link, want) == 0))
				n++;
		}
		closedir(fdd);
	}
	closedir(d);
	return n;
}

/* "LABEL: holder gone" once no holder holds ino, within 3 s. */
static void
holder_gone(const char *label, ino_t ino)
{
	int i;

	for (i = 0; i < 60 && holders(ino) != 0; i++)
		usleep(50000);
	CHECK(holders(ino) == 0, "%s: a holder is left", label);
	printf("%s: holder gone\n", label);
}

/* A child that waits for an info on fd and runs f on it. */
static pid_t
child(int *wfd, void (*f)(WSAPROTOCOL_INFOW *, int), int arg)
{
	WSAPROTOCOL_INFOW info;
	int p[2];
	pid_t pid;

	CHECK(pipe(p) == 0, "pipe");
	CHECK((pid = fork()) >= 0, "fork");
	if (pid == 0) {
		close(p[1]);
		get(p[0], &info, sizeof(info));
		f(&info, arg);
		exit(0);
	}
	close(p[0]);
	*wfd = p[1];
	return pid;
}

/* --- a forked child takes a connected socket ------------------------- */

/* The child: the socket, "one stream" with its parent, an option. */
static void
tcp_child(WSAPROTOCOL_INFOW *info, int ctl)
{
	SOCKET s = take(info, 0);
	char buf[8];
	int v = 1;

	CHECK(s != INVALID_SOCKET, "child takes the socket");
	bounded(s);
	refused("the same token again", info);
	recv_all(s, buf, 5);
	CHECK(memcmp(buf, "hello", 5) == 0, "the child reads the client");
	/* The parent's part of the stream, then ours. */
	CHECK(send(s, "ab", 2, 0) == 2, "child send");
	CHECK(setsockopt((int)s, IPPROTO_TCP, TCP_NODELAY, &v,
	    sizeof(v)) == 0, "TCP_NODELAY");
	put(ctl, "x", 1);
	CHECK(closesocket(s) == 0, "child closes");
}

static void
tcp_forked(void)
{
	struct sockaddr_in a;
	SOCKET l = bound(SOCK_STREAM, &a), c = connected(&a), s, s2;
	WSAPROTOCOL_INFOW info;
	int w, ctl[2], v = 0;
	socklen_t len = sizeof(v);
	char buf[8];
	pid_t pid;
	ino_t ino;

	s = accept(l, NULL, NULL);
	CHECK(s != INVALID_SOCKET, "accept");
	ino = inode(s);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, ctl) == 0, "socketpair");
	pid = child(&w, tcp_child, ctl[1]);
	close(ctl[1]);
	CHECK(WSADuplicateSocketW(s, (DWORD)pid, &info) == 0,
	    "WSADuplicateSocketW to the child");
	CHECK(info.iAddressFamily == AF_INET &&
	    info.iSocketType == SOCK_STREAM, "info names the socket");
	CHECK(holders(ino) == 1, "one holder until the token is taken");
	put(w, &info, sizeof(info));
	close(w);
	/* The source keeps a copy to look at, but has closed its own. */
	s2 = (SOCKET)dup((int)s);
	CHECK(closesocket(s) == 0, "the source closes at once");
	CHECK(send(c, "hello", 5, 0) == 5, "client send");
	get(ctl[0], buf, 1);
	CHECK(getsockopt((int)s2, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0 &&
	    v != 0, "the child's option shows in the parent");
	CHECK(send(s2, "c", 1, 0) == 1, "parent send after the child");
	recv_all(c, buf, 3);
	CHECK(memcmp(buf, "abc", 3) == 0, "one stream: %.3s", buf);
	CHECK(reap(pid) == 0, "tcp child");
	printf("forked child, connected TCP: one stream, options shared\n");
	closesocket(s2);
	closesocket(c);
	closesocket(l);
	holder_gone("forked child", ino);
}

/* --- an exec'd child takes a listening socket ------------------------ */

/* In the exec'd child: the info on stdin, accept one, echo 4 bytes. */
static int
exec_child(void)
{
	WSAPROTOCOL_INFOW info;
	WSADATA wd;
	SOCKET l, s;
	char buf[4];

	CHECK(WSAStartup(MAKEWORD(2, 2), &wd) == 0, "WSAStartup");
	get(0, &info, sizeof(info));
	l = take(&info, 1);
	CHECK(l != INVALID_SOCKET, "the exec'd child takes the listener");
	bounded(l);
	s = accept(l, NULL, NULL);
	CHECK(s != INVALID_SOCKET, "the exec'd child accepts");
	bounded(s);
	recv_all(s, buf, 4);
	CHECK(send(s, buf, 4, 0) == 4, "echo");
	closesocket(s);
	closesocket(l);
	WSACleanup();
	return 0;
}

static void
tcp_exec(const char *self)
{
	char *argv[] = { (char *)self, (char *)"exec-child", NULL };
	posix_spawn_file_actions_t fa;
	struct sockaddr_in a;
	SOCKET l = bound(SOCK_STREAM, &a), c;
	WSAPROTOCOL_INFOW info;
	int p[2];
	char buf[4];
	pid_t pid;

	CHECK(pipe(p) == 0, "pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	posix_spawn_file_actions_addclose(&fa, p[1]);
	CHECK(posix_spawn(&pid, self, &fa, NULL, argv, environ) == 0,
	    "posix_spawn");
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	CHECK(WSADuplicateSocketW(l, (DWORD)pid, &info) == 0,
	    "WSADuplicateSocketW to the exec'd child");
	CHECK(closesocket(l) == 0, "the source closes its listener");
	put(p[1], &info, sizeof(info));
	close(p[1]);
	c = connected(&a);
	CHECK(send(c, "ping", 4, 0) == 4, "send");
	recv_all(c, buf, 4);
	CHECK(memcmp(buf, "ping", 4) == 0, "echoed");
	closesocket(c);
	CHECK(reap(pid) == 0, "exec'd child");
	printf("exec'd child, listening TCP: accepted and echoed\n");
}

/* --- two unrelated processes share a UDP socket ---------------------- */

static char dir[64];

/* Wait up to 5 s for file name in dir, then read n bytes of it. */
static void
file_get(const char *name, void *p, size_t n)
{
	char path[128];
	int i, fd = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (i = 0; i < 100 && (fd = open(path, O_RDONLY)) < 0; i++)
		usleep(50000);
	CHECK(fd >= 0, "%s appears", name);
	get(fd, p, n);
	close(fd);
}

/* Write a file whole: a temporary name, then renamed. */
static void
file_put(const char *name, const void *p, size_t n)
{
	char tmp[128], path[128];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.%s", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0,
	    "create %s", name);
	put(fd, p, n);
	close(fd);
	CHECK(rename(tmp, path) == 0, "rename %s", name);
}

/* Sibling A: duplicate its bound UDP socket to B (pid from a file). */
static void
udp_source(void)
{
	WSAPROTOCOL_INFOW info;
	struct sockaddr_in a;
	SOCKET u = bound(SOCK_DGRAM, &a);
	ino_t ino = inode(u);
	DWORD pid;

	file_get("pid", &pid, sizeof(pid));
	CHECK(WSADuplicateSocketW(u, pid, &info) == 0,
	    "WSADuplicateSocketW to a sibling");
	file_put("addr", &a, sizeof(a));
	file_put("ino", &ino, sizeof(ino));
	/* One byte altered, for the third process and for B to try. */
	file_put("info", &info, sizeof(info));
	closesocket(u);
	exit(0);
}

/* Sibling B: take the socket from the files, receive a datagram. */
static void
udp_target(void)
{
	WSAPROTOCOL_INFOW info, bad;
	DWORD me = (DWORD)getpid();
	char buf[16];
	SOCKET u;
	int n;

	file_put("pid", &me, sizeof(me));
	file_get("info", &info, sizeof(info));
	/* Wait for the third process to have tried first. */
	file_get("third", buf, 1);
	bad = info;
	((unsigned char *)&bad.dwProviderReserved)[0] ^= 0x01;
	refused("one byte of the token altered", &bad);
	u = take(&info, 0);
	CHECK(u != INVALID_SOCKET, "the sibling takes the UDP socket");
	bounded(u);
	file_put("taken", "y", 1);
	n = recv(u, buf, sizeof(buf), 0);
	CHECK(n == 5 && memcmp(buf, "dgram", 5) == 0, "the datagram: %d", n);
	closesocket(u);
	exit(0);
}

/* A third process tries the token meant for B. */
static void
udp_third(void)
{
	WSAPROTOCOL_INFOW info;

	file_get("info", &info, sizeof(info));
	refused("a third process", &info);
	file_put("third", "y", 1);
	exit(0);
}

static void
udp_unrelated(void)
{
	struct sockaddr_in a;
	pid_t src, dst, third;
	SOCKET c;
	char buf[1];
	ino_t ino;

	snprintf(dir, sizeof(dir), "/tmp/probe_share.XXXXXX");
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	fflush(stdout);
	CHECK((dst = fork()) >= 0, "fork");
	if (dst == 0)
		udp_target();
	CHECK((src = fork()) >= 0, "fork");
	if (src == 0)
		udp_source();
	CHECK((third = fork()) >= 0, "fork");
	if (third == 0)
		udp_third();
	CHECK(reap(third) == 0, "the third process");
	CHECK(reap(src) == 0, "the source sibling");
	file_get("addr", &a, sizeof(a));
	file_get("ino", &ino, sizeof(ino));
	file_get("taken", buf, 1);
	c = WSASocketW(AF_INET, SOCK_DGRAM, 0, NULL, 0, 0);
	CHECK(c != INVALID_SOCKET && sendto(c, "dgram", 5, 0,
	    (struct sockaddr *)&a, sizeof(a)) == 5, "sendto");
	closesocket(c);
	CHECK(reap(dst) == 0, "the target sibling");
	printf("unrelated processes, bound UDP: the datagram arrived\n");
	holder_gone("unrelated processes", ino);
	{
		const char *names[] = { "pid", "info", "addr", "ino", "third",
		    "taken" };
		char path[128];
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			unlink(path);
		}
		rmdir(dir);
	}
}

/* --- refusals -------------------------------------------------------- */

/* The target forks first: its child may not use the token. */
static void
fork_child(WSAPROTOCOL_INFOW *info, int unused)
{
	pid_t pid;
	SOCKET s;

	fflush(stdout);
	CHECK((pid = fork()) >= 0, "fork");
	if (pid == 0) {
		refused("the target's forked child", info);
		exit(0);
	}
	CHECK(reap(pid) == 0, "grandchild");
	s = take(info, 0);
	CHECK(s != INVALID_SOCKET, "the target takes it after its child");
	closesocket(s);
}

/* The target waits past the token's time. */
static void
late_child(WSAPROTOCOL_INFOW *info, int unused)
{
	usleep(2500 * 1000);
	refused("taken after its time", info);
}

/* The target never takes it. */
static void
idle_child(WSAPROTOCOL_INFOW *info, int unused)
{
}

/* Share s with a child running f; its status. */
static void
share_with(SOCKET s, void (*f)(WSAPROTOCOL_INFOW *, int), const char *what)
{
	WSAPROTOCOL_INFOW info;
	pid_t pid;
	int w;

	fflush(stdout);
	pid = child(&w, f, 0);
	CHECK(WSADuplicateSocketW(s, (DWORD)pid, &info) == 0, "%s", what);
	put(w, &info, sizeof(info));
	close(w);
	CHECK(reap(pid) == 0, "%s: child", what);
}

/* Nothing: waits until child pid has exited, leaving it unreaped (the
 * probe's alarm bounds the wait). */
static void
wait_zombie(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0 &&
	    si.si_pid == pid, "the child exits");
}

/* WSADuplicateSocketW to pid must fail with WSAEINVAL. */
static void
no_target(SOCKET s, DWORD pid, const char *what)
{
	WSAPROTOCOL_INFOW info;

	CHECK(WSADuplicateSocketW(s, pid, &info) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAEINVAL, "%s: %d", what,
	    WSAGetLastError());
	printf("%s: WSAEINVAL\n", what);
}

/* As root: a process of user nobody is no target, nor a source for us. */
static void
other_user(SOCKET s)
{
	WSAPROTOCOL_INFOW info;
	int p[2], q[2];
	char c;
	pid_t pid;

	if (geteuid() != 0) {
		printf("another user: not tried (not root)\n");
		return;
	}
	CHECK(pipe(p) == 0 && pipe(q) == 0, "pipes");
	fflush(stdout);
	CHECK((pid = fork()) >= 0, "fork");
	if (pid == 0) {
		SOCKET u;
		DWORD parent = (DWORD)getppid();

		CHECK(setgid(65534) == 0 && setuid(65534) == 0, "nobody");
		u = WSASocketW(AF_INET, SOCK_DGRAM, 0, NULL, 0, 0);
		CHECK(u != INVALID_SOCKET, "nobody's socket");
		CHECK(WSADuplicateSocketW(u, parent, &info) == SOCKET_ERROR &&
		    WSAGetLastError() == WSAEINVAL, "nobody shares with root");
		put(q[1], "r", 1);
		get(p[0], &c, 1);
		exit(0);
	}
	get(q[0], &c, 1);
	no_target(s, (DWORD)pid, "another user's process");
	put(p[1], "x", 1);
	CHECK(reap(pid) == 0, "nobody child");
	printf("another user: refused both ways\n");
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

static void
refusals(void)
{
	struct sockaddr_in a;
	SOCKET s = bound(SOCK_DGRAM, &a);
	WSAPROTOCOL_INFOW info;
	pid_t dead, zombie;
	ino_t ino = inode(s);

	share_with(s, fork_child, "a target that forks");
	setenv("WSPSHIM_SHARE_TTL", "1", 1);
	share_with(s, late_child, "a late target");
	unsetenv("WSPSHIM_SHARE_TTL");
	share_with(s, idle_child, "a target that exits");
	holder_gone("spent, expired or orphaned tokens", ino);

	fflush(stdout);
	CHECK((dead = fork()) >= 0, "fork");
	if (dead == 0)
		_exit(0);
	reap(dead);
	no_target(s, (DWORD)dead, "a pid that exited");
	CHECK((zombie = fork()) >= 0, "fork");
	if (zombie == 0)
		_exit(0);
	wait_zombie(zombie);
	no_target(s, (DWORD)zombie, "a pid that exited, not yet reaped");
	reap(zombie);
	no_target(s, 0, "pid 0");
	other_user(s);
	/* A token made up in this process. */
	memset(&info, 0, sizeof(info));
	CHECK(WSADuplicateSocketW(s, (DWORD)getpid(), &info) == 0, "self");
	info.dwProviderReserved = 0xa1234567u;	/* share.c's tag */
	refused("a forged token", &info);
	closesocket(s);
}

int
main(int argc, char **argv)
{
	WSADATA wd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(60);
	if (argc > 1 && strcmp(argv[1], "exec-child") == 0)
		return exec_child();
	CHECK(WSAStartup(MAKEWORD(2, 2), &wd) == 0, "WSAStartup");
	tcp_forked();
	tcp_exec(argv[0]);
	udp_unrelated();
	refusals();
	WSACleanup();
	printf("done\n");
	return 0;
}

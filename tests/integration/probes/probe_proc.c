/*
 * probe_proc - sockets across fork, vfork, posix_spawn and exec.
 *
 *	probe_proc fork|vfork|vfork_exec|spawn|spawn_noenv|exec|exec_noenv|
 *	    cloexec
 *	probe_proc child WANT FD...	(what spawn and exec run)
 *	probe_proc closed FD		(FD must not exist)
 *	probe_proc noop
 *
 * The parent holds a TCP connection to the echo server.  fork: the child
 * uses it, closes it, makes its own; the parent's still works.  vfork:
 * the child closes it and _exits (or execs); the parent's still works.
 * spawn and exec: the new program, preloaded when the environment says so
 * (WANT 1) or not (WANT 0, "_noenv": LD_PRELOAD taken out), uses the
 * inherited socket.  cloexec: a SOCK_CLOEXEC socket is not inherited.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

extern char **environ;

static struct peer peer;
static unsigned long seed = 100;
static char self[4096];

static void
echo(int fd)
{
	round_trip(fd, SOCK_STREAM, 900, seed++);
}

/* Wait for pid; fail unless it exited 0. */
static void
reap(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		fail_errno("waitpid(%s)", what);
	if (WIFSIGNALED(status))
		fail("the %s child was killed by signal %d", what,
		    WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		fail("the %s child exited %d", what, WEXITSTATUS(status));
}

/* environ without LD_PRELOAD (a static copy). */
static char **
env_without_preload(void)
{
	static char *env[1024];
	size_t i, n = 0;

	for (i = 0; environ[i] != NULL && n < 1023; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[n++] = environ[i];
	env[n] = NULL;
	return env;
}

static void
do_fork(void)
{
	int fd = peer_socket(&peer, 0), n;
	pid_t pid;

	echo(fd);
	if ((pid = fork()) < 0)
		fail_errno("fork");
	if (pid == 0) {
		echo(fd);
		if (close(fd) != 0)
			fail_errno("child: close(%d)", fd);
		n = peer_socket(&peer, 0);
		echo(n);
		close(n);
		_exit(0);
	}
	reap(pid, "fork");
	echo(fd);
	close(fd);
	printf("fork: the child used fd %d, closed it, made fd %d; the "
	    "parent's fd %d works\n", fd, fd, fd);
}

static void
do_vfork(int exec)
{
	char *argv[] = { self, "noop", NULL };
	int fd = peer_socket(&peer, 0), first = fd, d;
	pid_t pid;

	echo(fd);
	if ((pid = vfork()) < 0)
		fail_errno("vfork");
	if (pid == 0) {
		if (close(fd) != 0)
			_exit(10);
		if (exec)
			execve(self, argv, environ);
		_exit(exec ? 11 : 0);
	}
	reap(pid, exec ? "vfork+exec" : "vfork");
	echo(fd);
	if ((d = dup(fd)) < 0 || close(fd) != 0)
		fail_errno("dup(%d) and close after vfork", fd);
	echo(d);
	fd = peer_socket(&peer, 0);
	echo(fd);
	close(fd);
	close(d);
	printf("%s: the child closed fd %d and %s; the parent's works\n",
	    exec ? "vfork_exec" : "vfork", first, exec ? "exec'd" :
	    "_exited");
}

/* posix_spawn "probe_proc child WANT fd 10" with fd also dup2()ed to 10
 * by the spawn's file actions. */
static void
do_spawn(int keepenv)
{
	posix_spawn_file_actions_t fa;
	char want[4], num[16];
	char *argv[] = { self, "child", want, num, "10", NULL };
	int fd = peer_socket(&peer, 0), rc;
	pid_t pid;

	echo(fd);
	snprintf(want, sizeof(want), "%d", keepenv && shim_loaded());
	snprintf(num, sizeof(num), "%d", fd);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 10);
	rc = posix_spawn(&pid, self, &fa, NULL, argv, keepenv ? environ :
	    env_without_preload());
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		fail_errno("posix_spawn");
	}
	reap(pid, "posix_spawn");
	echo(fd);
	close(fd);
	printf("spawn%s: the parent's fd %d works after the child\n",
	    keepenv ? "" : "_noenv", fd);
}

static void
do_exec(int keepenv)
{
	char want[4], num[16];
	char *argv[] = { self, "child", want, num, NULL };
	int fd = peer_socket(&peer, 0);

	echo(fd);
	snprintf(want, sizeof(want), "%d", keepenv && shim_loaded());
	snprintf(num, sizeof(num), "%d", fd);
	printf("exec%s: fd %d open across exec\n", keepenv ? "" : "_noenv",
	    fd);
	execve(self, argv, keepenv ? environ : env_without_preload());
	fail_errno("execve(%s)", self);
}

static void
do_cloexec(void)
{
	char num[16];
	char *argv[] = { self, "closed", num, NULL };
	int fd = peer_socket(&peer, SOCK_CLOEXEC), rc;
	pid_t pid;

	echo(fd);
	snprintf(num, sizeof(num), "%d", fd);
	if ((rc = posix_spawn(&pid, self, NULL, NULL, argv, environ)) != 0) {
		errno = rc;
		fail_errno("posix_spawn");
	}
	reap(pid, "cloexec");
	echo(fd);
	close(fd);
	printf("cloexec: fd %d was not inherited\n", fd);
}

/* The spawned or exec'd program: use every inherited fd. */
static int
child(int argc, char **argv)
{
	int want = atoi(argv[2]), i, fd;

	probe_name = "probe_proc child";
	if (shim_loaded() != want)
		fail("the child is %spreloaded, want %s",
		    shim_loaded() ? "" : "not ", want ? "preloaded" :
		    "not preloaded");
	for (i = 3; i < argc; i++) {
		fd = atoi(argv[i]);
		echo(fd);
		printf("child: inherited fd %d works\n", fd);
	}
	return 0;
}

static int
closed(const char *num)
{
	int fd = atoi(num);

	probe_name = "probe_proc closed";
	errno = 0;
	if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
		fail("close-on-exec fd %d is open in the child (errno %s)",
		    fd, errno_name(errno));
	return 0;
}

int
main(int argc, char **argv)
{
	const char *w = argc >= 2 ? argv[1] : "";
	ssize_t n;

	probe_init("probe_proc");
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		fail_errno("readlink /proc/self/exe");
	self[n] = '\0';
	if (strcmp(w, "noop") == 0)
		return 0;
	if (strcmp(w, "closed") == 0 && argc == 3)
		return closed(argv[2]);
	peer_get(T_TCP4, &peer);
	if (strcmp(w, "child") == 0 && argc >= 4)
		return child(argc, argv);
	if (strcmp(w, "fork") == 0)
		do_fork();
	else if (strcmp(w, "vfork") == 0)
		do_vfork(0);
	else if (strcmp(w, "vfork_exec") == 0)
		do_vfork(1);
	else if (strcmp(w, "spawn") == 0)
		do_spawn(1);
	else if (strcmp(w, "spawn_noenv") == 0)
		do_spawn(0);
	else if (strcmp(w, "exec") == 0)
		do_exec(1);
	else if (strcmp(w, "exec_noenv") == 0)
		do_exec(0);
	else if (strcmp(w, "cloexec") == 0)
		do_cloexec();
	else
		fail("unknown case %s", w);
	return 0;
}

/*
 * test_outfile.c - outfile_open and outfile_may_replace (spi/outfile.h):
 * what the log and the layers' out= files may be opened on.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

static char dir[PATH_MAX];

/* Nothing: buf (PATH_MAX bytes) gets dir/name. */
static void
path_in(char *buf, const char *name)
{
	cr_assert_lt(snprintf(buf, PATH_MAX, "%s/%s", dir, name), PATH_MAX);
}

/* Nothing: a fresh directory for the test. */
static void
setup(void)
{
	snprintf(dir, sizeof(dir), "%s/outfile-test.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(dir));
	umask(022);
}

/* Nothing: removes the test's directory. */
static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", dir);
}

/* Nothing: path holds text. */
static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* The first line of path (static), or "". */
static const char *
first_line(const char *path)
{
	static char line[256];
	FILE *f = fopen(path, "r");

	line[0] = '\0';
	if (f != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
	}
	return line;
}

TestSuite(outfile, .init = setup, .fini = teardown);

Test(outfile, a_new_file_is_0600_and_close_on_exec)
{
	char p[PATH_MAX];
	struct stat st;
	int fd;

	path_in(p, "new");
	fd = outfile_open(p, OUTFILE_APPEND, 0644 | 02, NULL);
	cr_assert_geq(fd, 0);
	cr_expect_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	cr_expect_eq(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_APPEND), O_APPEND);
	close(fd);
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0644, "at most 0644 is asked for");
	path_in(p, "new2");
	fd = outfile_open(p, OUTFILE_TRUNC, 0600, NULL);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600);
}

Test(outfile, own_file_appended_or_truncated)
{
	char p[PATH_MAX];
	int fd;

	path_in(p, "own");
	put(p, "old\n");
	fd = outfile_open(p, OUTFILE_APPEND, 0600, NULL);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "more\n", 5), 5);
	close(fd);
	cr_expect_str_eq(first_line(p), "old\n");
	fd = outfile_open(p, OUTFILE_TRUNC, 0600, NULL);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "new\n", 4), 4);
	close(fd);
	cr_expect_str_eq(first_line(p), "new\n");
}

Test(outfile, a_symlink_is_not_followed)
{
	char p[PATH_MAX], victim[PATH_MAX];
	const char *why = NULL;

	path_in(victim, "victim");
	put(victim, "precious\n");
	path_in(p, "link");
	cr_assert_eq(symlink(victim, p), 0);
	cr_expect_eq(outfile_open(p, OUTFILE_TRUNC, 0600, &why), -1);
	cr_expect_str_eq(why, "it is a symbolic link");
	cr_expect_eq(outfile_may_replace(p, &why), -1);
	cr_expect_str_eq(why, "it is a symbolic link");
	cr_expect_str_eq(first_line(victim), "precious\n");
}

Test(outfile, a_fifo_is_refused_without_waiting, .timeout = 10)
{
	char p[PATH_MAX];
	const char *why = NULL;
	int rfd;

	path_in(p, "fifo");
	cr_assert_eq(mkfifo(p, 0600), 0);
	/* With a reader, the open itself succeeds: the check refuses. */
	rfd = open(p, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(rfd, 0);
	cr_expect_eq(outfile_open(p, OUTFILE_APPEND, 0600, &why), -1);
	cr_expect_str_eq(why, "it is not a regular file");
	close(rfd);
	/* A directory too (a device would do, but a test must not count
	 * on this machine's /dev). */
	cr_expect_eq(outfile_open(dir, OUTFILE_APPEND, 0600, &why), -1);
}

Test(outfile, a_planted_hard_link_is_refused)
{
	char p[PATH_MAX], victim[PATH_MAX];
	const char *why = NULL;

	path_in(victim, "victim");
	put(victim, "precious\n");
	path_in(p, "hard");
	cr_assert_eq(link(victim, p), 0);
	cr_expect_eq(outfile_open(p, OUTFILE_TRUNC, 0600, &why), -1);
	cr_expect_str_eq(why, "it has other hard links");
	cr_expect_str_eq(first_line(victim), "precious\n");
	/* Renaming over one name of it loses nothing. */
	cr_expect_eq(outfile_may_replace(p, &why), 0);
}

/* Another user's file is neither truncated nor appended to, nor
 * replaced. */
Test(outfile, another_users_file_is_left_alone)
{
	char p[PATH_MAX];
	const char *why = NULL;

	if (geteuid() != 0)
		cr_assert_fail("this check needs root (chown)");
	path_in(p, "theirs");
	put(p, "theirs\n");
	cr_assert_eq(chown(p, 65534, 65534), 0);
	cr_expect_eq(outfile_open(p, OUTFILE_TRUNC, 0600, &why), -1);
	cr_expect_str_eq(why, "it belongs to user 65534");
	cr_expect_eq(outfile_open(p, OUTFILE_APPEND, 0600, &why), -1);
	cr_expect_eq(outfile_may_replace(p, &why), -1);
	cr_expect_str_eq(first_line(p), "theirs\n");
}

Test(outfile, nothing_there_may_be_replaced)
{
	char p[PATH_MAX];

	path_in(p, "none");
	cr_expect_eq(outfile_may_replace(p, NULL), 0);
}

/*
 * trust.c - owner and mode checks of the files the library loads code or
 * settings from, and the start-up directory (see trust.h).
 *
 * trust_open resolves the path once (realpath), then walks the result
 * from "/" one folder at a time with openat(O_PATH | O_NOFOLLOW) and
 * checks each folder it holds open, and finally the file it opened: what
 * was checked is what the caller reads or loads, even if a name is
 * changed meanwhile.  Descriptors are closed through the libc table.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libc.h"
#include "trust.h"

static char trust_startdir[PATH_MAX];

/* 0 when st (of what, a folder when dir) may be trusted, else -1 with
 * why; strict: root's files only. */
static int
trust_check(const struct stat *st, int strict, const char *what,
    char *why, size_t size)
{
	unsigned mode = (unsigned)st->st_mode & 07777;
	uid_t me = geteuid();

	if (st->st_uid != 0 && (strict || st->st_uid != me)) {
		snprintf(why, size, "%s is owned by user %u (mode %04o); %s",
		    what, (unsigned)st->st_uid, mode, strict ?
		    "a root or secure-execution process trusts only root's "
		    "files" : "only root's files and the user's own are "
		    "trusted");
		return -1;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) != 0)) {
		snprintf(why, size, "%s is writable by %s (mode %04o, owner "
		    "%u)", what, (st->st_mode & S_IWOTH) != 0 ? "others" :
		    "its group", mode, (unsigned)st->st_uid);
		return -1;
	}
	return 0;
}

/* A descriptor of the checked file at path, or -1 (see trust.h). */
int
trust_open(const char *path, int strict, char *why, size_t size)
{
	char real[PATH_MAX], what[PATH_MAX + 16];
	char *name, *slash;
	struct stat st;
	int dfd, nfd, fd = -1, e;

	if (path[0] != '/') {
		snprintf(why, size, "not an absolute path");
		errno = EINVAL;
		return -1;
	}
	if (realpath(path, real) == NULL) {
		e = errno;
		snprintf(why, size, "%s", strerror(e));
		errno = e;
		return -1;
	}
	if ((dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto syserr;
	for (name = real + 1;; name = slash + 1) {
		if (fstat(dfd, &st) != 0)
			goto syserr;
		snprintf(what, sizeof(what), "the folder %.*s",
		    name - real > 1 ? (int)(name - real - 1) : 1, real);
		if (trust_check(&st, strict, what, why, size) != 0)
			goto refused;
		if ((slash = strchr(name, '/')) == NULL)
			break;
		*slash = '\0';
		nfd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		*slash = '/';
		libc.close(dfd);
		if ((dfd = nfd) < 0)
			goto syserr;
	}
	/* O_NONBLOCK: a FIFO planted there must not hang the caller. */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0)
		goto syserr;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, size, "not a regular file");
		goto refused;
	}
	if (trust_check(&st, strict, "it", why, size) != 0)
		goto refused;
	libc.close(dfd);
	return fd;
syserr:
	e = errno;
	snprintf(why, size, "%s", strerror(e));
	goto out;
refused:
	e = EPERM;
out:
	if (fd >= 0)
		libc.close(fd);
	if (dfd >= 0)
		libc.close(dfd);
	errno = e;
	return -1;
}

/* Nothing: the current directory becomes the start-up one, once. */
void
trust_note_startdir(void)
{
	if (trust_startdir[0] == '\0' &&
	    getcwd(trust_startdir, sizeof(trust_startdir)) == NULL)
		trust_startdir[0] = '\0';
}

/* 0 and path made absolute in buf, or -1 (see trust.h). */
int
trust_absolute(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];
	const char *dir = trust_startdir;
	int n;

	if (path[0] == '/') {
		n = snprintf(buf, len, "%s", path);
	} else {
		if (dir[0] == '\0') {
			if (getcwd(cwd, sizeof(cwd)) == NULL)
				return -1;
			dir = cwd;
		}
		while (path[0] == '.' && path[1] == '/')
			path += 2;
		n = snprintf(buf, len, "%s%s%s", dir,
		    strcmp(dir, "/") == 0 ? "" : "/", path);
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* path made absolute, malloc'd, or NULL. */
char *
trust_absolute_dup(const char *path)
{
	char buf[PATH_MAX];

	return trust_absolute(path, buf, sizeof(buf)) == 0 ? strdup(buf) :
	    NULL;
}

/*
 * --- Relative paths handed on to children ---------------------------------
 *
 * The library resolves a relative path it is given against the start-up
 * directory, but a child that starts elsewhere (sh -c 'cd /tmp && curl')
 * inherits the same relative words and would resolve them against its
 * own: its preload would name no file, and the program would run with no
 * shim and no policy.  So the words are made absolute in the environment
 * at start-up, once, while the process has one thread.
 */

/* Nothing: each entry of the sep-separated list in variable name that
 * is relative and passes keep() is made absolute. */
static void
trust_env_list(const char *name, const char *sep, int (*keep)(const char *))
{
	char buf[PATH_MAX], out[8192], *copy, *tok, *save;
	const char *v = getenv(name);
	size_t len = 0;
	int changed = 0, n;

	if (v == NULL || *v == '\0' || (copy = strdup(v)) == NULL)
		return;
	out[0] = '\0';
	for (tok = strtok_r(copy, sep, &save); tok != NULL;
	    tok = strtok_r(NULL, sep, &save)) {
		const char *word = tok;

		if (tok[0] != '/' && keep(tok) &&
		    trust_absolute(tok, buf, sizeof(buf)) == 0) {
			word = buf;
			changed = 1;
		}
		n = snprintf(out + len, sizeof(out) - len, "%s%s",
		    len != 0 ? ":" : "", word);
		if (n < 0 || (size_t)n >= sizeof(out) - len) {
			changed = 0;	/* too long: leave it as it was */
			break;
		}
		len += (size_t)n;
	}
	if (changed)
		(void)setenv(name, out, 1);
	free(copy);
}

static int
trust_any_path(const char *word)
{
	return strcmp(word, "off") != 0;	/* WSPSHIM_LOG=off */
}

/* The loader's name of this library (a relative preload entry is kept as
 * given), for trust_is_self. */
static const char *trust_self;

static int
trust_is_self(const char *word)
{
	return trust_self != NULL && strcmp(word, trust_self) == 0;
}

void
trust_env_absolute(const char *self)
{
	trust_self = self;
	/* Only the library's own entry: a relative word without a slash is
	 * a search, not a path, and other libraries are not ours to move. */
	if (self != NULL && strchr(self, '/') != NULL)
		trust_env_list("LD_PRELOAD", ": ", trust_is_self);
	trust_env_list("WSPSHIM_CATALOG", "", trust_any_path);
	trust_env_list("WSPSHIM_LOG", "", trust_any_path);
	trust_env_list("WSPSHIM_LAYER_PATH", ":", trust_any_path);
	trust_self = NULL;
}

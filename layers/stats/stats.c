/*
 * stats.c - per-socket and per-process counters, written as JSON.
 *
 * Parameters (docs/layers/stats.md): out=FILE (%p is the pid; default
 * stderr) and signal=USR2 (dump on demand).  For each operation the layer
 * counts calls and the time spent below it (CLOCK_MONOTONIC), the bytes
 * sent and received, and failures by WSA code.  Each socket has its own
 * counters, folded into the process totals when it closes.
 *
 * The JSON is written once at the end, at exit (atexit) or at the last
 * WSPCleanup, whichever comes first; and on each signal, by the next call
 * through the layer (the handler only sets a flag).  A dump replaces the
 * file whole: it is written to FILE.tmp and renamed.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layerkit.h"
#include "outfile.h"

struct counters {
	_Atomic uint64_t	calls[LK_NOPS];
	_Atomic uint64_t	ns[LK_NOPS];
	_Atomic uint64_t	completions[LK_NOPS];	/* overlapped requests
							 * left pending that
							 * ended since */
	_Atomic uint64_t	errors[LK_WSA_SLOTS];
	_Atomic uint64_t	bytes_in, bytes_out;
};

struct stsock {
	struct lk_sock	ls;		/* the engine's part, first */
	struct stsock	*prev, *next;	/* the open sockets */
	struct counters	c;
};

struct stats_conf {
	char		out[PATH_MAX];	/* a pattern; "" for stderr */
	int		sig;		/* 0: none */
};

static const struct stats_conf *conf;
static struct counters totals;		/* closed sockets, socket-less calls */
static _Atomic uint64_t opened, closed;
static _Atomic uint64_t shared_out;	/* tokens made (WSADuplicateSocket) */
static _Atomic uint64_t shared_in;	/* sockets made of one */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stsock *live;
static volatile sig_atomic_t dump_asked;
static atomic_int final_done;
static struct sigaction old_action;

/* Add the counters of from to to. */
static void
fold(struct counters *to, struct counters *from)
{
	uint64_t v;
	int i;

	for (i = 0; i < LK_NOPS; i++) {
		if ((v = atomic_load(&from->calls[i])) != 0)
			atomic_fetch_add(&to->calls[i], v);
		if ((v = atomic_load(&from->ns[i])) != 0)
			atomic_fetch_add(&to->ns[i], v);
		if ((v = atomic_load(&from->completions[i])) != 0)
			atomic_fetch_add(&to->completions[i], v);
	}
	for (i = 0; i < LK_WSA_SLOTS; i++)
		if ((v = atomic_load(&from->errors[i])) != 0)
			atomic_fetch_add(&to->errors[i], v);
	atomic_fetch_add(&to->bytes_in, atomic_load(&from->bytes_in));
	atomic_fetch_add(&to->bytes_out, atomic_load(&from->bytes_out));
}

/* Print an object of the nonzero members of v (names from name()). */
static void
put_map(FILE *f, const char *key, _Atomic uint64_t *v, int n,
    const char *(*name)(int))
{
	const char *sep = "";
	uint64_t x;
	int i;

	fprintf(f, "\"%s\": {", key);
	for (i = 0; i < n; i++) {
		if ((x = atomic_load(&v[i])) == 0)
			continue;
		fprintf(f, "%s\"%s\": %llu", sep, name(i),
		    (unsigned long long)x);
		sep = ", ";
	}
	fprintf(f, "}");
}

static const char *
op_name(int i)
{
	return lk_op_names[i];
}

/* Print the members of a counters object. */
static void
put_counters(FILE *f, struct counters *c, const char *indent)
{
	fprintf(f, "%s", indent);
	put_map(f, "calls", c->calls, LK_NOPS, op_name);
	fprintf(f, ",\n%s", indent);
	put_map(f, "time_ns", c->ns, LK_NOPS, op_name);
	fprintf(f, ",\n%s", indent);
	put_map(f, "completions", c->completions, LK_NOPS, op_name);
	fprintf(f, ",\n%s\"bytes_in\": %llu,\n%s\"bytes_out\": %llu,\n%s",
	    indent, (unsigned long long)atomic_load(&c->bytes_in), indent,
	    (unsigned long long)atomic_load(&c->bytes_out), indent);
	put_map(f, "errors", c->errors, LK_WSA_SLOTS, lk_wsa_index_name);
	fprintf(f, "\n");
}

/* Print a JSON string (an address: no quotes or controls expected, but
 * escape them all the same). */
static void
put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* The whole report, into f. */
static void
report(FILE *f, const char *reason)
{
	struct counters *sum;
	struct stsock *s;
	char peer[160];
	const char *sep = "";

	if ((sum = calloc(1, sizeof(*sum))) == NULL)
		return;
	pthread_mutex_lock(&live_lock);
	fold(sum, &totals);
	for (s = live; s != NULL; s = s->next)
		fold(sum, &s->c);
	fprintf(f, "{\n  \"layer\": \"stats\",\n  \"pid\": %ld,\n"
	    "  \"reason\": \"%s\",\n  \"sockets_opened\": %llu,\n"
	    "  \"sockets_closed\": %llu,\n  \"sockets_shared_out\": %llu,\n"
	    "  \"sockets_shared_in\": %llu,\n  \"totals\": {\n",
	    (long)getpid(), reason, (unsigned long long)atomic_load(&opened),
	    (unsigned long long)atomic_load(&closed),
	    (unsigned long long)atomic_load(&shared_out),
	    (unsigned long long)atomic_load(&shared_in));
	put_counters(f, sum, "    ");
	fprintf(f, "  },\n  \"sockets\": [");
	for (s = live; s != NULL; s = s->next) {
		fprintf(f, "%s\n    {\n      \"fd\": %d,\n      \"family\": %d,"
		    "\n      \"type\": %d,\n      \"protocol\": %d,\n"
		    "      \"peer\": ", sep, s->ls.fd, s->ls.af, s->ls.type,
		    s->ls.protocol);
		if (s->ls.peerlen > 0)
			put_string(f, lk_addr_str(
			    (struct sockaddr *)&s->ls.peer, s->ls.peerlen,
			    peer, sizeof(peer)));
		else
			fprintf(f, "null");
		fprintf(f, ",\n");
		put_counters(f, &s->c, "      ");
		fprintf(f, "    }");
		sep = ",";
	}
	pthread_mutex_unlock(&live_lock);
	fprintf(f, "%s]\n}\n", *sep != '\0' ? "\n  " : "");
	free(sum);
}

/* Write everything out(reason) to the configured place. */
static void
dump(const char *reason)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	const char *why;
	char *text = NULL;
	size_t len = 0, off;
	ssize_t w;
	FILE *f;
	int fd = STDERR_FILENO, rc;

	if ((f = open_memstream(&text, &len)) == NULL)
		return;
	report(f, reason);
	if (fclose(f) != 0)
		goto out;
	if (conf != NULL && conf->out[0] != '\0') {
		if (lk_expand_path(conf->out, path, sizeof(path)) != 0 ||
		    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
		    (int)sizeof(tmp))
			goto out;
		/* No symbolic link, nor anyone else's file, is written
		 * through or replaced (outfile.h); the null device takes
		 * nothing. */
		if ((rc = outfile_may_replace(path, &why)) == 1)
			goto out;
		if (rc != 0 ||
		    (fd = outfile_open(tmp, OUTFILE_TRUNC, 0600, &why)) < 0) {
			lk_warn("cannot write %s: %s", path, why);
			goto out;
		}
	}
	for (off = 0; off < len; off += (size_t)w)
		if ((w = write(fd, text + off, len - off)) <= 0)
			break;
	if (fd != STDERR_FILENO) {
		close(fd);
		if (off < len || rename(tmp, path) != 0) {
			lk_warn("cannot write %s", path);
			unlink(tmp);
		}
	}
out:
	free(text);
}

/* The final report, once. */
static void
dump_final(const char *reason)
{
	if (atomic_exchange(&final_done, 1) == 0)
		dump(reason);
}

static void
at_exit(void)
{
	dump_final("exit");
}

static void
stats_cleanup(void)
{
	dump_final("cleanup");
}

/* The signal handler: only a flag (and the program's own handler). */
static void
on_signal(int sig, siginfo_t *info, void *uc)
{
	dump_asked = 1;
	if ((old_action.sa_flags & SA_SIGINFO) &&
	    old_action.sa_sigaction != NULL)
		old_action.sa_sigaction(sig, info, uc);
	else if (!(old_action.sa_flags & SA_SIGINFO) &&
	    old_action.sa_handler != SIG_DFL &&
	    old_action.sa_handler != SIG_IGN)
		old_action.sa_handler(sig);
}

/*
 * fork(): the child gets the list lock free, whatever another thread of
 * the parent held.  No prepare handler: the core calls providers (close)
 * with its own lock held, and its prepare handler takes that lock, so
 * taking ours before it would invert the order.
 */
static void
fork_child(void)
{
	pthread_mutex_init(&live_lock, NULL);
}

/* Registered as the library loads, not when it is configured: a handler
 * registered while another thread forks is left out of that fork. */
__attribute__((constructor)) static void
stats_atfork(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

/* A signal name ("USR2", "SIGUSR2") or number: the number, or 0. */
static int
parse_signal(const char *s)
{
	static const struct {
		const char	*name;
		int		sig;
	} sigs[] = {
		{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP },
		{ "WINCH", SIGWINCH }, { "URG", SIGURG },
	};
	char *end;
	long v;
	size_t i;

	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (strcmp(s, sigs[i].name) == 0)
			return sigs[i].sig;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || v <= 0 || v >= SIGRTMAX ||
	    v == SIGKILL || v == SIGSTOP)
		return 0;
	return (int)v;
}

/* Parse the parameter string into c: NULL, or why not (in why, len
 * bytes, for an unknown key). */
static const char *
stats_parse(struct stats_conf *c, const char *params, char *why, size_t len)
{
	static const char *const keys[] = { "out", "signal" };
	char *copy, *s, *tok, *eq;
	const char *bad = NULL;

	if ((copy = strdup(params)) == NULL)
		return "out of memory";
	s = copy;
	while (bad == NULL && (tok = strsep(&s, ";,")) != NULL) {
		tok += strspn(tok, " \t\n");
		if (*tok == '\0')
			continue;
		if (strncmp(tok, "out=", 4) == 0) {
			if (snprintf(c->out, sizeof(c->out), "%s", tok + 4) >=
			    (int)sizeof(c->out) || c->out[0] == '\0')
				bad = "bad out= file name";
		} else if (strncmp(tok, "signal=", 7) == 0) {
			if ((c->sig = parse_signal(tok + 7)) == 0) {
				snprintf(why, len, "unknown signal \"%s\"",
				    tok + 7);
				bad = why;
			}
		} else {
			if ((eq = strchr(tok, '=')) != NULL)
				*eq = '\0';
			lk_unknown(why, len, "key", tok, keys,
			    sizeof(keys) / sizeof(keys[0]));
			bad = why;
		}
	}
	free(copy);
	return bad;
}

/* The parameter check the wspshim command calls (ws2spi.h). */
static int
stats_check(const char *params, char *why, size_t len)
{
	struct stats_conf *c;
	const char *bad;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	bad = stats_parse(c, params, why, len);
	free(c);
	if (bad != NULL && bad != why)
		snprintf(why, len, "%s", bad);
	return bad != NULL ? -1 : 0;
}

static const char *
stats_configure(DWORD self, const char *params, void **confp)
{
	static char why[192];		/* configure runs once */
	struct stats_conf *c;
	struct sigaction sa;
	const char *bad;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return "out of memory";
	if ((bad = stats_parse(c, params, why, sizeof(why))) != NULL) {
		free(c);
		return bad;
	}
	if (c->sig != 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_signal;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(c->sig, &sa, &old_action);
	}
	conf = c;
	*confp = c;
	atexit(at_exit);
	return NULL;
}

/* A report asked for by the signal, made here, outside the handler. */
static void
dump_if_asked(void)
{
	if (dump_asked) {
		dump_asked = 0;
		dump("signal");
	}
}

static int
stats_before(struct lk_call *c)
{
	dump_if_asked();
	c->scratch[0] = lk_now_ns();
	return 0;
}

static int
stats_after(struct lk_call *c)
{
	struct counters *k = &totals;
	uint64_t dt = lk_now_ns() - c->scratch[0];

	if (c->ls != NULL)
		k = &((struct stsock *)c->ls)->c;
	if (c->completion)	/* the end of a request counted when made */
		atomic_fetch_add_explicit(&k->completions[c->op], 1,
		    memory_order_relaxed);
	else {
		atomic_fetch_add_explicit(&k->calls[c->op], 1,
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&k->ns[c->op], dt,
		    memory_order_relaxed);
	}
	if (c->pending)
		;	/* WSA_IO_PENDING: not an error; its bytes come later */
	else if (c->failed)
		atomic_fetch_add_explicit(&k->errors[lk_wsa_index(c->err)], 1,
		    memory_order_relaxed);
	else if (c->op == LK_DUPLICATESOCKET)
		atomic_fetch_add(&shared_out, 1);
	else if (c->op == LK_SOCKET && c->nls != NULL && c->nls->shared)
		atomic_fetch_add(&shared_in, 1);
	else if (lk_op_sends(c->op))
		atomic_fetch_add_explicit(&k->bytes_out, c->bytes,
		    memory_order_relaxed);
	else if (lk_op_receives(c->op))
		atomic_fetch_add_explicit(&k->bytes_in, c->bytes,
		    memory_order_relaxed);
	dump_if_asked();
	return 0;
}

static void
stats_sock_open(struct lk_sock *ls)
{
	struct stsock *s = (struct stsock *)ls;

	atomic_fetch_add(&opened, 1);
	pthread_mutex_lock(&live_lock);
	s->next = live;
	if (live != NULL)
		live->prev = s;
	live = s;
	pthread_mutex_unlock(&live_lock);
}

/* A closing socket's counters go into the totals. */
static void
stats_sock_close(struct lk_sock *ls)
{
	struct stsock *s = (struct stsock *)ls;

	pthread_mutex_lock(&live_lock);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		live = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	fold(&totals, &s->c);
	pthread_mutex_unlock(&live_lock);
	atomic_fetch_add(&closed, 1);
}

const struct lk_layer lk_layer = {
	.name = "stats",
	.sock_size = sizeof(struct stsock),
	.configure = stats_configure,
	.check = stats_check,
	.before = stats_before,
	.after = stats_after,
	.sock_open = stats_sock_open,
	.sock_close = stats_sock_close,
	.cleanup = stats_cleanup,
};

/* The provider's one export. */
LK_EXPORT int WSPAPI
WSPStartup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	return lk_startup(version, data, info, upcalls, procs);
}

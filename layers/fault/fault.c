/*
 * fault.c - fault injection for test scripts.
 *
 * The parameter string is a list of rules (docs/layers/fault.md):
 *
 *	fail=connect:WSAECONNREFUSED;count=1
 *	short=send:1
 *	delay=recv:5ms
 *	fail=send|recv:WSAECONNRESET;p=0.1;seed=42;addr=127.0.0.1:8080
 *
 * An action (fail, short, delay) starts a rule; the modifiers after it
 * (after, count, p, seed, addr) narrow that rule.  Before each call the
 * rules are tried in order: every matching delay sleeps, every matching
 * short caps the bytes the call moves, and the first matching fail ends
 * the call with its WSA code without sending it down.  Probabilities come
 * from a per-rule generator with a fixed seed, so a run is repeatable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layerkit.h"

#define OPBIT(op)	(1ull << (op))
#define SEND_OPS	(OPBIT(LK_SEND) | OPBIT(LK_SENDTO) | \
			    OPBIT(LK_SENDMSG) | OPBIT(LK_SENDFILE) | \
			    OPBIT(LK_SPLICE_SEND))
#define RECV_OPS	(OPBIT(LK_RECV) | OPBIT(LK_RECVFROM) | \
			    OPBIT(LK_RECVMSG) | OPBIT(LK_SPLICE_RECV))
#define MAX_RULES	32

enum action { ACT_FAIL, ACT_SHORT, ACT_DELAY };

struct rule {
	enum action	action;
	uint64_t	ops;		/* OPBIT()s it applies to */
	int		code;		/* fail: the WSA code */
	uint64_t	amount;		/* short: bytes; delay: nanoseconds */
	uint64_t	after;		/* let this many matching calls pass */
	uint64_t	count;		/* fire at most this often; 0: always */
	double		p;		/* probability of firing */
	uint64_t	rng;		/* generator state (from seed) */
	int		has_addr, has_port;
	int		af;
	unsigned char	host[16];
	uint16_t	port;		/* network order */
	uint64_t	seen, fired;	/* matching calls, firings */
};

struct fault_conf {
	pthread_mutex_t	lock;		/* rule state */
	int		nrules;
	struct rule	rules[MAX_RULES];
};

/* The operation names of the grammar and what each covers. */
static const struct {
	const char	*name;
	uint64_t	ops;
} op_names[] = {
	{ "socket", OPBIT(LK_SOCKET) },
	{ "bind", OPBIT(LK_BIND) },
	{ "connect", OPBIT(LK_CONNECT) },
	{ "listen", OPBIT(LK_LISTEN) },
	{ "accept", OPBIT(LK_ACCEPT) | OPBIT(LK_ACCEPT4) },
	{ "send", SEND_OPS },
	{ "sendto", OPBIT(LK_SENDTO) },
	{ "sendmsg", OPBIT(LK_SENDMSG) },
	{ "recv", RECV_OPS },
	{ "recvfrom", OPBIT(LK_RECVFROM) },
	{ "recvmsg", OPBIT(LK_RECVMSG) },
	{ "sendfile", OPBIT(LK_SENDFILE) },
	{ "splice", OPBIT(LK_SPLICE_SEND) | OPBIT(LK_SPLICE_RECV) },
	{ "shutdown", OPBIT(LK_SHUTDOWN) },
	{ "getsockopt", OPBIT(LK_GETSOCKOPT) },
	{ "setsockopt", OPBIT(LK_SETSOCKOPT) },
	{ "getsockname", OPBIT(LK_GETSOCKNAME) },
	{ "getpeername", OPBIT(LK_GETPEERNAME) },
	{ "ioctl", OPBIT(LK_IOCTL) },
	{ "all", OPBIT(LK_SOCKET) | OPBIT(LK_BIND) | OPBIT(LK_CONNECT) |
	    OPBIT(LK_LISTEN) | OPBIT(LK_ACCEPT) | OPBIT(LK_ACCEPT4) |
	    SEND_OPS | RECV_OPS | OPBIT(LK_SHUTDOWN) | OPBIT(LK_GETSOCKOPT) |
	    OPBIT(LK_SETSOCKOPT) | OPBIT(LK_GETSOCKNAME) |
	    OPBIT(LK_GETPEERNAME) | OPBIT(LK_IOCTL) },
};

/* The next number of splitmix64 from *state. */
static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A uniform draw in [0, 1). */
static double
uniform(uint64_t *state)
{
	return (double)(splitmix64(state) >> 11) * 0x1.0p-53;
}

/* The ops a list like "send|recv" names: 0 and *ops, or -1 with why.
 * s is cut at the ':' that ends the list; *rest gets what follows. */
static int
parse_ops(char *s, char **rest, uint64_t *ops, char *why, size_t len)
{
	const char *words[sizeof(op_names) / sizeof(op_names[0])];
	char *colon, *name;
	size_t i, n = sizeof(op_names) / sizeof(op_names[0]);

	*ops = 0;
	if ((colon = strchr(s, ':')) == NULL) {
		snprintf(why, len, "\"%s\" needs OP[|OP...]:VALUE", s);
		return -1;
	}
	*colon = '\0';
	*rest = colon + 1;
	while ((name = strsep(&s, "|+")) != NULL) {
		for (i = 0; i < n; i++)
			if (strcmp(op_names[i].name, name) == 0)
				break;
		if (i == n) {
			for (i = 0; i < n; i++)
				words[i] = op_names[i].name;
			lk_unknown(why, len, "operation", name, words, n);
			return -1;
		}
		*ops |= op_names[i].ops;
	}
	return 0;
}

/* A count: 0 and *v, or -1. */
static int
parse_count(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* A duration ("5ms", "200us", "1s", "10ns"; a bare number is ms) in
 * nanoseconds: 0 and *ns, or -1. */
static int
parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char	*unit;
		uint64_t	scale;
	} units[] = {
		{ "", 1000000 }, { "ms", 1000000 }, { "us", 1000 },
		{ "ns", 1 }, { "s", 1000000000 },
	};
	char *end;
	double v;
	size_t i;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtod(s, &end);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v * (double)units[i].scale > 1e15)
				return -1;
			*ns = (uint64_t)(v * (double)units[i].scale);
			return 0;
		}
	return -1;
}

/* An address: "127.0.0.1", "127.0.0.1:80", "::1", "[::1]:80" or ":80"
 * (any host).  0, or -1. */
static int
parse_addr(char *s, struct rule *r)
{
	char *port = NULL, *end;
	unsigned long v;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		*end = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
		s++;
	} else if (strchr(s, ':') == strrchr(s, ':') &&
	    (end = strchr(s, ':')) != NULL) {
		*end = '\0';		/* one ':': IPv4 (or none) and a port */
		port = end + 1;
	}
	if (*s != '\0') {
		if (inet_pton(AF_INET, s, r->host) == 1)
			r->af = AF_INET;
		else if (inet_pton(AF_INET6, s, r->host) == 1)
			r->af = AF_INET6;
		else
			return -1;
	}
	if (port != NULL) {
		v = strtoul(port, &end, 10);
		if (*port == '\0' || *end != '\0' || v > 65535)
			return -1;
		r->port = htons((uint16_t)v);
		r->has_port = 1;
	}
	r->has_addr = 1;
	return 0;
}

/* Start a rule from an action's value "OPS:ARG": 0, or -1 with why. */
static int
parse_action(struct rule *r, enum action a, char *v, char *why, size_t len)
{
	const char *bad = NULL;
	char *arg;

	r->action = a;
	r->p = 1.0;
	if (parse_ops(v, &arg, &r->ops, why, len) != 0)
		return -1;
	switch (a) {
	case ACT_FAIL:
		if (lk_wsa_parse(arg, &r->code) != 0) {
			snprintf(why, len, "unknown error \"%s\" (use a "
			    "WSAE... name or a number)", arg);
			return -1;
		}
		break;
	case ACT_SHORT:
		if ((r->ops & ~(SEND_OPS | RECV_OPS)) != 0)
			bad = "short applies to send and recv operations only";
		else if (parse_count(arg, &r->amount) != 0 || r->amount == 0)
			bad = "short needs a byte count of at least 1";
		break;
	case ACT_DELAY:
		if (parse_duration(arg, &r->amount) != 0)
			bad = "bad duration (e.g. 5ms, 200us, 1s)";
		break;
	}
	if (bad != NULL) {
		snprintf(why, len, "%s", bad);
		return -1;
	}
	return 0;
}

/* The keys of the grammar, for suggestions. */
static const char *const keys[] = {
	"fail", "short", "delay", "seed", "after", "count", "p", "addr",
};

/* Parse the whole parameter string into c: 0, or -1 with why (len
 * bytes). */
static int
parse(struct fault_conf *c, char *s, char *why, size_t len)
{
	struct rule *r = NULL;
	uint64_t seed = 1;
	char *tok, *v, *end;
	const char *bad = NULL;

	while (bad == NULL && (tok = strsep(&s, ";, \t\n")) != NULL) {
		if (*tok == '\0')
			continue;
		if ((v = strchr(tok, '=')) == NULL) {
			snprintf(why, len, "\"%s\": expected KEY=VALUE", tok);
			return -1;
		}
		*v++ = '\0';
		if (strcmp(tok, "fail") == 0 || strcmp(tok, "short") == 0 ||
		    strcmp(tok, "delay") == 0) {
			if (c->nrules == MAX_RULES) {
				bad = "too many rules";
				break;
			}
			r = &c->rules[c->nrules++];
			if (parse_action(r, tok[0] == 'f' ? ACT_FAIL :
			    tok[0] == 's' ? ACT_SHORT : ACT_DELAY, v, why, len) != 0)
				return -1;
			r->rng = seed;
		} else if (strcmp(tok, "seed") == 0) {
			if (parse_count(v, &seed) != 0)
				bad = "bad seed";
			else if (r != NULL)
				r->rng = seed;
		} else if (r == NULL && (strcmp(tok, "after") == 0 ||
		    strcmp(tok, "count") == 0 || strcmp(tok, "p") == 0 ||
		    strcmp(tok, "addr") == 0)) {
			snprintf(why, len, "\"%s\" before any fail, short or "
			    "delay", tok);
			return -1;
		} else if (strcmp(tok, "after") == 0) {
			if (parse_count(v, &r->after) != 0)
				bad = "bad after count";
		} else if (strcmp(tok, "count") == 0) {
			if (parse_count(v, &r->count) != 0 || r->count == 0)
				bad = "bad count (at least 1)";
		} else if (strcmp(tok, "p") == 0) {
			r->p = strtod(v, &end);
			if (*v == '\0' || *end != '\0' || !(r->p >= 0.0) ||
			    r->p > 1.0)
				bad = "p must be a number from 0 to 1";
		} else if (strcmp(tok, "addr") == 0) {
			if (parse_addr(v, r) != 0)
				bad = "bad addr (HOST, HOST:PORT, [V6]:PORT "
				    "or :PORT)";
		} else {
			lk_unknown(why, len, "key", tok, keys,
			    sizeof(keys) / sizeof(keys[0]));
			return -1;
		}
	}
	if (bad != NULL) {
		snprintf(why, len, "%s", bad);
		return -1;
	}
	return 0;
}

/* A new configuration parsed from params, or NULL with why (len
 * bytes). */
static struct fault_conf *
conf_new(const char *params, char *why, size_t len)
{
	struct fault_conf *c;
	char *copy;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (copy = strdup(params)) == NULL) {
		free(c);
		snprintf(why, len, "out of memory");
		return NULL;
	}
	rc = parse(c, copy, why, len);
	free(copy);
	if (rc != 0) {
		free(c);
		return NULL;
	}
	return c;
}

/* The parameter check the wspshim command calls (ws2spi.h): the same
 * parser on a scratch configuration. */
static int
fault_check(const char *params, char *why, size_t len)
{
	struct fault_conf *c = conf_new(params, why, len);
	int rc = c != NULL ? 0 : -1;

	free(c);
	return rc;
}

static _Atomic(struct fault_conf *) the_conf;

/* fork(): the child gets the rule lock free, whatever another thread of
 * the parent held (no prepare handler: see stats.c). */
static void
fork_child(void)
{
	struct fault_conf *c = atomic_load(&the_conf);

	if (c != NULL)
		pthread_mutex_init(&c->lock, NULL);
}

/* Registered as the library loads, not when it is configured: a handler
 * registered while another thread forks is left out of that fork. */
__attribute__((constructor)) static void
fault_atfork(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

static const char *
fault_configure(DWORD self, const char *params, void **conf)
{
	static char why[256];		/* configure runs once */
	struct fault_conf *c;

	if ((c = conf_new(params, why, sizeof(why))) == NULL)
		return why;
	pthread_mutex_init(&c->lock, NULL);
	atomic_store(&the_conf, c);
	*conf = c;
	return NULL;
}

/* Whether the call's remote address (its address argument, else the
 * socket's peer) is the rule's. */
static int
addr_matches(const struct rule *r, const struct lk_call *c)
{
	const struct sockaddr *sa = c->addr;
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	int len = c->addrlen;

	if (sa == NULL && c->ls != NULL && c->ls->peerlen > 0) {
		sa = (const struct sockaddr *)&c->ls->peer;
		len = c->ls->peerlen;
	}
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET && len >= (int)sizeof(*sin)) {
		sin = (const void *)sa;
		return (r->af == 0 || (r->af == AF_INET &&
		    memcmp(&sin->sin_addr, r->host, 4) == 0)) &&
		    (!r->has_port || sin->sin_port == r->port);
	}
	if (sa->sa_family == AF_INET6 && len >= (int)sizeof(*sin6)) {
		sin6 = (const void *)sa;
		return (r->af == 0 || (r->af == AF_INET6 &&
		    memcmp(&sin6->sin6_addr, r->host, 16) == 0)) &&
		    (!r->has_port || sin6->sin6_port == r->port);
	}
	return 0;
}

/* Whether rule r fires for call c (it counts the call).  Lock held. */
static int
fires(struct rule *r, const struct lk_call *c)
{
	if ((r->ops & OPBIT(c->op)) == 0 ||
	    (r->has_addr && !addr_matches(r, c)))
		return 0;
	if (r->seen++ < r->after)
		return 0;
	if (r->count != 0 && r->fired >= r->count)
		return 0;
	if (r->p < 1.0 && uniform(&r->rng) >= r->p)
		return 0;
	r->fired++;
	return 1;
}

/* Sleep ns nanoseconds, all of them. */
static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000u),
		.tv_nsec = (long)(ns % 1000000000u),
	};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
fault_before(struct lk_call *c)
{
	struct fault_conf *conf = c->conf;
	uint64_t delay = 0;
	struct rule *r;
	int i, code = 0;

	if (conf == NULL || conf->nrules == 0)
		return 0;
	pthread_mutex_lock(&conf->lock);
	for (i = 0; i < conf->nrules && code == 0; i++) {
		r = &conf->rules[i];
		if (!fires(r, c))
			continue;
		switch (r->action) {
		case ACT_FAIL:
			code = r->code;
			break;
		case ACT_SHORT:
			if (c->limit == 0 || r->amount < c->limit)
				c->limit = r->amount;
			break;
		case ACT_DELAY:
			delay += r->amount;
			break;
		}
	}
	pthread_mutex_unlock(&conf->lock);
	if (delay != 0)
		sleep_ns(delay);
	return code;
}

const struct lk_layer lk_layer = {
	.name = "fault",
	.sock_size = sizeof(struct lk_sock),
	.configure = fault_configure,
	.check = fault_check,
	.before = fault_before,
};

/* The provider's one export. */
LK_EXPORT int WSPAPI
WSPStartup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	return lk_startup(version, data, info, upcalls, procs);
}

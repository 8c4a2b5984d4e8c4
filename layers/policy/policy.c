/*
 * policy.c - allow or deny connect, bind, accept and sendto by address.
 *
 * The parameter string is a list of rules separated by ';' (or ','), each
 * a list of words (docs/layers/policy.md):
 *
 *	deny connect 10.0.0.0/8; allow connect ::1 port 8000-8999;
 *	deny bind inet6; default deny
 *
 * A rule matches a call when each of its parts does: the direction
 * (connect, bind, accept, sendto; none given: all four), the family
 * (inet, inet6, unix), the address prefix (CIDR, IPv4 or IPv6) and the
 * port range.  The first matching rule decides; with none, the default
 * (allow unless "default deny").  A denied call fails with WSAEACCES
 * (errno EACCES) and never reaches the provider below; a denied accept
 * closes the connection it took.  IPv4-mapped IPv6 addresses
 * (::ffff:a.b.c.d) are matched as IPv4.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "layerkit.h"

#define MAX_RULES	64

/* Directions. */
#define D_CONNECT	0x1
#define D_BIND		0x2
#define D_ACCEPT	0x4
#define D_SENDTO	0x8
#define D_ALL		(D_CONNECT | D_BIND | D_ACCEPT | D_SENDTO)

/* Families. */
#define F_INET		0x1
#define F_INET6		0x2
#define F_UNIX		0x4

struct rule {
	int		allow;
	unsigned	dirs;		/* D_*; 0 means all */
	unsigned	fams;		/* F_*; 0 means any */
	int		af;		/* of the prefix; 0: no prefix */
	unsigned char	net[16];
	int		bits;
	int		has_port;
	unsigned	port_lo, port_hi;
};

struct policy_conf {
	int		default_allow;
	int		nrules;
	struct rule	rules[MAX_RULES];
};

/* An address with its prefix length ("10.0.0.0/8", "::1"): 0, or -1. */
static int
parse_prefix(char *w, struct rule *r)
{
	char *slash, *end;
	long bits;
	int max;

	if ((slash = strchr(w, '/')) != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, w, r->net) == 1) {
		r->af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, w, r->net) == 1) {
		r->af = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	r->bits = max;
	if (slash != NULL) {
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > max)
			return -1;
		r->bits = (int)bits;
	}
	return 0;
}

/* A port or a range "N-M": 0, or -1. */
static int
parse_ports(const char *w, struct rule *r)
{
	char *end;
	unsigned long lo, hi;

	lo = strtoul(w, &end, 10);
	if (end == w || lo > 65535)
		return -1;
	hi = lo;
	if (*end == '-') {
		w = end + 1;
		hi = strtoul(w, &end, 10);
		if (end == w || hi > 65535 || hi < lo)
			return -1;
	}
	if (*end != '\0')
		return -1;
	r->has_port = 1;
	r->port_lo = (unsigned)lo;
	r->port_hi = (unsigned)hi;
	return 0;
}

/* Parse one rule (its words) into c.  NULL, or why not. */
static const char *
parse_rule(struct policy_conf *c, char *s)
{
	static const struct {
		const char	*word;
		unsigned	dir, fam;
	} words[] = {
		{ "connect", D_CONNECT, 0 }, { "bind", D_BIND, 0 },
		{ "accept", D_ACCEPT, 0 }, { "sendto", D_SENDTO, 0 },
		{ "inet", 0, F_INET }, { "inet6", 0, F_INET6 },
		{ "unix", 0, F_UNIX },
	};
	/* The message naming a bad word: configure runs once, and the
	 * check in the wspshim command's own process. */
	static char bad_word[192];
	struct rule *r;
	char *w;
	size_t i;

	while ((w = strsep(&s, " \t\n")) != NULL && *w == '\0')
		;
	if (w == NULL)
		return NULL;			/* an empty rule */
	if (strcmp(w, "default") == 0 || strncmp(w, "default=", 8) == 0) {
		if (w[7] == '=')
			w += 8;
		else
			while ((w = strsep(&s, " \t\n")) != NULL && *w == '\0')
				;
		if (w == NULL || (strcmp(w, "allow") != 0 &&
		    strcmp(w, "deny") != 0))
			return "default needs allow or deny";
		c->default_allow = w[0] == 'a';
		while ((w = strsep(&s, " \t\n")) != NULL)
			if (*w != '\0')
				return "words after default";
		return NULL;
	}
	if (strcmp(w, "allow") != 0 && strcmp(w, "deny") != 0)
		return "a rule starts with allow, deny or default";
	if (c->nrules == MAX_RULES)
		return "too many rules";
	r = &c->rules[c->nrules++];
	r->allow = w[0] == 'a';
	while ((w = strsep(&s, " \t\n")) != NULL) {
		if (*w == '\0' || strcmp(w, "any") == 0)
			continue;
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strcmp(w, words[i].word) == 0)
				break;
		if (i < sizeof(words) / sizeof(words[0])) {
			r->dirs |= words[i].dir;
			r->fams |= words[i].fam;
		} else if (strcmp(w, "port") == 0) {
			while ((w = strsep(&s, " \t\n")) != NULL && *w == '\0')
				;
			if (w == NULL || parse_ports(w, r) != 0)
				return "port needs N or N-M (0 to 65535)";
		} else if (strncmp(w, "port=", 5) == 0) {
			if (parse_ports(w + 5, r) != 0)
				return "port needs N or N-M (0 to 65535)";
		} else if (parse_prefix(w, r) != 0) {
			snprintf(bad_word, sizeof(bad_word), "unknown word "
			    "\"%s\" (not a direction, family, address/prefix "
			    "or port)", w);
			return bad_word;
		}
	}
	return NULL;
}

/* Parse the parameter string into c: NULL, or why not. */
static const char *
policy_parse(struct policy_conf *c, const char *params)
{
	const char *why = NULL;
	char *copy, *s, *rule;

	if ((copy = strdup(params)) == NULL)
		return "out of memory";
	c->default_allow = 1;
	s = copy;
	while (why == NULL && (rule = strsep(&s, ";,")) != NULL)
		why = parse_rule(c, rule);
	free(copy);
	return why;
}

/* The parameter check the wspshim command calls (ws2spi.h). */
static int
policy_check(const char *params, char *why, size_t len)
{
	struct policy_conf *c;
	const char *bad;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	bad = policy_parse(c, params);
	free(c);
	if (bad != NULL)
		snprintf(why, len, "%s", bad);
	return bad != NULL ? -1 : 0;
}

static const char *
policy_configure(DWORD self, const char *params, void **conf)
{
	struct policy_conf *c;
	const char *why;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return "out of memory";
	if ((why = policy_parse(c, params)) != NULL) {
		free(c);
		return why;
	}
	*conf = c;
	return NULL;
}

/* Whether the first bits bits of a and b agree. */
static int
prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* Whether rule r matches an address (family fam, address bytes addr of
 * family af, port, has_port) in direction dir. */
static int
rule_matches(const struct rule *r, unsigned dir, unsigned fam, int af,
    const unsigned char *addr, int has_port, unsigned port)
{
	if (r->dirs != 0 && (r->dirs & dir) == 0)
		return 0;
	if (r->fams != 0 && (r->fams & fam) == 0)
		return 0;
	if (r->af != 0 && (r->af != af || !prefix_eq(r->net, addr, r->bits)))
		return 0;
	if (r->has_port && (!has_port || port < r->port_lo ||
	    port > r->port_hi))
		return 0;
	return 1;
}

/* Whether conf allows direction dir to address sa. */
static int
allowed(const struct policy_conf *conf, unsigned dir,
    const struct sockaddr *sa, int len)
{
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	unsigned char addr[16];
	unsigned fam = 0, port = 0;
	int af = 0, has_port = 0, i;

	if (sa != NULL && len >= (int)sizeof(sa_family_t)) {
		if (sa->sa_family == AF_INET && len >= (int)sizeof(*sin)) {
			fam = F_INET;
			af = AF_INET;
			memcpy(addr, &sin->sin_addr, 4);
			port = ntohs(sin->sin_port);
			has_port = 1;
		} else if (sa->sa_family == AF_INET6 &&
		    len >= (int)sizeof(*sin6)) {
			fam = F_INET6;
			af = AF_INET6;
			memcpy(addr, &sin6->sin6_addr, 16);
			port = ntohs(sin6->sin6_port);
			has_port = 1;
			if (memcmp(addr, v4mapped, 12) == 0) {
				fam = F_INET;
				af = AF_INET;
				memmove(addr, addr + 12, 4);
			}
		} else if (sa->sa_family == AF_UNIX) {
			fam = F_UNIX;
		}
	}
	for (i = 0; i < conf->nrules; i++)
		if (rule_matches(&conf->rules[i], dir, fam, af, addr,
		    has_port, port))
			return conf->rules[i].allow;
	return conf->default_allow;
}

static int
policy_before(struct lk_call *c)
{
	const struct policy_conf *conf = c->conf;
	unsigned dir;

	switch (c->op) {
	case LK_CONNECT:
		dir = D_CONNECT;
		break;
	case LK_BIND:
		dir = D_BIND;
		break;
	case LK_SENDTO:
	case LK_SENDMSG:
		if (c->addr == NULL)
			return 0;	/* connected: connect decided */
		dir = D_SENDTO;
		break;
	default:
		return 0;
	}
	return allowed(conf, dir, c->addr, c->addrlen) ? 0 : WSAEACCES;
}

/* A connection accepted from a denied peer is closed: WSAEACCES. */
static int
policy_after(struct lk_call *c)
{
	if ((c->op != LK_ACCEPT && c->op != LK_ACCEPT4) || c->failed)
		return 0;
	return allowed(c->conf, D_ACCEPT, c->addr, c->addrlen) ? 0 :
	    WSAEACCES;
}

const struct lk_layer lk_layer = {
	.name = "policy",
	.sock_size = sizeof(struct lk_sock),
	.configure = policy_configure,
	.check = policy_check,
	.before = policy_before,
	.after = policy_after,
};

/* The provider's one export. */
LK_EXPORT int WSPAPI
WSPStartup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	return lk_startup(version, data, info, upcalls, procs);
}

/*
 * fuzz_params - a shipped layer's parameter parser, on any string: the
 * layer's source is compiled into this program (built once per layer,
 * FUZZ_LAYER = fault, policy, stats or trace) so that its static parser
 * can be called as the layer's first WSPStartup calls it.  sandbox.c
 * stands in for open() and sigaction(): no file is made, no signal taken.
 *
 * Properties: nothing crashes, leaks or reads uninitialised state (the
 * same string parsed twice gives the same configuration, byte for byte);
 * a refused string gets a message; an accepted one stays within the
 * layer's limits.
 */
#include "fuzz.h"
#include "sandbox.h"

#define FZ_FAULT	1
#define FZ_POLICY	2
#define FZ_STATS	3
#define FZ_TRACE	4

/* The core's archive has a WSPStartup of its own (the base's export). */
#define WSPStartup	fuzz_layer_WSPStartup

#if FUZZ_LAYER == FZ_FAULT
#include "../../layers/fault/fault.c"
#elif FUZZ_LAYER == FZ_POLICY
#include "../../layers/policy/policy.c"
#elif FUZZ_LAYER == FZ_STATS
#include "../../layers/stats/stats.c"
#elif FUZZ_LAYER == FZ_TRACE
#include "../../layers/trace/trace.c"
#else
#error "FUZZ_LAYER names no layer"
#endif

/* What one parse gave: its message (NULL: accepted) and, accepted, the
 * configuration's bytes in out (at most cap), their count in *n. */
static const char *
parse_once(const char *params, void *out, size_t cap, size_t *n)
{
	const char *why;
	char *copy;

	*n = 0;
	FZ_CHECK((copy = strdup(params)) != NULL);
#if FUZZ_LAYER == FZ_FAULT
	static char fault_why[256];
	struct fault_conf *c = calloc(1, sizeof(*c));

	FZ_CHECK(c != NULL);
	why = parse(c, copy, fault_why, sizeof(fault_why)) == 0 ? NULL :
	    fault_why;
	if (why == NULL) {
		FZ_CHECK(c->nrules >= 0 && c->nrules <= MAX_RULES);
		*n = offsetof(struct fault_conf, rules) +
		    (size_t)c->nrules * sizeof(c->rules[0]);
		*n -= offsetof(struct fault_conf, nrules);
		FZ_CHECK(*n <= cap);
		memcpy(out, &c->nrules, *n);
	}
	free(c);
#elif FUZZ_LAYER == FZ_POLICY
	void *conf = NULL;
	struct policy_conf *c;

	if ((why = policy_configure(0, copy, &conf)) == NULL) {
		c = conf;
		FZ_CHECK(c != NULL && c->nrules >= 0 &&
		    c->nrules <= MAX_RULES);
		*n = sizeof(*c);
		FZ_CHECK(*n <= cap);
		memcpy(out, c, *n);
		free(c);
	}
#elif FUZZ_LAYER == FZ_STATS
	void *c = NULL;

	if ((why = stats_configure(0, copy, &c)) == NULL) {
		FZ_CHECK(c != NULL && c == conf);
		*n = sizeof(struct stats_conf);
		FZ_CHECK(*n <= cap);
		memcpy(out, c, *n);
		free(c);
		conf = NULL;
	}
#else
	if ((why = parse_params(copy)) == NULL) {
		FZ_CHECK(cf.nfds >= 0 && cf.nfds <= TRACE_FDS);
		FZ_CHECK(cf.out >= 0);
	}
	/* The descriptor is whatever was free: not part of the result.  No
	 * other may be left open (an out= given twice leaked one). */
	close_out();
	FZ_CHECK(fcntl(TRACE_FD_MIN, F_GETFD) < 0 &&
	    fcntl(TRACE_FD_MIN + 1, F_GETFD) < 0);
	*n = sizeof(cf) + sizeof(cf_pattern);
	FZ_CHECK(*n <= cap);
	memcpy(out, &cf, sizeof(cf));
	memcpy((char *)out + sizeof(cf), cf_pattern, sizeof(cf_pattern));
	memset(&cf, 0, sizeof(cf));
	cf.out = STDERR_FILENO;
	cf.strsize = 32;
	cf.calls = ~0u;
	memset(cf_pattern, 0, sizeof(cf_pattern));
#endif
	free(copy);
	FZ_CHECK(why == NULL || why[0] != '\0');
	return why;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[1 << 16], b[1 << 16];
	struct fz f = { data, size };
	const char *w1, *w2;
	size_t n1, n2;
	char *s = fz_str(&f);

	sandbox_on = 1;
	w1 = parse_once(s, a, sizeof(a), &n1);
	w2 = parse_once(s, b, sizeof(b), &n2);
	sandbox_on = 0;
	FZ_CHECK((w1 == NULL) == (w2 == NULL));
	FZ_CHECK(w1 == NULL || strcmp(w1, w2) == 0);
	FZ_CHECK(n1 == n2 && memcmp(a, b, n1) == 0);
	free(s);
	return 0;
}

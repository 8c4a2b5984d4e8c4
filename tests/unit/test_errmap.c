/*
 * test_errmap.c - the errno <-> WSA map: every row of errors.def both ways,
 * names, messages, unknown values, and the native errno kept per thread.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <wspshim/winsock2.h>

#include "errmap.h"
#include "tls.h"

/*
 * One code row of errors.def.  Criterion hands parameters to a fresh
 * process, so they hold no pointers: the strings are stored inline.
 */
struct row {
	int	wsa;
	int	errnum;
	int	both;
	char	name[32];
	char	msg[64];
};

/* One errno-only row. */
struct alias {
	int	errnum;
	int	wsa;
};

static struct row rows[] = {
#define ERRMAP_BOTH(code, errno_, msg)	{ code, errno_, 1, #code, msg },
#define ERRMAP_CODE(code, errno_, msg)	{ code, errno_, 0, #code, msg },
#define ERRMAP_ALIAS(errno_, code)
#include "errors.def"
#undef ERRMAP_BOTH
#undef ERRMAP_CODE
#undef ERRMAP_ALIAS
};

static struct alias aliases[] = {
#define ERRMAP_BOTH(code, errno_, msg)
#define ERRMAP_CODE(code, errno_, msg)
#define ERRMAP_ALIAS(errno_, code)	{ errno_, code },
#include "errors.def"
#undef ERRMAP_BOTH
#undef ERRMAP_CODE
#undef ERRMAP_ALIAS
};

#define NROWS		(sizeof(rows) / sizeof(rows[0]))
#define NALIASES	(sizeof(aliases) / sizeof(aliases[0]))

/*
 * Every error code winsock2.h defines, written out from the header rather
 * than from errors.def, so a code missing from the table is caught.
 */
struct code {
	int	wsa;
	char	name[32];
};

#define C(x)	{ x, #x }
static struct code header_codes[] = {
	C(WSA_INVALID_HANDLE),
	C(WSA_NOT_ENOUGH_MEMORY),
	C(WSA_INVALID_PARAMETER),
	C(WSA_OPERATION_ABORTED),
	C(WSA_IO_INCOMPLETE),
	C(WSA_IO_PENDING),
	C(WSAEINTR),
	C(WSAEBADF),
	C(WSAEACCES),
	C(WSAEFAULT),
	C(WSAEINVAL),
	C(WSAEMFILE),
	C(WSAEWOULDBLOCK),
	C(WSAEINPROGRESS),
	C(WSAEALREADY),
	C(WSAENOTSOCK),
	C(WSAEDESTADDRREQ),
	C(WSAEMSGSIZE),
	C(WSAEPROTOTYPE),
	C(WSAENOPROTOOPT),
	C(WSAEPROTONOSUPPORT),
	C(WSAESOCKTNOSUPPORT),
	C(WSAEOPNOTSUPP),
	C(WSAEPFNOSUPPORT),
	C(WSAEAFNOSUPPORT),
	C(WSAEADDRINUSE),
	C(WSAEADDRNOTAVAIL),
	C(WSAENETDOWN),
	C(WSAENETUNREACH),
	C(WSAENETRESET),
	C(WSAECONNABORTED),
	C(WSAECONNRESET),
	C(WSAENOBUFS),
	C(WSAEISCONN),
	C(WSAENOTCONN),
	C(WSAESHUTDOWN),
	C(WSAETOOMANYREFS),
	C(WSAETIMEDOUT),
	C(WSAECONNREFUSED),
	C(WSAELOOP),
	C(WSAENAMETOOLONG),
	C(WSAEHOSTDOWN),
	C(WSAEHOSTUNREACH),
	C(WSAENOTEMPTY),
	C(WSAEPROCLIM),
	C(WSAEUSERS),
	C(WSAEDQUOT),
	C(WSAESTALE),
	C(WSAEREMOTE),
	C(WSASYSNOTREADY),
	C(WSAVERNOTSUPPORTED),
	C(WSANOTINITIALISED),
	C(WSAEDISCON),
	C(WSAENOMORE),
	C(WSAECANCELLED),
	C(WSAEINVALIDPROCTABLE),
	C(WSAEINVALIDPROVIDER),
	C(WSAEPROVIDERFAILEDINIT),
	C(WSASYSCALLFAILURE),
	C(WSASERVICE_NOT_FOUND),
	C(WSATYPE_NOT_FOUND),
	C(WSA_E_NO_MORE),
	C(WSA_E_CANCELLED),
	C(WSAEREFUSED),
	C(WSAHOST_NOT_FOUND),
	C(WSATRY_AGAIN),
	C(WSANO_RECOVERY),
	C(WSANO_DATA),
	C(WSA_QOS_RECEIVERS),
	C(WSA_QOS_SENDERS),
	C(WSA_QOS_NO_SENDERS),
	C(WSA_QOS_NO_RECEIVERS),
	C(WSA_QOS_REQUEST_CONFIRMED),
	C(WSA_QOS_ADMISSION_FAILURE),
	C(WSA_QOS_POLICY_FAILURE),
	C(WSA_QOS_BAD_STYLE),
	C(WSA_QOS_BAD_OBJECT),
	C(WSA_QOS_TRAFFIC_CTRL_ERROR),
	C(WSA_QOS_GENERIC_ERROR),
	C(WSA_QOS_ESERVICETYPE),
	C(WSA_QOS_EFLOWSPEC),
	C(WSA_QOS_EPROVSPECBUF),
	C(WSA_QOS_EFILTERSTYLE),
	C(WSA_QOS_EFILTERTYPE),
	C(WSA_QOS_EFILTERCOUNT),
	C(WSA_QOS_EOBJLENGTH),
	C(WSA_QOS_EFLOWCOUNT),
	C(WSA_QOS_EUNKOWNPSOBJ),
	C(WSA_QOS_EPOLICYOBJ),
	C(WSA_QOS_EFLOWDESC),
	C(WSA_QOS_EPSFLOWSPEC),
	C(WSA_QOS_EPSFILTERSPEC),
	C(WSA_QOS_ESDMODEOBJ),
	C(WSA_QOS_ESHAPERATEOBJ),
	C(WSA_QOS_RESERVED_PETYPE),
};
#undef C

#define NCODES	(sizeof(header_codes) / sizeof(header_codes[0]))

ParameterizedTestParameters(errmap, code_maps_to_its_errno)
{
	return cr_make_param_array(struct row, rows, NROWS);
}

ParameterizedTest(struct row *r, errmap, code_maps_to_its_errno)
{
	cr_assert_eq(errmap_to_errno(r->wsa), r->errnum, "%s -> %d, not %d",
	    r->name, errmap_to_errno(r->wsa), r->errnum);
}

ParameterizedTestParameters(errmap, errno_maps_back_only_on_both_way_rows)
{
	return cr_make_param_array(struct row, rows, NROWS);
}

ParameterizedTest(struct row *r, errmap,
    errno_maps_back_only_on_both_way_rows)
{
	int back = errmap_to_wsa(r->errnum);

	if (r->both)
		cr_assert_eq(back, r->wsa, "%s: %s -> %d", r->name,
		    strerrorname_np(r->errnum), back);
	else
		cr_assert_neq(back, r->wsa, "%s is one-way, but %s maps back",
		    r->name, strerrorname_np(r->errnum));
}

ParameterizedTestParameters(errmap, name_is_the_code_macro)
{
	return cr_make_param_array(struct row, rows, NROWS);
}

ParameterizedTest(struct row *r, errmap, name_is_the_code_macro)
{
	cr_assert_not_null(errmap_name(r->wsa));
	cr_assert_str_eq(errmap_name(r->wsa), r->name);
}

ParameterizedTestParameters(errmap, message_is_the_row_message)
{
	return cr_make_param_array(struct row, rows, NROWS);
}

ParameterizedTest(struct row *r, errmap, message_is_the_row_message)
{
	const char *m = errmap_message(r->wsa);

	cr_assert_not_null(m);
	cr_assert_str_eq(m, r->msg);
	cr_assert_gt(strlen(m), 3);
	cr_assert_lt(strlen(m), 60, "messages are short");
	cr_assert_str_neq(m, errmap_message(123456));
}

ParameterizedTestParameters(errmap, native_errno_survives_round_trip)
{
	return cr_make_param_array(struct row, rows, NROWS);
}

ParameterizedTest(struct row *r, errmap, native_errno_survives_round_trip)
{
	int wsa = errmap_from_errno(r->errnum);

	cr_assert_eq(errmap_errno_for(wsa), r->errnum, "%s came back as %s",
	    strerrorname_np(r->errnum), strerrorname_np(errmap_errno_for(wsa)));
}

ParameterizedTestParameters(errmap, alias_errno_maps_one_way)
{
	return cr_make_param_array(struct alias, aliases, NALIASES);
}

ParameterizedTest(struct alias *a, errmap, alias_errno_maps_one_way)
{
	cr_assert_eq(errmap_to_wsa(a->errnum), a->wsa, "%s -> %d",
	    strerrorname_np(a->errnum), errmap_to_wsa(a->errnum));
	cr_assert_neq(errmap_to_errno(a->wsa), a->errnum,
	    "an alias must not be the code's own errno");
	cr_assert_not_null(errmap_name(a->wsa), "alias to a known code");
}

ParameterizedTestParameters(errmap, alias_native_errno_survives_round_trip)
{
	return cr_make_param_array(struct alias, aliases, NALIASES);
}

ParameterizedTest(struct alias *a, errmap,
    alias_native_errno_survives_round_trip)
{
	cr_assert_eq(errmap_errno_for(errmap_from_errno(a->errnum)),
	    a->errnum);
}

ParameterizedTestParameters(errmap, every_header_code_has_a_row)
{
	return cr_make_param_array(struct code, header_codes, NCODES);
}

ParameterizedTest(struct code *c, errmap, every_header_code_has_a_row)
{
	cr_assert_not_null(errmap_name(c->wsa), "%s has no row", c->name);
	cr_assert_str_eq(errmap_name(c->wsa), c->name);
	cr_assert_neq(errmap_to_errno(c->wsa), 0);
}

Test(errmap, table_has_no_code_the_header_lacks)
{
	size_t i, j;

	cr_assert_eq(NROWS, NCODES);
	for (i = 0; i < NROWS; i++) {
		for (j = 0; j < NCODES; j++)
			if (rows[i].wsa == header_codes[j].wsa)
				break;
		cr_assert_lt(j, NCODES, "%s is not in winsock2.h",
		    rows[i].name);
	}
}

Test(errmap, wsae_codes_are_10000_plus_bsd_errno)
{
	cr_assert_eq(WSAEINTR, 10004);
	cr_assert_eq(WSAEWOULDBLOCK, 10035);
	cr_assert_eq(WSAECONNRESET, 10054);
	cr_assert_eq(WSASYSCALLFAILURE, 10107);
	cr_assert_eq(WSANO_ADDRESS, WSANO_DATA);
}

Test(errmap, same_meaning_codes_map_both_ways)
{
	static const int pairs[][2] = {
		{ WSAEINTR, EINTR }, { WSAEWOULDBLOCK, EAGAIN },
		{ WSAEWOULDBLOCK, EWOULDBLOCK },
		{ WSAEINPROGRESS, EINPROGRESS },
		{ WSAEACCES, EACCES }, { WSAECONNRESET, ECONNRESET },
		{ WSAESHUTDOWN, ESHUTDOWN }, { WSAEOPNOTSUPP, ENOTSUP },
		{ WSAEMSGSIZE, EMSGSIZE }, { WSAETIMEDOUT, ETIMEDOUT },
	};
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		cr_assert_eq(errmap_to_wsa(pairs[i][1]), pairs[i][0]);
		cr_assert_eq(errmap_to_errno(pairs[i][0]), pairs[i][1]);
	}
}

Test(errmap, raw_socket_without_privilege_gives_wsaeacces)
{
	cr_assert_eq(errmap_to_wsa(EPERM), WSAEACCES);
	cr_assert_eq(errmap_to_errno(WSAEACCES), EACCES);
}

Test(errmap, folded_errnos_take_the_winsock_code)
{
	cr_assert_eq(errmap_to_wsa(ENOMEM), WSAENOBUFS);
	cr_assert_eq(errmap_to_wsa(EPIPE), WSAESHUTDOWN);
	cr_assert_eq(errmap_to_wsa(ENFILE), WSAEMFILE);
	cr_assert_eq(errmap_to_wsa(ENOENT), WSAECONNREFUSED);
}

Test(errmap, provider_codes_map_to_library_errnos)
{
	cr_assert_eq(errmap_to_errno(WSAEPROVIDERFAILEDINIT), ELIBACC);
	cr_assert_eq(errmap_to_wsa(ELIBACC), WSAEPROVIDERFAILEDINIT);
	cr_assert_eq(errmap_to_errno(WSAEINVALIDPROCTABLE), ELIBBAD);
	cr_assert_eq(errmap_to_errno(WSAEINVALIDPROVIDER), ELIBBAD);
	cr_assert_eq(errmap_to_wsa(ELIBBAD), WSAEINVALIDPROVIDER);
}

Test(errmap, unknown_errno_gives_wsasyscallfailure)
{
	cr_assert_eq(errmap_to_wsa(EXDEV), WSASYSCALLFAILURE);
	cr_assert_eq(errmap_to_wsa(ENOEXEC), WSASYSCALLFAILURE);
	cr_assert_eq(errmap_to_wsa(0), WSASYSCALLFAILURE);
	cr_assert_eq(errmap_to_wsa(-1), WSASYSCALLFAILURE);
	cr_assert_eq(errmap_to_wsa(100000), WSASYSCALLFAILURE);
}

Test(errmap, unknown_code_gives_eio_no_name_and_a_message)
{
	static const int unknown[] = { 0, -1, 1, 9999, 10000, 10001, 10090,
	    10113, 11000, 11032, 123456 };
	size_t i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		cr_assert_eq(errmap_to_errno(unknown[i]), EIO, "%d",
		    unknown[i]);
		cr_assert_null(errmap_name(unknown[i]), "%d", unknown[i]);
		cr_assert_not_null(errmap_message(unknown[i]));
	}
	cr_assert_str_eq(errmap_message(0), "No error");
	cr_assert_str_eq(errmap_message(10113), "Unknown Winsock error");
}

Test(errmap, epipe_stays_epipe_through_a_pass_through_chain)
{
	int wsa = errmap_from_errno(EPIPE);

	cr_assert_eq(wsa, WSAESHUTDOWN);
	cr_assert_eq(errmap_errno_for(wsa), EPIPE);
	cr_assert_eq(errmap_errno_for(wsa), EPIPE, "reading does not consume");
}

Test(errmap, einprogress_stays_einprogress)
{
	cr_assert_eq(errmap_errno_for(errmap_from_errno(EINPROGRESS)),
	    EINPROGRESS);
	cr_assert_eq(errmap_errno_for(errmap_from_errno(EAGAIN)), EAGAIN);
}

Test(errmap, errno_the_table_lacks_survives_round_trip)
{
	int wsa = errmap_from_errno(EXDEV);

	cr_assert_eq(wsa, WSASYSCALLFAILURE);
	cr_assert_eq(errmap_errno_for(wsa), EXDEV);
	errmap_clear_native();
	cr_assert_eq(errmap_errno_for(wsa), EIO);
}

Test(errmap, code_changed_by_a_layer_uses_the_table)
{
	cr_assert_eq(errmap_from_errno(EPIPE), WSAESHUTDOWN);
	cr_assert_eq(errmap_errno_for(WSAECONNRESET), ECONNRESET);
	cr_assert_eq(errmap_errno_for(WSAEPROVIDERFAILEDINIT), ELIBACC);
	cr_assert_eq(errmap_errno_for(WSAESHUTDOWN), EPIPE);
}

Test(errmap, clear_native_forgets_the_errno)
{
	cr_assert_eq(errmap_from_errno(EPIPE), WSAESHUTDOWN);
	errmap_clear_native();
	cr_assert_eq(wsp_tls.native_wsa, 0);
	cr_assert_eq(errmap_errno_for(WSAESHUTDOWN), ESHUTDOWN);
}

Test(errmap, errno_zero_is_never_restored)
{
	cr_assert_eq(errmap_from_errno(0), WSASYSCALLFAILURE);
	cr_assert_eq(errmap_errno_for(WSASYSCALLFAILURE), EIO);
	cr_assert_eq(errmap_errno_for(0), EIO);
}

/* Record EPIPE on another thread; return what that thread reads back. */
static void *
other_thread(void *arg)
{
	int *out = arg;

	errmap_from_errno(EPIPE);
	*out = errmap_errno_for(WSAESHUTDOWN);
	return NULL;
}

Test(errmap, native_errno_is_per_thread)
{
	pthread_t t;
	int seen = 0;

	errmap_from_errno(ECONNRESET);
	cr_assert_eq(pthread_create(&t, NULL, other_thread, &seen), 0);
	pthread_join(t, NULL);
	cr_assert_eq(seen, EPIPE);
	cr_assert_eq(errmap_errno_for(WSAESHUTDOWN), ESHUTDOWN);
	cr_assert_eq(errmap_errno_for(WSAECONNRESET), ECONNRESET);
}

Test(errmap, lookups_leave_errno_alone)
{
	errno = 4242;
	(void)errmap_to_wsa(EPIPE);
	(void)errmap_to_errno(WSAEINVAL);
	(void)errmap_name(WSAEINVAL);
	(void)errmap_message(WSAEINVAL);
	(void)errmap_errno_for(errmap_from_errno(EXDEV));
	cr_assert_eq(errno, 4242);
}

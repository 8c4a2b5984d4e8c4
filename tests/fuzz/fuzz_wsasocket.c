/*
 * fuzz_wsasocket - WSASocketW's argument space against a model of the
 * selection rules (DESIGN.md, "Catalog and selection"), over the built-in
 * catalog: af, type (with SOCK_NONBLOCK/SOCK_CLOEXEC bits), protocol,
 * dwFlags, g, and a WSAPROTOCOL_INFOW that is absent, random bytes, or a
 * catalog entry with random fields over it.
 *
 * The model, written from the rules and not from spi/catalog.c:
 *  - no struct: af and protocol both 0 is WSAEINVAL; else the first
 *    selectable entry (ChainLen >= 1, hidden ones too) whose type, family
 *    and protocol match (0 matches any type or family; protocol in
 *    [iProtocol, iProtocol + iProtocolMaxOffset], or 0 with
 *    PFL_MATCHES_PROTOCOL_ZERO) is chosen; with none, the error of the
 *    entry that got furthest, testing type (WSAESOCKTNOSUPPORT), then
 *    family (WSAEAFNOSUPPORT), then protocol (WSAEPROTONOSUPPORT);
 *  - a struct: its dwCatalogEntryId must name a selectable entry
 *    (else WSAEINVAL); af, type and protocol that are 0 or
 *    FROM_PROTOCOL_INFO come from the struct; a family still 0 or -1 is
 *    WSAEAFNOSUPPORT; the triple must then match the entry's base.
 * A model that picks an entry wants a socket whose SO_PROTOCOL_INFOW
 * names that entry, unless the provider refuses the call for a reason of
 * its own that the model leaves out (dwFlags, the kernel's answer for a
 * raw socket): those codes are listed, and anything else is a finding.
 * A model error wants exactly that error.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

#include "base.h"
#include "catalog.h"
#include "core.h"

/* 0 when entry p takes (af, type, protocol), else how it fails. */
static int
model_check(const WSAPROTOCOL_INFOW *p, int af, int type, int protocol)
{
	long lo = p->iProtocol, hi = lo + p->iProtocolMaxOffset;

	if (type != 0 && type != p->iSocketType)
		return WSAESOCKTNOSUPPORT;
	if (af != 0 && af != p->iAddressFamily)
		return WSAEAFNOSUPPORT;
	if (protocol == 0 ? (p->dwProviderFlags & PFL_MATCHES_PROTOCOL_ZERO)
	    == 0 && !(lo <= 0 && 0 <= hi) : !(lo <= protocol && protocol <= hi))
		return WSAEPROTONOSUPPORT;
	return 0;
}

/* The entry the rules pick (0 and *out), or the error. */
static int
model(const struct catalog *c, int af, int type, int protocol,
    const WSAPROTOCOL_INFOW *info, const WSAPROTOCOL_INFOW **out)
{
	static const int rank[] = { WSAESOCKTNOSUPPORT, WSAEAFNOSUPPORT,
		WSAEPROTONOSUPPORT };
	const WSAPROTOCOL_INFOW *p, *e = NULL, *b = NULL;
	int err, best = -1, r;
	size_t i;

	if (info == NULL) {
		if (af == 0 && protocol == 0)
			return WSAEINVAL;
		for (i = 0; i < c->count; i++) {
			p = &c->entries[i].info;
			if (p->ProtocolChain.ChainLen < 1 ||
			    p->ProtocolChain.ChainLen > MAX_PROTOCOL_CHAIN)
				continue;
			if ((err = model_check(p, af, type, protocol)) == 0) {
				*out = p;
				return 0;
			}
			for (r = 0; rank[r] != err; r++)
				;
			best = r > best ? r : best;
		}
		return best < 0 ? WSAEAFNOSUPPORT : rank[best];
	}
	for (i = 0; i < c->count; i++)
		if (c->entries[i].info.dwCatalogEntryId ==
		    info->dwCatalogEntryId)
			e = &c->entries[i].info;
	if (e == NULL || e->ProtocolChain.ChainLen < 1 ||
	    e->ProtocolChain.ChainLen > MAX_PROTOCOL_CHAIN)
		return WSAEINVAL;
	if (e->ProtocolChain.ChainLen == BASE_PROTOCOL)
		b = e;
	else
		for (i = 0; i < c->count; i++)
			if (c->entries[i].info.dwCatalogEntryId == e->
			    ProtocolChain.ChainEntries[e->ProtocolChain.ChainLen
			    - 1])
				b = &c->entries[i].info;
	if (b == NULL || b->ProtocolChain.ChainLen != BASE_PROTOCOL)
		return WSAEINVAL;
	if (af == 0 || af == FROM_PROTOCOL_INFO)
		af = info->iAddressFamily;
	if (type == 0 || type == FROM_PROTOCOL_INFO)
		type = info->iSocketType;
	if (protocol == 0 || protocol == FROM_PROTOCOL_INFO)
		protocol = info->iProtocol;
	if (af == 0 || af == FROM_PROTOCOL_INFO)
		return WSAEAFNOSUPPORT;
	if ((err = model_check(b, af, type, protocol)) != 0)
		return err;
	*out = e;
	return 0;
}

/* Values worth trying more often than random ones. */
static int
pick(struct fz *f, const int *common, size_t n)
{
	uint8_t k = fz_u8(f);

	if (k < 200)
		return common[k % n];
	return (int)fz_u32(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int afs[] = { 0, AF_INET, AF_INET6, AF_UNIX, -1, 16 };
	static const int types[] = { 0, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW,
		SOCK_SEQPACKET, SOCK_RDM, -1, SOCK_STREAM | SOCK_NONBLOCK,
		SOCK_DGRAM | SOCK_CLOEXEC };
	static const int protos[] = { 0, 6, 17, 1, 58, -1, 255, 132 };
	static const DWORD flagsets[] = { 0, WSA_FLAG_OVERLAPPED,
		WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_WSPSHIM_NONBLOCK };
	const struct catalog *c = catalog_current();
	const WSAPROTOCOL_INFOW *want = NULL;
	struct fz f = { data, size };
	WSAPROTOCOL_INFOW info, got, *ip = NULL;
	struct wsock *ws;
	int af, type, protocol, mtype, err, e, len, rc;
	uint8_t how;
	DWORD flags;
	GROUP g;
	SOCKET s;

	af = pick(&f, afs, sizeof(afs) / sizeof(afs[0]));
	type = pick(&f, types, sizeof(types) / sizeof(types[0]));
	protocol = pick(&f, protos, sizeof(protos) / sizeof(protos[0]));
	how = fz_u8(&f);
	flags = how & 0x80 ? fz_u32(&f) : flagsets[how % 4];
	g = how & 0x40 ? (GROUP)fz_u32(&f) : 0;
	switch (how >> 4 & 3) {
	case 0:
		break;
	case 1:		/* random bytes */
		fz_bytes(&f, &info, sizeof(info));
		ip = &info;
		break;
	default:	/* an entry, some fields changed */
		info = c->entries[fz_u8(&f) % c->count].info;
		info.iAddressFamily = fz_u8(&f) & 1 ? info.iAddressFamily :
		    pick(&f, afs, sizeof(afs) / sizeof(afs[0]));
		info.iSocketType = fz_u8(&f) & 1 ? info.iSocketType :
		    pick(&f, types, sizeof(types) / sizeof(types[0]));
		info.iProtocol = fz_u8(&f) & 1 ? info.iProtocol :
		    pick(&f, protos, sizeof(protos) / sizeof(protos[0]));
		ip = &info;
		break;
	}
	/* The shared-socket path is another function's (a token). */
	if (ip != NULL && base_is_token(ip))
		return 0;
	/* The type bits travel as dwFlags; selection sees the bare type. */
	mtype = type;
	if (type != -1)
		mtype &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	err = model(c, af, mtype, protocol, ip, &want);
	s = WSASocketW(af, type, protocol, ip, g, flags);
	e = s == INVALID_SOCKET ? WSAGetLastError() : 0;
	if (err != 0) {
		if (e != err)
			fprintf(stderr, "WSASocketW(%d, %#x, %d, %s, %u, %#x): "
			    "got %d, the model says %d\n", af, (unsigned)type,
			    protocol, ip ? "info" : "NULL", (unsigned)g,
			    (unsigned)flags, e, err);
		FZ_CHECK(e == err);
		if (s != INVALID_SOCKET)
			closesocket(s);
		return 0;
	}
	if (s == INVALID_SOCKET) {
		/* Refusals the selection rules leave to the provider. */
		FZ_CHECK(e == WSAEINVAL || e == WSAEACCES ||
		    e == WSAEPROTONOSUPPORT || e == WSAESOCKTNOSUPPORT ||
		    e == WSAEPROTOTYPE || e == WSAEAFNOSUPPORT ||
		    e == WSAEOPNOTSUPP);
		return 0;
	}
	ws = fdtab_get((int)s);
	FZ_CHECK(ws != NULL && ws != FDTAB_ADOPT);
	len = (int)sizeof(got);
	rc = ws->procs->lpWSPGetSockOpt(ws->handle, SOL_SOCKET,
	    SO_PROTOCOL_INFOW, (char *)&got, &len, &e);
	FZ_CHECK(rc == 0);
	if (got.dwCatalogEntryId != want->dwCatalogEntryId)
		fprintf(stderr, "WSASocketW(%d, %#x, %d): entry %u, the model "
		    "says %u\n", af, (unsigned)type, protocol,
		    (unsigned)got.dwCatalogEntryId,
		    (unsigned)want->dwCatalogEntryId);
	FZ_CHECK(got.dwCatalogEntryId == want->dwCatalogEntryId);
	FZ_CHECK(closesocket(s) == 0);
	return 0;
}

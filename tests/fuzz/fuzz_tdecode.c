/*
 * fuzz_tdecode - the trace layer's decoder (layers/trace/tdecode.c): what
 * it prints for socket addresses, buffers, iovecs, message headers with
 * ancillary data, option values and flag words made of any bytes.
 *
 * The first byte picks what is decoded, the next ones the sizes; the rest
 * is the memory the decoder reads (in a buffer of exactly that size, so
 * ASan sees a read past what the call said it used).  Every decode is
 * made twice, into a large line and into a line of a size the input
 * picks: the short one must be the large one's prefix, with the same
 * count of bytes asked for, and both terminated.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include "fuzz.h"

#include "tdecode.h"

#define BIG	65536

struct job {
	uint8_t		op;
	int		a, b, c;	/* ints the input gives */
	uint8_t		*mem;		/* the memory decoded */
	size_t		len;
	struct tmem	m;
	struct iovec	iov[8];
	size_t		niov;
	struct msghdr	msg;
};

/* Decode job into l. */
static void
decode(struct tline *l, const struct job *j)
{
	switch (j->op % 16) {
	case 0:
		td_sockaddr(l, &j->m, (const struct sockaddr *)j->mem,
		    j->a % ((int)j->len + 1));
		break;
	case 1:
		td_sockaddr_out(l, &j->m, (const struct sockaddr *)j->mem,
		    j->a, (int)((unsigned)j->b % (j->len + 1)), j->c & 1,
		    j->c & 2);
		break;
	case 2:
		td_str(l, &j->m, j->mem, j->len, j->a & 1);
		break;
	case 3:
		td_iovec(l, &j->m, j->iov, j->niov, (size_t)(unsigned)j->b);
		break;
	case 4:
		td_msghdr(l, &j->m, &j->msg, j->c & 1,
		    (size_t)(unsigned)j->b, j->a);
		break;
	case 5:
		td_optval_set(l, &j->m, j->a, j->b, j->mem,
		    (int)(j->len > 0 ? j->len : 0));
		break;
	case 6:
		td_optval_get(l, &j->m, j->a, j->b, j->mem, (int)j->len);
		break;
	case 7:
		td_optname(l, j->a, j->b);
		td_level(l, j->a);
		break;
	case 8:
		td_family(l, j->a);
		td_socktype(l, j->b);
		td_protocol(l, j->a, j->c);
		break;
	case 9:
		td_msgflags(l, (unsigned)j->a);
		td_sockflags(l, j->b);
		td_shut(l, j->c);
		break;
	case 10:
		td_errno(l, j->a % 4200);
		td_fileflags(l, j->b);
		break;
	case 11:
		/* Untrusted memory: read with process_vm_readv. */
		td_str(l, &j->m, j->mem, j->len, 0);
		td_sockaddr(l, &j->m, (const struct sockaddr *)(uintptr_t)
		    (unsigned)j->a, j->b % 128);
		break;
	default:
		tl_printf(l, "%d %s", j->a, "x");
		td_ptr(l, j->mem);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char big[BIG];
	struct fz f = { data, size };
	struct tline l1, l2;
	struct job j;
	char *small;
	size_t n1, n2, cap, i, off, k;

	memset(&j, 0, sizeof(j));
	j.op = fz_u8(&f);
	j.a = (int)fz_u32(&f);
	j.b = (int)fz_u32(&f);
	j.c = (int)fz_u32(&f);
	cap = 1 + fz_u8(&f) % 200;
	j.m.trusted = j.op % 16 != 11;
	j.m.strsize = fz_u8(&f) % 80;
	j.niov = fz_u8(&f) % 9;
	j.len = f.n;
	if ((j.mem = malloc(j.len > 0 ? j.len : 1)) == NULL)
		abort();
	memcpy(j.mem, f.p, j.len);
	/* iovecs and the message header point into the memory, within it. */
	for (i = 0, off = 0; i < j.niov; i++) {
		k = j.len > off ? (size_t)(unsigned)(j.a >> i) % (j.len - off + 1)
		    : 0;
		j.iov[i].iov_base = j.mem + off;
		j.iov[i].iov_len = k;
		off += k;
	}
	j.msg.msg_iov = j.niov > 0 ? j.iov : NULL;
	j.msg.msg_iovlen = j.niov;
	j.msg.msg_name = j.c & 4 ? NULL : j.mem;
	j.msg.msg_namelen = (socklen_t)((unsigned)j.b % (j.len + 1));
	j.msg.msg_control = j.c & 8 ? NULL : j.mem;
	j.msg.msg_controllen = j.msg.msg_control == NULL ? 0 :
	    (size_t)((unsigned)j.c >> 8) % (j.len + 1);
	j.msg.msg_flags = j.a;
	/* msg_control must be aligned as a cmsghdr, as the kernel's is. */
	if (((uintptr_t)j.mem & (sizeof(size_t) - 1)) != 0)
		j.msg.msg_control = NULL, j.msg.msg_controllen = 0;

	tl_init(&l1, big, sizeof(big));
	decode(&l1, &j);
	n1 = tl_end(&l1);
	FZ_CHECK(l1.n < sizeof(big) && n1 == strlen(big));
	if ((small = malloc(cap)) == NULL)
		abort();
	tl_init(&l2, small, cap);
	decode(&l2, &j);
	n2 = tl_end(&l2);
	FZ_CHECK(l2.n == l1.n);
	FZ_CHECK(strlen(small) < cap && strlen(small) <= n2);
	FZ_CHECK(strncmp(small, big, strlen(small)) == 0);
	free(small);
	free(j.mem);
	return 0;
}

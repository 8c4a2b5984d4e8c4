/*
 * share.h - a socket shared with another process: the base's
 * WSPDuplicateSocket for another pid, and WSPSocket taking its token.
 *
 * The source hands its descriptor to a small holder process of its own
 * (forked once per token) that waits on an abstract AF_UNIX name made of
 * the target's user, pid and token; the target connects there, both sides
 * check the other's credentials (SO_PEERCRED), and the holder passes the
 * descriptor over (SCM_RIGHTS) and exits.  No thread, no listening socket
 * and no fork handler in a process that never duplicates to another one;
 * nothing that needs ptrace rights, so it works under Yama and in
 * containers.  docs/api.md tells the token's life and its rules.
 */
#ifndef WSPSHIM_SHARE_H
#define WSPSHIM_SHARE_H

#include <stdint.h>

#include <wspshim/ws2spi.h>

/* A cross-process token: its tag (the high 5 bits) and its random rest.
 * It differs from the base's in-process tag (0xa8) in the fifth bit only,
 * so one test of the high four finds either (base_is_token). */
#define SHARE_TOKEN_TAG		0xa0000000u
#define SHARE_TOKEN_TAG_MASK	0xf8000000u

/* How long a token nobody takes lasts, seconds (WSPSHIM_SHARE_TTL). */
#define SHARE_TTL_DEFAULT	60
#define SHARE_TTL_MAX		86400

/* Whether tok is a cross-process token. */
static inline int
share_is_token(DWORD tok)
{
	return (tok & SHARE_TOKEN_TAG_MASK) == SHARE_TOKEN_TAG;
}

/*
 * 0 if pid names a live process of this user other than this one, else
 * WSAEINVAL (none, exited, or another user's).
 */
int share_check_target(DWORD pid);

/*
 * For a pid share_check_target() accepted: 0 and a token in *tok that
 * process pid alone can use, once, to take a
 * descriptor of the open file description fd refers to, with the socket
 * flags flags; or a WSA code.  fd stays the caller's: the holder has its
 * own.
 */
int share_offer(int fd, DWORD flags, DWORD pid, DWORD *tok);

/* share_offer() also sends the blob share_claim() gives it; share_take()
 * delivers the one it receives (share_deliver()). */

/*
 * Take the descriptor token tok offers this process: 0 with it in *fd
 * (close-on-exec) and its flags in *flags, or WSAEINVAL (used, expired,
 * forged, another process's, or offered by another user).  type and af
 * are the triple the caller asked for: a descriptor that is not such a
 * socket is refused.
 */
int share_take(DWORD tok, int af, int type, int *fd, DWORD *flags);

/*
 * The layers' attachments (WSPShimShareAttach): records of a 16-byte id, a
 * 4-byte length and the bytes, len bytes in all.
 */
struct share_blob {
	uint32_t	len;
	unsigned char	b[WSPSHIM_SHARE_DATA_MAX + 64];
};

/* What this thread's layers attached for the duplication it is making,
 * now the caller's to free (NULL: nothing). */
struct share_blob *share_claim(void);

/* Nothing: blob (taken over, may be NULL) is what token tok carried, for
 * this thread's layers to read (WSPShimShareData). */
void share_deliver(DWORD tok, struct share_blob *blob);

/* Nothing: forgets this thread's attachments and what it was delivered
 * (the application calls' end, so nothing outlives its call). */
void share_forget(void);

#endif

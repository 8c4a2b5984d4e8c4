/*
 * layerkit.h - the pass-through engine the shipped layers (fault, policy,
 * stats, trace) are built on.  layers/null is the same idea written out by
 * hand, with no hooks; read it first.
 *
 * The engine is a complete non-IFS layer: start-up (one instance per
 * chain that names the layer's entry, the next provider started with
 * WSPShimStartNextProvider), a handle from WSPShimCreateSocketHandleEx per
 * socket whose storage is its context (struct lk_sock, holding the handle
 * below: no malloc per socket), and all
 * 30 Winsock and 3 Linux operations calling down.  A layer built on it
 * defines `lk_layer' (its name, hooks and per-socket size) and a
 * WSPStartup that calls lk_startup().
 *
 * Around every operation the engine fills a struct lk_call and calls the
 * layer's before() hook (which may fail the call without sending it down,
 * delay it, or cap the bytes it moves) and after() hook (which sees the
 * result and may turn a success into a failure).  The SIO_BASE_HANDLE and
 * SIO_BSP_HANDLE queries the core makes after creating a socket are
 * plumbing: they go down without hooks.
 */
#ifndef WSPSHIM_LAYERKIT_H
#define WSPSHIM_LAYERKIT_H

#include <stdint.h>
#include <sys/socket.h>
#include <wspshim/ws2spi.h>

#define LK_EXPORT	__attribute__((visibility("default")))

/* The operations, in WSPPROC_TABLE order; lpWSPSplice is two, by the
 * way the bytes go (LK_SPLICE_SEND: from a pipe into the socket). */
enum lk_op {
	LK_ACCEPT, LK_ADDRESSTOSTRING, LK_ASYNCSELECT, LK_BIND,
	LK_CANCELBLOCKINGCALL, LK_CLEANUP, LK_CLOSESOCKET, LK_CONNECT,
	LK_DUPLICATESOCKET, LK_ENUMNETWORKEVENTS, LK_EVENTSELECT,
	LK_GETOVERLAPPEDRESULT, LK_GETPEERNAME, LK_GETSOCKNAME,
	LK_GETSOCKOPT, LK_GETQOSBYNAME, LK_IOCTL, LK_JOINLEAF, LK_LISTEN,
	LK_RECV, LK_RECVDISCONNECT, LK_RECVFROM, LK_SELECT, LK_SEND,
	LK_SENDDISCONNECT, LK_SENDTO, LK_SETSOCKOPT, LK_SHUTDOWN, LK_SOCKET,
	LK_STRINGTOADDRESS, LK_SENDMSG, LK_RECVMSG, LK_ACCEPT4, LK_SENDFILE,
	LK_SPLICE_SEND, LK_SPLICE_RECV,
	LK_NOPS
};

/* "accept", "addresstostring", ..., "accept4": the member names without
 * lpWSP, in lower case. */
extern const char *const lk_op_names[LK_NOPS];

/* Whether op sends data, or receives it. */
int lk_op_sends(enum lk_op op);
int lk_op_receives(enum lk_op op);

struct lk_inst;

/* A socket of the layer: the context of its handle, in the handle's own
 * storage.  A layer that asks for a larger sock_size finds its own fields
 * after this struct, zeroed.  It lives from sock_open() to the end of
 * sock_close(): the storage goes to another socket after that, so keep no
 * pointer to it.  The core runs the close only once no call on the
 * socket is in flight through the chain (docs/writing-a-layer.md), so
 * hooks of a call never see it go. */
struct lk_sock {
	SOCKET		lower;		/* the handle below */
	SOCKET		self;		/* our handle */
	struct lk_inst	*in;
	void		*conf;		/* the layer's configuration */
	int		fd;		/* kernel descriptor, or -1 */
	int		af, type, protocol;
	struct sockaddr_storage peer;	/* remote end, once known */
	int		peerlen;	/* 0 while unknown */
	int		shared;		/* made from a WSADuplicateSocket
					 * token (this process's or another's);
					 * set before after() hears of it */
};

/* One operation, as the hooks see it. */
struct lk_call {
	enum lk_op	op;
	struct lk_sock	*ls;		/* NULL for operations on no socket */
	void		*conf;		/* the layer's configuration */
	/* Arguments. */
	const struct sockaddr *addr;	/* connect, bind, sendto, sendmsg;
					 * accept: the peer, after */
	int		addrlen;
	uint64_t	len;		/* bytes offered, or room */
	int		arg[3];		/* socket: af, type, protocol;
					 * listen: backlog; shutdown: how;
					 * sockopt: level, name;
					 * ioctl: code */
	/* Set by before(): move at most limit bytes (0: no limit). */
	uint64_t	limit;
	/* Results, for after(). */
	int		failed;
	int		err;		/* the WSA code, when failed */
	int		injected;	/* before() failed it */
	uint64_t	bytes;		/* bytes moved */
	int		pending;	/* an overlapped request left pending
					 * (failed is set, with WSA_IO_PENDING):
					 * after() hears of it again when the
					 * program learns it ended */
	int		completion;	/* this is that second call: failed,
					 * err and bytes are the request's end;
					 * ls is NULL if its socket is gone;
					 * what after() returns is ignored */
	struct lk_sock	*nls;		/* socket, accept: the new socket */
	/* The layer's own scratch (a start time, say). */
	uint64_t	scratch[2];
};

struct lk_layer {
	const char	*name;		/* "fault" */
	size_t		sock_size;	/* >= sizeof(struct lk_sock) */
	/* Parse the parameter string of the layer's entry, once: NULL and
	 * *conf, or a message for stderr (the layer then does not start). */
	const char	*(*configure)(DWORD self, const char *params,
			    void **conf);
	/* Check a parameter string without starting the layer (no files,
	 * handlers or state): 0, or -1 with one line in why.  The kit
	 * exports it as WSPShimCheckParams (ws2spi.h) for the wspshim
	 * command; NULL: the layer's parameters are not checked. */
	int		(*check)(const char *params, char *why, size_t len);
	/* 0 to send the call down, or a WSA code to fail it with. */
	int		(*before)(struct lk_call *c);
	/* After the call (failed or not): 0, or a WSA code to fail a call
	 * that succeeded (a new socket is then closed). */
	int		(*after)(struct lk_call *c);
	void		(*sock_open)(struct lk_sock *ls);
	void		(*sock_close)(struct lk_sock *ls);
	/* The last WSPCleanup of the process. */
	void		(*cleanup)(void);
};

/* Defined by the layer. */
extern const struct lk_layer lk_layer;

/* The engine's WSPStartup: the layer's WSPStartup returns this. */
int lk_startup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs);

/* Write a line "wsp_NAME: MESSAGE" to stderr (write(2), no stdio). */
void lk_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Nothing: puts `unknown WHAT "WORD"' in why, with " (did you mean
 * W?)" when one of the n words is near (WSPShimNearestWord). */
void lk_unknown(char *why, size_t len, const char *what, const char *word,
    const char *const *words, size_t n);

/* Parse a "WSAECONNREFUSED" name or a number: 0 and *code, or -1. */
int lk_wsa_parse(const char *s, int *code);

/* A small index for each WSA code with a name, from 0; LK_WSA_SLOTS - 1
 * for every other code.  lk_wsa_index_name gives the name back ("other"
 * for the last slot). */
#define LK_WSA_SLOTS	80
int lk_wsa_index(int code);
const char *lk_wsa_index_name(int i);

/* The name of a WSA code ("WSAECONNRESET"), or NULL when unknown. */
const char *lk_wsa_name(int code);

/* Format an address as "127.0.0.1:80", "[::1]:443" or a path; returns
 * buf. */
char *lk_addr_str(const struct sockaddr *sa, int len, char *buf,
    size_t size);

/* Expand %p (the pid) and %% in a file name pattern: 0, or -1 if it does
 * not fit. */
int lk_expand_path(const char *pattern, char *out, size_t size);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t lk_now_ns(void);

#endif

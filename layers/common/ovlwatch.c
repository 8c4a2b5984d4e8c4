/*
 * ovlwatch.c - watching overlapped requests a layer passes down (see
 * ovlwatch.h).
 *
 * Entries hang in a small hash by WSAOVERLAPPED, under one mutex; the
 * layer's done function runs outside it.  Whether the provider below
 * took a request as overlapped is read from Internal, which the watch
 * marks before the call: an overlapped request's provider sets it (to
 * WSA_IO_PENDING, then the status), a socket without WSA_FLAG_OVERLAPPED
 * leaves it and queues no routine.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ovlwatch.h"

#define OW_BUCKETS	64
#define OW_UNTOUCHED	((ULONG_PTR)0x7ac0ffee)

struct ovlwatch {
	struct ovlwatch		*next;
	LPWSAOVERLAPPED		ov;
	const void		*key;
	LPWSAOVERLAPPED_COMPLETION_ROUTINE cr;	/* the program's, or NULL */
	ovlwatch_done_fn	done;
	int			reported;	/* done ran, or never will */
	int			closed;		/* its socket is gone */
	max_align_t		data[];
};

static pthread_mutex_t ow_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ovlwatch *ow_hash[OW_BUCKETS];
/* Entries in the table: a layer's close and result calls take no lock
 * while it is 0, which it always is in a program that makes no
 * overlapped request (and so a fork child never meets a lock another
 * thread of its parent held). */
static unsigned ow_live;

static void
ow_count(int d)
{
	__atomic_fetch_add(&ow_live, (unsigned)d, __ATOMIC_RELAXED);
}

static int
ow_empty(void)
{
	return __atomic_load_n(&ow_live, __ATOMIC_RELAXED) == 0;
}

static struct ovlwatch **
ow_bucket(LPWSAOVERLAPPED ov)
{
	return &ow_hash[((uintptr_t)ov >> 4) % OW_BUCKETS];
}

/* The entry of ov, unlinked when take; NULL if none (ow_lock held). */
static struct ovlwatch *
ow_find(LPWSAOVERLAPPED ov, int take)
{
	struct ovlwatch **p, *w;

	for (p = ow_bucket(ov); (w = *p) != NULL; p = &w->next)
		if (w->ov == ov) {
			if (take) {
				*p = w->next;
				ow_count(-1);
			}
			return w;
		}
	return NULL;
}

/* Nothing: ov's entry is gone. */
static void
ow_drop(LPWSAOVERLAPPED ov)
{
	struct ovlwatch *w;

	pthread_mutex_lock(&ow_lock);
	w = ow_find(ov, 1);
	pthread_mutex_unlock(&ow_lock);
	free(w);
}

/* The routine passed down for a request that has one. */
static void WSAAPI
ow_routine(DWORD err, DWORD cb, LPWSAOVERLAPPED ov, DWORD flags)
{
	LPWSAOVERLAPPED_COMPLETION_ROUTINE cr = NULL;
	struct ovlwatch *w;

	pthread_mutex_lock(&ow_lock);
	w = ow_find(ov, 1);
	pthread_mutex_unlock(&ow_lock);
	if (w != NULL) {
		if (!w->reported)
			w->done(w->data, err, cb, w->closed);
		cr = w->cr;
		free(w);
	}
	if (cr != NULL)
		cr(err, cb, ov, flags);
}

struct ovlwatch *
ovlwatch_begin(LPWSAOVERLAPPED ov, const void *key,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE *crp, ovlwatch_done_fn done,
    size_t size, void **data)
{
	struct ovlwatch *w, *old, **b;

	if ((w = calloc(1, sizeof(*w) + size)) == NULL)
		return NULL;
	w->ov = ov;
	w->key = key;
	w->cr = *crp;
	w->done = done;
	*data = w->data;
	pthread_mutex_lock(&ow_lock);
	old = ow_find(ov, 1);	/* the WSAOVERLAPPED's last request */
	b = ow_bucket(ov);
	w->next = *b;
	*b = w;
	ow_count(1);
	pthread_mutex_unlock(&ow_lock);
	free(old);
	ov->Internal = OW_UNTOUCHED;
	if (*crp != NULL)
		*crp = ow_routine;
	return w;
}

int
ovlwatch_issued(struct ovlwatch *w, LPWSAOVERLAPPED ov, int rc, int err)
{
	int overlapped = ov->Internal != OW_UNTOUCHED;

	if (rc != 0 && err == WSA_IO_PENDING && overlapped)
		return 1;
	if (rc == 0 && overlapped && w->cr != NULL) {
		/* Done at once: the call says so, and the routine Winsock
		 * queues for it still runs the program's. */
		pthread_mutex_lock(&ow_lock);
		w->reported = 1;
		pthread_mutex_unlock(&ow_lock);
		return 0;
	}
	ow_drop(ov);
	return 0;
}

void
ovlwatch_result(LPWSAOVERLAPPED ov, BOOL ok, int err, DWORD cb)
{
	struct ovlwatch *w, *gone = NULL;

	if (ov == NULL || (!ok && err == WSA_IO_INCOMPLETE) || ow_empty())
		return;
	/* Reported under the lock: an entry whose routine is still to come
	 * is the routine's to free, maybe in another thread, once we let
	 * go. */
	pthread_mutex_lock(&ow_lock);
	if ((w = ow_find(ov, 0)) != NULL && !w->reported) {
		w->reported = 1;
		w->done(w->data, ok ? 0 : (DWORD)err, ok ? cb : 0, w->closed);
		if (w->cr == NULL)	/* no routine will come for it */
			gone = ow_find(ov, 1);
	}
	pthread_mutex_unlock(&ow_lock);
	free(gone);
}

void
ovlwatch_close(const void *key)
{
	struct ovlwatch **p, *w, *gone = NULL;
	size_t b;

	if (ow_empty())
		return;
	pthread_mutex_lock(&ow_lock);
	for (b = 0; b < OW_BUCKETS; b++)
		for (p = &ow_hash[b]; (w = *p) != NULL;) {
			if (w->key != key) {
				p = &w->next;
			} else if (w->cr != NULL) {
				w->closed = 1;	/* its routine still comes */
				w->key = NULL;
				p = &w->next;
			} else {
				*p = w->next;
				ow_count(-1);
				w->next = gone;
				gone = w;
			}
		}
	pthread_mutex_unlock(&ow_lock);
	while ((w = gone) != NULL) {
		gone = w->next;
		free(w);
	}
}

void
ovlwatch_atfork_child(void)
{
	/* The entries are the parent's requests: left (another thread may
	 * have been changing the table), never reached again. */
	memset(ow_hash, 0, sizeof(ow_hash));
	__atomic_store_n(&ow_live, 0, __ATOMIC_RELAXED);
	pthread_mutex_init(&ow_lock, NULL);
}

__attribute__((constructor)) static void
ow_init(void)
{
	pthread_atfork(NULL, NULL, ovlwatch_atfork_child);
}

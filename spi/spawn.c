/*
 * spawn.c - the library's own threads (see spawn.h).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

#include "spawn.h"

/* What a new thread is handed: its loop, and the semaphore it posts once
 * it runs. */
struct spawn_boot {
	void	*(*main)(void *);
	sem_t	 running;
};

static void *
spawn_boot(void *arg)
{
	struct spawn_boot *boot = arg;
	void *(*main)(void *) = boot->main;

	sem_post(&boot->running);	/* boot lives on the spawner's stack */
	return main(NULL);
}

int
spawn_engine(void *(*main)(void *))
{
	struct spawn_boot boot = { .main = main };
	sigset_t all, old;
	pthread_t t;
	int rc;

	if (sem_init(&boot.running, 0, 0) != 0)
		return -1;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t, NULL, spawn_boot, &boot);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0) {
		pthread_detach(t);
		while (sem_wait(&boot.running) != 0 && errno == EINTR)
			;
	}
	sem_destroy(&boot.running);
	return rc == 0 ? 0 : -1;
}

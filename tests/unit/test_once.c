/*
 * test_once.c - the fork-safe once (spi/once.h): it runs its initialiser
 * once among racing threads, a fork child whose parent was in the middle
 * of it runs it again itself, a waiter outlives a runner that vanished,
 * and a call from within the initialiser returns instead of hanging.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "once.h"

static _Atomic int runs;

static void
count(void *arg)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (arg != NULL)
		nanosleep(&ts, NULL);	/* let the others pile up */
	atomic_fetch_add(&runs, 1);
}

Test(once, runs_once_and_reports_done)
{
	struct wsp_once o = WSP_ONCE_INIT;

	cr_assert_not(wsp_once_done(&o));
	cr_assert_eq(wsp_once(&o, count, NULL), 0);
	cr_assert_eq(wsp_once(&o, count, NULL), 0);
	cr_assert(wsp_once_done(&o));
	cr_assert_eq(runs, 1);
}

#define NRACE	8

static struct wsp_once race_once = WSP_ONCE_INIT;
static _Atomic int seen_before_done;

static void *
racer(void *arg)
{
	(void)arg;
	if (wsp_once(&race_once, count, &race_once) != 0 || runs != 1)
		atomic_fetch_add(&seen_before_done, 1);
	return NULL;
}

Test(once, racing_threads_run_it_once_and_all_wait_for_it)
{
	pthread_t th[NRACE];
	int i;

	for (i = 0; i < NRACE; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, racer, NULL), 0);
	for (i = 0; i < NRACE; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(runs, 1);
	cr_assert_eq(seen_before_done, 0, "a caller returned before init "
	    "had run");
}

/* A runner that blocks in the initialiser until told, in the parent only:
 * a fork child must not wait for it. */
static struct wsp_once fork_once = WSP_ONCE_INIT;
static sem_t in_init, may_finish;
static pid_t parent;

static void
blocking(void *arg)
{
	(void)arg;
	if (getpid() == parent) {
		sem_post(&in_init);
		sem_wait(&may_finish);
	}
	atomic_fetch_add(&runs, 1);
}

static void *
runner(void *arg)
{
	(void)arg;
	wsp_once(&fork_once, blocking, NULL);
	return NULL;
}

Test(once, fork_child_runs_an_init_its_parent_was_inside)
{
	pthread_t th;
	pid_t pid;
	int status;

	parent = getpid();
	sem_init(&in_init, 0, 0);
	sem_init(&may_finish, 0, 0);
	cr_assert_eq(pthread_create(&th, NULL, runner, NULL), 0);
	sem_wait(&in_init);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		alarm(10);	/* a hang fails the test, bounded */
		_exit(wsp_once(&fork_once, blocking, NULL) == 0 &&
		    wsp_once_done(&fork_once) && runs == 1 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	sem_post(&may_finish);
	pthread_join(th, NULL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status 0x%x", (unsigned)status);
	cr_assert(wsp_once_done(&fork_once));
	cr_assert_eq(runs, 1, "the parent's init ran once");
}

/* A runner whose thread ends inside the initialiser (pthread_exit, as a
 * cancelled thread would): the next caller takes the once over. */
static struct wsp_once vanish_once = WSP_ONCE_INIT;

static void
vanishing(void *arg)
{
	if (arg != NULL)
		pthread_exit(NULL);
	atomic_fetch_add(&runs, 1);
}

static void *
vanisher(void *arg)
{
	wsp_once(&vanish_once, vanishing, arg);
	return NULL;
}

Test(once, a_runner_that_vanished_is_taken_over, .timeout = 10)
{
	pthread_t th;

	cr_assert_eq(pthread_create(&th, NULL, vanisher, &vanish_once), 0);
	pthread_join(th, NULL);
	cr_assert_not(wsp_once_done(&vanish_once));
	cr_assert_eq(wsp_once(&vanish_once, vanishing, NULL), 0);
	cr_assert(wsp_once_done(&vanish_once));
	cr_assert_eq(runs, 1);
}

/* The initialiser calls back in (as a signal handler in the runner would):
 * -1 at once, not a wait for itself. */
static struct wsp_once self_once = WSP_ONCE_INIT;
static int inner = 1;

static void
recursing(void *arg)
{
	(void)arg;
	inner = wsp_once(&self_once, recursing, NULL);
}

Test(once, a_call_from_inside_its_init_returns_minus_one, .timeout = 10)
{
	cr_assert_eq(wsp_once(&self_once, recursing, NULL), 0);
	cr_assert_eq(inner, -1);
	cr_assert(wsp_once_done(&self_once));
}

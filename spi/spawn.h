/*
 * spawn.h - the library's own threads (the overlapped engine, the
 * network-event watcher): started on first use, with every signal
 * blocked, and only once they run.
 */
#ifndef WSPSHIM_SPAWN_H
#define WSPSHIM_SPAWN_H

/*
 * A detached thread running main(NULL) with every signal blocked (the
 * program's handlers stay the program's threads' business): 0 once it
 * runs, or -1.
 *
 * The caller waits until the thread runs.  A thread still being set up
 * when the program forks can hold a lock of the thread runtime that the
 * child then never gets back: the C library's are fork-safe, but a
 * sanitizer's allocator is not, and a child forked right after the first
 * overlapped call hung in it.  Once the thread runs its loop, it must
 * allocate only under a lock that fork() takes (the module's atfork
 * handlers).
 */
int spawn_engine(void *(*main)(void *));

#endif

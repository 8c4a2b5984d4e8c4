/*
 * trust.h - what the library checks before it trusts a file: the catalog
 * file it reads at start-up and the plugins it loads (docs/shim.md, "What
 * the library trusts"), and the start-up directory that every relative
 * path the library is given is resolved against.
 *
 * A trusted file is a regular file that, like every folder above it, is
 * owned by root or by the process's effective user, and is writable by
 * no one else: neither its group nor others may write it (a folder that
 * others may write is accepted only with the sticky bit, as /tmp, where
 * no one but an entry's owner can rename or remove it).  When strict
 * (secure execution, or a root process), only root's files are trusted.
 */
#ifndef WSPSHIM_TRUST_H
#define WSPSHIM_TRUST_H

#include <stddef.h>

/*
 * Open the file at path (absolute) for reading once it and every folder
 * above it pass the checks: a descriptor (close-on-exec) of exactly the
 * file that was checked, or -1 with errno and why (size bytes) saying
 * what is wrong: EPERM for a file or folder refused by the checks (why
 * names it, its mode and owner), ENOENT when the file or a folder is
 * missing, EINVAL for a path that is not absolute, or the error of a
 * system call.
 */
int trust_open(const char *path, int strict, char *why, size_t size);

/* Remember the current directory as the one relative paths are resolved
 * against (core_init, at start-up); later calls change nothing. */
void trust_note_startdir(void);

/*
 * path made absolute against the start-up directory (the current one if
 * none was noted), into buf (len bytes): 0, or -1 when it does not fit or
 * there is no directory to resolve against.  An absolute path is copied
 * as it is.
 */
int trust_absolute(const char *path, char *buf, size_t len);

/*
 * Nothing: the relative paths the library reads from the environment are
 * made absolute there (against the start-up directory), so a child that
 * starts in another directory finds the same files: LD_PRELOAD's entry
 * for this library (self: the loader's name of it, as dladdr gives it),
 * WSPSHIM_CATALOG, WSPSHIM_LOG and the entries of WSPSHIM_LAYER_PATH.
 * Called once at start-up, outside secure execution.
 */
void trust_env_absolute(const char *self);

/* The same, malloc'd, or NULL. */
char *trust_absolute_dup(const char *path);

#endif

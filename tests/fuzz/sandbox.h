/*
 * sandbox.h - sandbox.c's switch: while sandbox_on is non-zero, open()
 * and sigaction() in this program touch no file and no signal.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

extern int sandbox_on;

#endif

/*
 * early.h - the sockets libearly.so's constructor made.
 */
#ifndef EARLY_H
#define EARLY_H

extern int early_tcp;		/* TCP, connected to the echo server */
extern int early_unix;		/* AF_UNIX stream, likewise */

#endif

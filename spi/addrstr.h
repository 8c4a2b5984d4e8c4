/*
 * addrstr.h - socket addresses as Winsock prints and parses them:
 * "127.0.0.1:80" ("127.0.0.1" when the port is 0), "[::1]:443" ("::1"),
 * "[fe80::1%2]:80", and for AF_UNIX the path ("@name" for an abstract one).
 */
#ifndef WSPSHIM_ADDRSTR_H
#define WSPSHIM_ADDRSTR_H

#include <stddef.h>
#include <wspshim/winsock2.h>

/* Format sa (len bytes) into out (cap bytes).  0, or WSAEINVAL for a bad
 * or short address, or WSAEFAULT when cap is too small; *needed gets the
 * bytes needed with the terminator either way. */
int addrstr_format(const struct sockaddr *sa, size_t len, char *out,
    size_t cap, size_t *needed);

/* Parse s as an address of family af.  0 and *len set, or WSAEINVAL for a
 * bad string or family, or WSAEFAULT when *len is too small (*len then gets
 * the size needed). */
int addrstr_parse(const char *s, int af, struct sockaddr *out, int *len);

#endif

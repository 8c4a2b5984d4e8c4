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
 * or short address or an unsupported family, or WSAEFAULT when cap is too
 * small or out is NULL; *needed (when not NULL) gets the bytes needed with
 * the terminator either way, 0 when the address is bad.  sa NULL is
 * WSAEFAULT.  An abstract AF_UNIX name holding a NUL byte is WSAEINVAL. */
int addrstr_format(const struct sockaddr *sa, size_t len, char *out,
    size_t cap, size_t *needed);

/* Parse s as an address of family af (AF_INET, AF_INET6, AF_UNIX).  0 and
 * *len set to the address length, or WSAEINVAL for a bad string (s NULL
 * included) or family, or WSAEFAULT when *len is too small or out is NULL
 * (*len then gets the size needed) or len is NULL.  A string is checked
 * before the room for it. */
int addrstr_parse(const char *s, int af, struct sockaddr *out, int *len);

#endif

/* addrstr.c: being written */

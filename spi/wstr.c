/* wstr.c: being written */

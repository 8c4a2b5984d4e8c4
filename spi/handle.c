/* handle.c: being written */

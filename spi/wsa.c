/* wsa.c: being written */

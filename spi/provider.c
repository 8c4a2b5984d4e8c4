/* provider.c: being written */

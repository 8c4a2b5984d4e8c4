/* core.c: being written */

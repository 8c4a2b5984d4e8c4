/* base.c: being written */

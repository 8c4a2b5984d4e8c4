/* errmap.c: being written */

/* fdtab.c: being written */

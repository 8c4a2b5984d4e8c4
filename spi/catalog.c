/* catalog.c: being written */

/* shim.c: being written */

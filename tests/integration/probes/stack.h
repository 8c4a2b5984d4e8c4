/*
 * stack.h - what libstack.so counts.
 */
#ifndef STACK_H
#define STACK_H

/* Bytes that send, sendto, sendmsg and write carried to sockets. */
extern unsigned long stack_bytes;

#endif

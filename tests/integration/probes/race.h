/*
 * race.h - librace.so's controls (see race.c).
 */
#ifndef RACE_H
#define RACE_H

#include <semaphore.h>

extern sem_t race_go, race_done;	/* posted by the hook, by the probe */
extern int race_armed;			/* the next send holds */

#endif

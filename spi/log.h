/*
 * log.h - the library's diagnostics: one line each, to stderr or to the
 * file WSPSHIM_LOG names, never to stdout.
 */
#ifndef WSPSHIM_LOG_H
#define WSPSHIM_LOG_H

/* Write one line "wspshim[pid]: ..." unless logging is off. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* As log_msg, but at most once per process for each call site's key. */
#define log_once(fmt, ...) do {						\
	static int log_once_done_;					\
	if (!__atomic_exchange_n(&log_once_done_, 1, __ATOMIC_RELAXED))	\
		log_msg(fmt, ##__VA_ARGS__);				\
} while (0)

#endif

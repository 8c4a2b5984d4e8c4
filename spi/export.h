/*
 * export.h - marks the documented API and the interposed names.
 *
 * Everything else is built with hidden visibility; the version script
 * (shim/wspshim.map) lists exactly what may leave the library.
 */
#ifndef WSPSHIM_EXPORT_H
#define WSPSHIM_EXPORT_H

#define WSPSHIM_EXPORT	__attribute__((visibility("default")))

#endif

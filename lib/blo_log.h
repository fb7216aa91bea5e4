/*
 * blo_log: structured logs, one JSON object per line on stderr:
 *   {"ts":"2026-11-28T10:00:00.123Z","level":"warn","prog":"blonet-broker",
 *    "event":"publish.rejected","msg":"..."}
 * "event" is a stable dotted name to grep and count; "msg" says what
 * happened in words. Thread-safe (one write per line).
 */
#ifndef BLO_LOG_H
#define BLO_LOG_H

#include "blo_settings.h"

/* Sets the program name and the least level written (default: info). */
void blo_log_init(const char *prog, blo_log_level_t level);

void blo_log(blo_log_level_t level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define blo_debug(event, ...) blo_log(BLO_LOG_DEBUG, event, __VA_ARGS__)
#define blo_info(event, ...) blo_log(BLO_LOG_INFO, event, __VA_ARGS__)
#define blo_warn(event, ...) blo_log(BLO_LOG_WARN, event, __VA_ARGS__)
#define blo_error(event, ...) blo_log(BLO_LOG_ERROR, event, __VA_ARGS__)

#endif

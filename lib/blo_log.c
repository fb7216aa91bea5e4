/*
 * blo_log: JSON-lines logging to stderr.
 */
#include "blo_log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "blonet";
static blo_log_level_t log_level = BLO_LOG_INFO;

void blo_log_init(const char *prog, blo_log_level_t level)
{
	log_prog = prog;
	log_level = level;
}

void blo_log(blo_log_level_t level, const char *event, const char *fmt, ...)
{
	char msg[1024], ts[40];
	struct timespec now;
	struct tm tm;
	cJSON *line;
	char *text;
	va_list ap;

	if (level < log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
	line = cJSON_CreateObject();
	if (line == NULL)
		return;
	cJSON_AddStringToObject(line, "ts", ts);
	cJSON_AddStringToObject(line, "level", blo_log_level_names[level]);
	cJSON_AddStringToObject(line, "prog", log_prog);
	cJSON_AddStringToObject(line, "event", event);
	cJSON_AddStringToObject(line, "msg", msg);
	text = cJSON_PrintUnformatted(line);
	cJSON_Delete(line);
	if (text == NULL)
		return;
	/* One write(2) per line keeps lines whole across threads. */
	size_t len = strlen(text);

	text[len] = '\n';
	if (write(STDERR_FILENO, text, len + 1) < 0) {
		/* Nowhere left to report it. */
	}
	cJSON_free(text);
}

/*
 * blo_console_view: what the console's front ends show, written once: list
 * rows in display cells, an alert's full detail as wrapped lines, one JSON
 * line per event (--json) and one text line per event (line mode). Every
 * string that came from the network is cleaned (blo_console_text_clean)
 * before it is shown.
 */
#ifndef BLO_CONSOLE_VIEW_H
#define BLO_CONSOLE_VIEW_H

#include "blo_console.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "TLP:AMBER+STRICT" and so on; "TLP:?" when unset. Static. */
const char *blo_console_view_tlp_label(Blonet__Tlp tlp);
/* What a TLP 2.0 marking allows the recipient to do, in one sentence. */
const char *blo_console_view_tlp_meaning(Blonet__Tlp tlp);
/* Short column names: "TIP" for TRAFFICKING_IN_PERSONS, "SEVR" for
 * SEVERE, "NARCOTICS" for NARCOTICS_POLICE, ... Static. */
const char *blo_console_view_category_short(Blonet__Category c);
const char *blo_console_view_severity_short(Blonet__Severity s);
const char *blo_console_view_agency_short(Blonet__AgencyKind a);
/* Enum value names as in the .proto, "" when unknown. */
const char *blo_console_view_enum(const ProtobufCEnumDescriptor *d, int value);

/* Local time of ms: "2026-11-28 10:02:03 +0700" (full) or "11-28 10:02". */
void blo_console_view_time(int64_t ms, bool full, char *buf, size_t size);
/* "45s", "3m 12s", "2h 05m", "3d 04h". Negative: "-". */
void blo_console_view_duration(int64_t ms, char *buf, size_t size);

/* What the status column says about an item: "ACKED ACTING", "2 ACKS",
 * "SENT", "NOT SENT", "CANCELLED", "" ... */
void blo_console_view_status(const blo_console_t *c, size_t item, char *buf, size_t size);

/* Where the TLP cell of a row is, for front ends that colour it. */
#define BLO_CONSOLE_VIEW_TLP_COL 8
#define BLO_CONSOLE_VIEW_TLP_CELLS 5

/* The list's column heading and one row, each exactly width cells (a
 * width under 60 gives 60), into buf (size bytes; 4 * width + 64 always
 * suffice). */
void blo_console_view_row_header(int width, char *buf, size_t size);
void blo_console_view_row(const blo_console_t *c, size_t item, int width, char *buf, size_t size);

/* The full detail of an item as lines of at most width cells: marking
 * and what it allows, origin, times, assessment, place and route, text,
 * subjects, commodities, attributes, signature and hop trace, replies and
 * what this console did. *lines: free with blo_console_text_lines_free. */
int blo_console_view_detail(blo_console_t *c, size_t item, int width, char ***lines, size_t *n,
			    blo_err_t *err);

/* The JSON object of an item: {"n","id","type","received_ms","broker_seq",
 * "verified","note","unread","ours","pub","state":{...},"trace":[...],
 * "in_reply_to":{...},"alert":{...}}; "alert" and "trace" only when
 * with_alert. NULL when out of memory. Caller cJSON_Delete()s. */
cJSON *blo_console_view_item_json(blo_console_t *c, size_t item, bool with_alert);

/* One line (no newline) for an event: JSON (json) or text. Caller frees;
 * NULL when out of memory. */
char *blo_console_view_event(blo_console_t *c, const blo_console_event_t *ev, bool json);

#endif

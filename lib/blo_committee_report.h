/*
 * blo_committee_report: the committee's reports from a snapshot of its
 * aggregates (blo_committee_snapshot), never from the alerts themselves:
 * report.json (machine-readable, every table), one CSV file per table, and
 * report.html: self-contained (inline CSS and SVG charts, no script, no
 * fetch), so it opens in any browser with no network access. Charts:
 * alerts per week by category, seizures by crossing, top routes, and
 * acknowledgement times per pair of BLOs (median and p90).
 *
 * Text from the network is escaped for its format: HTML entities in the
 * page, RFC 4180 quoting in CSV, where a text cell that a spreadsheet would
 * take for a formula (starting with = + - @) is prefixed with '.
 */
#ifndef BLO_COMMITTEE_REPORT_H
#define BLO_COMMITTEE_REPORT_H

#include "blo_committee.h"
#include "blo_err.h"

#include <stdint.h>

typedef struct {
	const char *committee; /* principal id */
	const char *country;   /* ISO 3166 alpha-2 */
	int64_t generated_ms;
} blo_committee_report_info_t;

/* The CSV tables, by file name without ".csv", NULL-terminated. */
extern const char *const blo_committee_report_tables[];

/* Each returns a new malloc()ed text (caller frees), NULL when out of
 * memory (or, for csv, an unknown table). */
char *blo_committee_report_json(const blo_committee_snapshot_t *s,
				const blo_committee_report_info_t *info);
char *blo_committee_report_csv(const blo_committee_snapshot_t *s, const char *table);
char *blo_committee_report_html(const blo_committee_snapshot_t *s,
				const blo_committee_report_info_t *info);

/* Writes report.json, report.html and every table's CSV into dir (made if
 * absent), each file replaced atomically. Returns 0, -errno or BLO_ENOMEM,
 * err naming the file. */
int blo_committee_report_write(const blo_committee_snapshot_t *s,
			       const blo_committee_report_info_t *info, const char *dir,
			       blo_err_t *err);

/* "12.5" for 12500 thousandths; "0.001"; "-3". buf of 32 bytes suffices. */
void blo_committee_report_quantity(int64_t milli, char *buf, size_t size);

#endif

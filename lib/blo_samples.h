/*
 * blo_samples: made-up agency exports for one BLO, for the demo and tests:
 * customs seizure records, immigration checkpoint hits and narcotics case
 * reports (agents/formats/) at one crossing of a rules file, deterministic
 * for a seed, with a chosen number of deliberately broken records and of
 * narcotics cases kept inside the country ("release": "NATIONAL").
 */
#ifndef BLO_SAMPLES_H
#define BLO_SAMPLES_H

#include "blo_err.h"

#include <stdint.h>

/* Writes DIR/customs.jsonl, DIR/immigration.csv and DIR/narcotics.jsonl:
 * `count` records each for the BLO `site` of the rules file at
 * `rules_path` (the site must be one of its crossings), deterministic for
 * a given seed, times within the last `span_days` days before now_ms,
 * realistic for that crossing (commodities of the rules, persons,
 * vehicles, routes toward the counterpart). Of each agency's records,
 * `broken` are deliberately malformed (each a different, realistic
 * mistake the adapter rejects with a reason), and of the narcotics
 * records `national` are marked "release": "NATIONAL". Returns 0, or a
 * negative code (test `rc != 0`) with err naming the problem: BLO_EINVAL
 * (bad arguments: broken > count, national > count - broken, span_days 0,
 * count > 100000), BLO_ENOTFOUND
 * (site is not a crossing of the rules, or the rules lack an agency
 * section or a code at that crossing), BLO_ECONFIG / -errno (rules
 * unreadable), -errno (DIR missing or a file not writable), BLO_ENOMEM.
 * Broken records: at most 12 per agency are distinct mistakes; more repeat
 * them in turn. `national` counts among the count - broken good narcotics
 * records. Record references hold the site and the seed, so alert ids do not
 * collide between BLOs or runs with different seeds. Each file is written
 * whole as DIR/.NAME.tmp (a spool leaves dot files alone) and renamed; on
 * failure a file already finished stays. rules_path, site and dir are
 * borrowed; err may be NULL.
 */
int blo_samples_write(const char *rules_path, const char *site, unsigned count,
		      unsigned broken, unsigned national, uint64_t seed,
		      int64_t now_ms, unsigned span_days, const char *dir,
		      blo_err_t *err);

#endif

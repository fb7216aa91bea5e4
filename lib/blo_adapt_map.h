/*
 * blo_adapt_map: turns agency records into normalized alerts. One mapper per
 * agency (customs seizure records, immigration checkpoint hits, narcotics
 * police case reports; the formats and every mapping rule are documented in
 * agents/formats/), and a source that reads an export with blo_adapt_input
 * and maps record after record. Mapping is pure: the same record and rules
 * give the same alert, byte for byte, which the golden tests hold to.
 */
#ifndef BLO_ADAPT_MAP_H
#define BLO_ADAPT_MAP_H

#include "blo_adapt_input.h"
#include "blo_adapt_rules.h"
#include "blo_err.h"
#include "blonet.pb-c.h"

#include <stdio.h>

/* Why a record was rejected. */
typedef struct {
	char field[128];     /* the field at fault, e.g. "goods[0].hs_code"; "" for the
			      * record as a whole */
	char source_ref[128]; /* the record's reference if it could be read, else "" */
	blo_err_t err;       /* the message, naming record, line and field:
			      * customs record 17 (line 17): field "goods[0].hs_code":
			      * "29X9" is not a 6- to 10-digit HS code */
} blo_adapt_reject_t;

/* Maps one record to a new alert (*out, caller frees with blo_alert_free).
 * The alert has its id (derived from the rules' country, the agency and the
 * record's reference: blo_alert_derive_id), type ALERT, the rules' status,
 * source_ref, observed_ms, origin (agency, country, agency name: principal
 * and site are the publisher's, filled by blo_client_complete_alert),
 * assessment, handling, location, headline, description, modus operandi,
 * subjects, commodities, attributes and language; sent_ms is 0. On failure
 * *out is NULL and why says what is wrong: BLO_EINVAL for the record (it is
 * to be rejected), BLO_ENOMEM. */
int blo_adapt_map_customs(const blo_adapt_rules_t *rules, const blo_adapt_record_t *rec,
			  Blonet__Alert **out, blo_adapt_reject_t *why);
int blo_adapt_map_narcotics(const blo_adapt_rules_t *rules, const blo_adapt_record_t *rec,
			    Blonet__Alert **out, blo_adapt_reject_t *why);

/* The columns of an immigration CSV export, from its header row. */
typedef struct blo_adapt_csv_header blo_adapt_csv_header_t;

/* Reads the header row: every column must be known, none twice, and the
 * required ones present. *out is the caller's (free()). Returns 0,
 * BLO_EINVAL (why names the column) or BLO_ENOMEM. */
int blo_adapt_immigration_header(blo_adapt_csv_header_t **out, const blo_adapt_record_t *header,
				 blo_adapt_reject_t *why);
int blo_adapt_map_immigration(const blo_adapt_rules_t *rules, const blo_adapt_csv_header_t *header,
			      const blo_adapt_record_t *rec, Blonet__Alert **out,
			      blo_adapt_reject_t *why);

/* ---- a source: an export read and mapped record by record ---- */

typedef struct blo_adapt_source blo_adapt_source_t;

typedef struct {
	size_t number;         /* record number, from 1 */
	size_t line;           /* line it starts on, from 1 */
	const char *text;      /* the record as read; borrowed until the next call */
	size_t len;
	Blonet__Alert *alert;  /* the caller's (blo_alert_free), or NULL: rejected */
	blo_adapt_reject_t why; /* when alert is NULL */
} blo_adapt_item_t;

/* Opens a source of agency records from in (borrowed), using rules
 * (borrowed; they must have the agency's section). For immigration it reads
 * the CSV header now: a missing or wrong header fails the whole input with
 * BLO_EPARSE and err naming it. *out is the caller's. */
int blo_adapt_source_open(blo_adapt_source_t **out, blo_adapt_agency_t agency,
			  const blo_adapt_rules_t *rules, FILE *in, blo_err_t *err);

/* The next record, mapped or rejected: 1, 0 at the end, or -errno when the
 * input cannot be read (BLO_ENOMEM when memory ran out). */
int blo_adapt_source_next(blo_adapt_source_t *self, blo_adapt_item_t *item, blo_err_t *err);

/* Closes the source (not its FILE) and sets *self_p to NULL. */
void blo_adapt_source_close(blo_adapt_source_t **self_p);

#endif

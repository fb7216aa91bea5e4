/*
 * The body of the adapter parser fuzz targets (fuzz_adapt_customs.c,
 * fuzz_adapt_immigration.c, fuzz_adapt_narcotics.c): each defines
 * FUZZ_AGENCY and includes this. Arbitrary bytes as the agency's export,
 * read and mapped record by record under the golden rules
 * (tests/golden/adapters/rules.json, found through BLO_SRCDIR). Besides
 * crashes and leaks it aborts when a result breaks the contract: a
 * rejection whose message does not name the agency, record and line; an
 * alert that does not validate once the publisher completes it, whose id is
 * not derived from its reference, or whose JSON form does not decode to the
 * same bytes; or a second reading of the same bytes that gives another
 * result.
 */
#ifndef FUZZ_AGENCY
#error "define FUZZ_AGENCY (a blo_adapt agency) before including fuzz_adapt.h"
#endif

#include "blo_adapt.h"
#include "blo_codec.h"
#include "blo_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static blo_adapt_rules_t *rules;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *src = getenv("BLO_SRCDIR");
	char path[4096];
	blo_err_t err = { 0 };

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/tests/golden/adapters/rules.json",
		 src != NULL && src[0] != '\0' ? src : ".");
	if (blo_adapt_rules_load(&rules, path, &err) != 0) {
		fprintf(stderr, "fuzz: %s (set BLO_SRCDIR to the source tree)\n", err.msg);
		abort();
	}
	return 0;
}

/* Checks one alert; returns a hash of its bytes for the second reading. */
static uint64_t check_alert(Blonet__Alert *a)
{
	uint8_t id[BLO_ID_BYTES], *bytes = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	Blonet__Alert *b = NULL;
	blo_err_t err = { 0 };
	char *saved = a->origin->principal, *json;
	uint64_t h = 1469598103934665603ULL;

	blo_alert_derive_id(id, rules->country, blo_adapt_agency_kind(FUZZ_AGENCY), a->source_ref);
	if (a->id.len != BLO_ID_BYTES || memcmp(a->id.data, id, BLO_ID_BYTES) != 0)
		abort();
	a->origin->principal = (char *)"fuzz-agent";
	a->sent_ms = blo_now_ms();
	if (blo_alert_validate(a, &err) != 0)
		abort();
	a->origin->principal = saved;
	a->sent_ms = 0;
	if (blo_message_serialize(&a->base, BLO_ALERT_MAX_BYTES * 8, &bytes, &len, &err) != 0)
		abort();
	json = blo_alert_to_json(a, false);
	if (json == NULL || blo_json_to_alert(&b, json, strlen(json), &err) != 0 ||
	    blo_message_serialize(&b->base, BLO_ALERT_MAX_BYTES * 8, &again, &len2, &err) != 0 ||
	    len != len2 || memcmp(bytes, again, len) != 0)
		abort();
	for (size_t i = 0; i < len; i++)
		h = (h ^ bytes[i]) * 1099511628211ULL;
	free(bytes);
	free(again);
	free(json);
	blo_alert_free(&b);
	return h;
}

static void check_reject(const blo_adapt_item_t *item)
{
	char prefix[96];

	snprintf(prefix, sizeof(prefix), "%s record %zu (line %zu): ",
		 blo_adapt_agency_name(FUZZ_AGENCY), item->number, item->line);
	if (item->why.err.code != BLO_EINVAL || strncmp(item->why.err.msg, prefix, strlen(prefix)) != 0 ||
	    memchr(item->why.err.msg, '\0', sizeof(item->why.err.msg)) == NULL ||
	    memchr(item->why.field, '\0', sizeof(item->why.field)) == NULL)
		abort();
}

/* Reads the whole input; returns a hash of what came out, or 0 when the
 * source could not start. */
static uint64_t run(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	blo_adapt_source_t *src = NULL;
	blo_adapt_item_t item;
	blo_err_t err = { 0 };
	uint64_t h = 7;
	int rc;

	if (f == NULL)
		abort();
	if (blo_adapt_source_open(&src, FUZZ_AGENCY, rules, f, &err) != 0) {
		if (FUZZ_AGENCY != BLO_ADAPT_IMMIGRATION)
			abort(); /* only a CSV header can fail a whole input */
		fclose(f);
		return 0;
	}
	while ((rc = blo_adapt_source_next(src, &item, &err)) > 0) {
		if (item.number == 0 || item.line == 0 || item.text == NULL)
			abort();
		if (item.alert != NULL)
			h = h * 31 + check_alert(item.alert);
		else
			check_reject(&item);
		h = h * 31 + item.number * 7 + item.line;
		blo_alert_free(&item.alert);
	}
	if (rc != 0)
		abort();
	blo_adapt_source_close(&src);
	fclose(f);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* fmemopen needs a buffer */
	if (run(data, size) != run(data, size))
		abort();
	return 0;
}

/*
 * libFuzzer target: arbitrary bytes as a serialized Alert. Whatever parses
 * is validated, printed as JSON, read back and re-encoded: none of it may
 * crash, leak or disagree with itself.
 */
#include "blonet.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Blonet__Alert *a = NULL, *b = NULL;
	blo_err_t err = {0};
	uint8_t *bytes = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	char *json = NULL;
	bool valid;

	if (blo_alert_parse(&a, data, size, &err) != 0)
		return 0;
	valid = blo_alert_validate(a, &err) == 0;
	json = blo_alert_to_json(a, false);
	if (json == NULL)
		abort();
	/* A valid alert survives message -> JSON -> message exactly. (Invalid
	 * ones need not: a NaN's payload bits have no JSON form.) */
	if (blo_json_to_alert(&b, json, strlen(json), &err) != 0) {
		if (valid)
			abort();
	} else if (valid) {
		if (blo_message_serialize(&a->base, BLO_ALERT_MAX_BYTES * 2, &bytes, &len, &err) != 0 ||
		    blo_message_serialize(&b->base, BLO_ALERT_MAX_BYTES * 2, &again, &len2, &err) != 0)
			abort();
		if (len != len2 || memcmp(bytes, again, len) != 0)
			abort();
	}
	free(bytes);
	free(again);
	cJSON_free(json);
	blo_alert_free(&a);
	blo_alert_free(&b);
	return 0;
}

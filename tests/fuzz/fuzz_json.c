/*
 * libFuzzer target: arbitrary bytes as the JSON form of an Alert. Whatever
 * decodes is validated, encoded, parsed back and printed: the printed JSON
 * must decode to the same bytes again.
 */
#include "blonet.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Blonet__Alert *a = NULL, *b = NULL, *c = NULL;
	blo_err_t err = {0};
	uint8_t *bytes = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	char *json = NULL;

	if (blo_json_to_alert(&a, (const char *)data, size, &err) != 0)
		return 0;
	(void)blo_alert_validate(a, &err);
	if (blo_message_serialize(&a->base, BLO_ALERT_MAX_BYTES * 8, &bytes, &len, &err) != 0)
		abort();
	if (len <= BLO_ALERT_MAX_BYTES) {
		if (blo_alert_parse(&b, bytes, len, &err) != 0)
			abort();
		json = blo_alert_to_json(b, true);
		if (json == NULL)
			abort();
		if (blo_json_to_alert(&c, json, strlen(json), &err) != 0)
			abort();
		if (blo_message_serialize(&c->base, BLO_ALERT_MAX_BYTES, &again, &len2, &err) != 0)
			abort();
		if (len != len2 || memcmp(bytes, again, len) != 0)
			abort();
	}
	free(bytes);
	free(again);
	cJSON_free(json);
	blo_alert_free(&a);
	blo_alert_free(&b);
	blo_alert_free(&c);
	return 0;
}

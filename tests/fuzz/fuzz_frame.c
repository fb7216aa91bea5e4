/*
 * libFuzzer target: arbitrary bytes as a protocol Frame, the way the broker
 * reads every message from the network: bounded decode, then the envelope
 * of a publish or delivery, then the alert inside it, then JSON.
 */
#include "blonet.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Blonet__Frame *f = NULL;
	Blonet__Envelope *env = NULL;
	Blonet__Alert *alert = NULL;
	const ProtobufCBinaryData *bytes = NULL;
	blo_err_t err = {0};
	char *json;

	if (blo_message_parse(&blonet__frame__descriptor, data, size, BLO_FRAME_MAX_BYTES,
			      (ProtobufCMessage **)&f, &err) != 0)
		return 0;
	(void)blo_wire_body_name(f);
	if (f->body_case == BLONET__FRAME__BODY_PUBLISH)
		bytes = &f->publish->envelope;
	else if (f->body_case == BLONET__FRAME__BODY_DELIVER)
		bytes = &f->deliver->envelope;
	if (bytes != NULL && blo_envelope_parse(&env, bytes->data, bytes->len, &err) == 0 &&
	    blo_alert_parse(&alert, env->alert.data, env->alert.len, &err) == 0) {
		(void)blo_alert_validate(alert, &err);
		(void)blo_filter_match(NULL, alert);
	}
	json = blo_message_to_json_text(&f->base, false);
	if (json == NULL)
		abort();
	cJSON_free(json);
	blo_alert_free(&alert);
	blo_envelope_free(&env);
	blo_message_free((ProtobufCMessage **)&f);
	return 0;
}

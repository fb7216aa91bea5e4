/*
 * blonet-sub: subscribes as the principal of CONFIG and prints one JSON line
 * per alert delivered: the alert, with the delivery's broker, sequence,
 * whether the origin's signature verified against the registry, and the hop
 * trace. Acknowledges each delivery after printing it. An alert delivered
 * again (after a reconnection) is printed once.
 */
#include "blonet.h"
#include "blo_client.h"
#include "blo_log.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *to)
{
	fprintf(to,
		"usage: blonet-sub -c CONFIG [--durable NAME] [--from-seq N] [--count N]\n"
		"                  [--timeout SECONDS] [--filter JSON]\n"
		"  --durable NAME  a durable subscription: the broker keeps its cursor and a\n"
		"                  later run resumes after the last acknowledged alert\n"
		"                  (the first run starts from the oldest alert kept)\n"
		"  --from-seq N    start at journal sequence N instead\n"
		"  --count N       exit after N alerts\n"
		"  --timeout S     exit after S seconds without a delivery (default: never)\n"
		"  --filter JSON   a Filter in JSON, e.g. '{\"categories\":[\"DRUGS\"]}'\n"
		"Prints {\"broker\",\"seq\",\"stored_ms\",\"redelivered\",\"verified\",\"signer\",\n"
		"\"trace\":[{\"broker\",\"at_ms\"}],\"alert\":{...}} per alert on standard output.\n"
		"Exit 0 after --count or --timeout; 1 when the broker refuses this principal\n"
		"or its subscription for good (revoked, or over a limit such as its durable\n"
		"names; the reason on standard error) or the connection fails; 2 on bad\n"
		"arguments or a config that does not load. Refused a session for now (the\n"
		"principal holds the most it may), it says why and waits for one.\n");
}

/* Alert ids already printed in this run. */
typedef struct {
	uint8_t (*ids)[BLO_ID_BYTES];
	size_t n, cap;
} seen_t;

static bool seen_has(const seen_t *s, const uint8_t *id)
{
	for (size_t i = s->n; i > 0; i--)
		if (memcmp(s->ids[i - 1], id, BLO_ID_BYTES) == 0)
			return true;
	return false;
}

/* Room for one more id; false, changing nothing, short of memory. */
static bool seen_reserve(seen_t *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint8_t(*ids)[BLO_ID_BYTES] = realloc(s->ids, cap * BLO_ID_BYTES);

		if (ids == NULL)
			return false;
		s->ids = ids;
		s->cap = cap;
	}
	return true;
}

/* Records id, not seen before (seen_has), with room made by seen_reserve. */
static void seen_add(seen_t *s, const uint8_t *id)
{
	if (s->n < s->cap)
		memcpy(s->ids[s->n++], id, BLO_ID_BYTES);
}

/* Prints one delivery. env and alert are its envelope and alert as the
 * caller parsed them; parse_error says why one did not parse (the other
 * may then be NULL), and is printed as the verify error. BLO_ENOMEM,
 * printing nothing, when there was no memory to verify or print it (the
 * caller leaves it unacknowledged, so the broker delivers it again). */
static int print_delivery(const blo_client_t *client, const Blonet__Deliver *d,
			  const Blonet__Envelope *env, const Blonet__Alert *alert,
			  const char *parse_error)
{
	const blo_principal_t *origin = NULL;
	cJSON *o, *trace = NULL, *aj = NULL;
	blo_err_t err = {0};
	char *text;
	bool ok;
	int rc;

	if (parse_error != NULL)
		rc = blo_err_set(&err, BLO_EPARSE, "%s", parse_error);
	else
		rc = blo_envelope_verify_parsed(env, alert, blo_client_registry(client), &origin, &err);
	if (rc == BLO_ENOMEM)
		return BLO_ENOMEM;
	/* Every part or nothing: a line missing its alert would be
	 * acknowledged all the same. */
	o = cJSON_CreateObject();
	ok = o != NULL &&
	     cJSON_AddStringToObject(o, "broker", blo_client_broker_id(client)) != NULL &&
	     cJSON_AddNumberToObject(o, "seq", (double)d->seq) != NULL &&
	     cJSON_AddNumberToObject(o, "stored_ms", (double)d->stored_ms) != NULL &&
	     cJSON_AddBoolToObject(o, "redelivered", d->redelivered) != NULL &&
	     cJSON_AddBoolToObject(o, "verified", rc == 0) != NULL &&
	     (rc == 0 ? cJSON_AddStringToObject(o, "signer", origin->id)
		      : cJSON_AddStringToObject(o, "verify_error", err.msg)) != NULL &&
	     (trace = cJSON_AddArrayToObject(o, "trace")) != NULL;
	for (size_t i = 0; ok && env != NULL && i < env->n_trace; i++) {
		cJSON *h = cJSON_CreateObject();

		if (h == NULL || !cJSON_AddItemToArray(trace, h)) {
			cJSON_Delete(h);
			ok = false;
			break;
		}
		ok = cJSON_AddStringToObject(h, "broker", env->trace[i]->broker) != NULL &&
		     cJSON_AddNumberToObject(h, "at_ms", (double)env->trace[i]->at_ms) != NULL;
	}
	if (ok && alert != NULL) {
		int jrc = blo_message_to_json(&alert->base, &aj);

		if (jrc == 0 && !cJSON_AddItemToObject(o, "alert", aj)) {
			cJSON_Delete(aj);
			ok = false;
		} else if (jrc == BLO_ENOMEM) {
			ok = false;
		}
	}
	text = ok ? cJSON_PrintUnformatted(o) : NULL;
	if (text != NULL) {
		printf("%s\n", text);
		fflush(stdout);
		cJSON_free(text);
	}
	cJSON_Delete(o);
	return text != NULL ? 0 : BLO_ENOMEM;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"durable", required_argument, NULL, 'd'},
		{"from-seq", required_argument, NULL, 's'},
		{"count", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"filter", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *config = NULL, *durable = "", *filter_json = NULL;
	uint64_t from_seq = 0, count = 0, printed = 0;
	int timeout_s = -1, opt, exit_code = 2;
	blo_client_t *client = NULL;
	Blonet__Filter *filter = NULL;
	Blonet__StartAt start;
	blo_err_t err = {0};
	seen_t seen = {0};
	int64_t last_activity;

	while ((opt = getopt_long(argc, argv, "c:d:s:n:t:f:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'd': durable = optarg; break;
		case 's': from_seq = strtoull(optarg, NULL, 10); break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 't': timeout_s = atoi(optarg); break;
		case 'f': filter_json = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (config == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	blo_log_init("blonet-sub", BLO_LOG_WARN);
	if (filter_json != NULL &&
	    blo_json_text_to_message(&blonet__filter__descriptor, filter_json, strlen(filter_json),
				     (ProtobufCMessage **)&filter, &err) != 0) {
		fprintf(stderr, "blonet-sub: --filter: %s\n", err.msg);
		return 2;
	}
	if (blo_client_open_config(&client, config, "blonet-sub", &err) != 0) {
		fprintf(stderr, "blonet-sub: %s\n", err.msg);
		goto out;
	}
	start = from_seq > 0 ? BLONET__START_AT__START_SEQUENCE
	      : durable[0] ? BLONET__START_AT__START_LAST_ACKED
			   : BLONET__START_AT__START_NOW;
	if (blo_client_subscribe(client, durable, filter, start, from_seq, 0, 0, &err) != 0) {
		fprintf(stderr, "blonet-sub: %s\n", err.msg);
		goto out;
	}
	exit_code = 0;
	last_activity = blo_mono_ms();
	while (count == 0 || printed < count) {
		Blonet__Frame *f = NULL;

		if (blo_client_next(client, 200, &f, &err) != 0) {
			fprintf(stderr, "blonet-sub: %s\n", err.msg);
			exit_code = 1;
			break;
		}
		if (f == NULL) {
			if (timeout_s >= 0 && blo_mono_ms() - last_activity > (int64_t)timeout_s * 1000)
				break;
			continue;
		}
		if (f->body_case == BLONET__FRAME__BODY_DELIVER) {
			const Blonet__Deliver *d = f->deliver;
			Blonet__Envelope *env = NULL;
			Blonet__Alert *peek = NULL;
			blo_err_t perr = {0};
			bool fresh = true;
			int prc;

			last_activity = blo_mono_ms();
			prc = blo_envelope_parse(&env, d->envelope.data, d->envelope.len, &perr);
			if (prc == 0 &&
			    (prc = blo_alert_parse(&peek, env->alert.data, env->alert.len, &perr)) != 0)
				blo_err_prefix(&perr, "envelope"); /* as blo_envelope_verify says it */
			if (prc == 0 && peek->id.len == BLO_ID_BYTES)
				fresh = !seen_has(&seen, peek->id.data);
			if (prc == 0 && fresh && !seen_reserve(&seen))
				prc = BLO_ENOMEM;
			if (prc != BLO_ENOMEM && fresh &&
			    (prc = print_delivery(client, d, env, peek, prc == 0 ? NULL : perr.msg)) == 0) {
				if (peek != NULL && peek->id.len == BLO_ID_BYTES)
					seen_add(&seen, peek->id.data);
				printed++;
			}
			if (prc == BLO_ENOMEM)
				/* Not acknowledged: the broker delivers it again. */
				fprintf(stderr, "blonet-sub: delivery %llu: out of memory: left for "
					"the broker to deliver again\n",
					(unsigned long long)d->seq);
			else
				blo_client_ack(client, d->durable, &d->seq, 1, NULL);
			blo_alert_free(&peek);
			blo_envelope_free(&env);
		} else if (f->body_case == BLONET__FRAME__BODY_ERROR) {
			fprintf(stderr, "blonet-sub: broker: %s\n", f->error->text);
			/* Refused for good: this subscription gets nothing. A
			 * TOO_MANY before the Welcome refuses a session for now:
			 * the client says Hello again until it has one. */
			if (f->error->code == BLONET__ERROR_CODE__ERROR_FORBIDDEN ||
			    (f->error->code == BLONET__ERROR_CODE__ERROR_TOO_MANY &&
			     blo_client_principal(client) != NULL)) {
				exit_code = 1;
				blo_message_free((ProtobufCMessage **)&f);
				break;
			}
		}
		blo_message_free((ProtobufCMessage **)&f);
	}
	/* Let the last acks leave before the socket closes. */
	{
		Blonet__Frame *f = NULL;

		blo_client_next(client, 100, &f, NULL);
		blo_message_free((ProtobufCMessage **)&f);
	}
out:
	free(seen.ids);
	blo_message_free((ProtobufCMessage **)&filter);
	blo_client_close(&client);
	return exit_code;
}

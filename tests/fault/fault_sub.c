/*
 * fault_sub: the subscriber of the fault scenarios. Unlike blonet-sub it
 * prints every delivery as it arrives, before any dedup, one line each:
 *   SEQ ID REDELIVERED STORED_MS
 * (ID 32 hex digits, REDELIVERED 0 or 1), so that the scenario can count
 * redeliveries, duplicates and the order of sequences itself. It acks each
 * delivery after printing it, keeps going across broker restarts (the
 * client re-subscribes from the last acknowledged sequence), and stops
 * after --count distinct alert ids, after --idle seconds without a
 * delivery, or on SIGTERM/SIGINT. Exit 0 (1 on a setup or socket error).
 *
 *   fault_sub -c CONFIG --durable NAME [--count N] [--idle S] [--credit C]
 */
#include "blonet.h"
#include "blo_client.h"
#include "blo_log.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Distinct alert ids seen: open addressing on the id's first 8 bytes. */
typedef struct {
	uint8_t (*ids)[BLO_ID_BYTES];
	uint8_t *used;
	size_t cap, count;
} idset_t;

static size_t idset_slot(const idset_t *s, const uint8_t *id)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	h *= UINT64_C(0x9e3779b97f4a7c15);
	for (size_t i = (size_t)(h >> 20) & (s->cap - 1);; i = (i + 1) & (s->cap - 1))
		if (!s->used[i] || memcmp(s->ids[i], id, BLO_ID_BYTES) == 0)
			return i;
}

/* Adds id; true if it was new. */
static bool idset_add(idset_t *s, const uint8_t *id)
{
	size_t i;

	if (s->count * 2 >= s->cap) {
		idset_t bigger = {.cap = s->cap ? s->cap * 2 : 4096};

		bigger.ids = calloc(bigger.cap, BLO_ID_BYTES);
		bigger.used = calloc(bigger.cap, 1);
		if (bigger.ids == NULL || bigger.used == NULL)
			abort();
		for (size_t k = 0; k < s->cap; k++)
			if (s->used[k]) {
				size_t j = idset_slot(&bigger, s->ids[k]);

				memcpy(bigger.ids[j], s->ids[k], BLO_ID_BYTES);
				bigger.used[j] = 1;
				bigger.count++;
			}
		free(s->ids);
		free(s->used);
		*s = bigger;
	}
	i = idset_slot(s, id);
	if (s->used[i])
		return false;
	memcpy(s->ids[i], id, BLO_ID_BYTES);
	s->used[i] = 1;
	s->count++;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"durable", required_argument, NULL, 'd'},
		{"count", required_argument, NULL, 'n'},
		{"idle", required_argument, NULL, 'i'},
		{"credit", required_argument, NULL, 'k'},
		{0},
	};
	const char *config = NULL, *durable = NULL;
	uint64_t count = 0, deliveries = 0;
	int idle_s = -1, opt, rc = 1;
	uint32_t credit = 0;
	blo_client_t *client = NULL;
	blo_err_t err = {0};
	idset_t seen = {0};
	int64_t last_activity;
	struct sigaction sa = {.sa_handler = on_signal};

	while ((opt = getopt_long(argc, argv, "c:d:n:i:k:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'd': durable = optarg; break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'i': idle_s = atoi(optarg); break;
		case 'k': credit = (uint32_t)strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (config == NULL || durable == NULL || durable[0] == '\0' || optind != argc)
		goto usage;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	blo_log_init("fault_sub", BLO_LOG_ERROR);
	if (blo_client_open_config(&client, config, "fault_sub", &err) != 0 ||
	    blo_client_subscribe(client, durable, NULL, BLONET__START_AT__START_LAST_ACKED, 0, 0,
				 credit, &err) != 0) {
		fprintf(stderr, "fault_sub: %s\n", err.msg);
		goto out;
	}
	rc = 0;
	last_activity = blo_now_ms();
	while (!stop_requested && (count == 0 || seen.count < count)) {
		Blonet__Frame *f = NULL;

		if (blo_client_next(client, 200, &f, &err) != 0) {
			fprintf(stderr, "fault_sub: %s\n", err.msg);
			rc = 1;
			break;
		}
		if (f == NULL) {
			fflush(stdout);
			if (idle_s >= 0 && blo_now_ms() - last_activity > (int64_t)idle_s * 1000)
				break;
			continue;
		}
		if (f->body_case == BLONET__FRAME__BODY_DELIVER) {
			const Blonet__Deliver *d = f->deliver;
			Blonet__Envelope *env = NULL;
			Blonet__Alert *alert = NULL;
			char hex[2 * BLO_ID_BYTES + 1] = "-";

			last_activity = blo_now_ms();
			deliveries++;
			if (blo_envelope_parse(&env, d->envelope.data, d->envelope.len, NULL) == 0 &&
			    blo_alert_parse(&alert, env->alert.data, env->alert.len, NULL) == 0 &&
			    alert->id.len == BLO_ID_BYTES) {
				blo_hex_encode(hex, sizeof(hex), alert->id.data, BLO_ID_BYTES);
				idset_add(&seen, alert->id.data);
			}
			printf("%" PRIu64 " %s %d %" PRId64 "\n", d->seq, hex, d->redelivered ? 1 : 0,
			       d->stored_ms);
			if (deliveries % 1000 == 0)
				fflush(stdout);
			blo_client_ack(client, d->durable, &d->seq, 1, NULL);
			blo_alert_free(&alert);
			blo_envelope_free(&env);
		}
		blo_message_free((ProtobufCMessage **)&f);
	}
	fflush(stdout);
	/* Let the last acks leave before the socket closes. */
	{
		Blonet__Frame *f = NULL;

		blo_client_next(client, 200, &f, NULL);
		blo_message_free((ProtobufCMessage **)&f);
	}
	fprintf(stderr, "fault_sub: %" PRIu64 " deliveries, %zu distinct alerts\n", deliveries,
		seen.count);
out:
	free(seen.ids);
	free(seen.used);
	blo_client_close(&client);
	return rc;
usage:
	fprintf(stderr, "usage: fault_sub -c CONFIG --durable NAME [--count N] [--idle S] [--credit C]\n");
	return 2;
}

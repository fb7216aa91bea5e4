/*
 * blonet-pub: publishes alerts given as JSON lines (the normalized JSON
 * form) as the principal of CONFIG, and prints one result line per alert in
 * input order. Exits 0 only if every alert was accepted (a duplicate counts
 * as accepted: the broker already holds it).
 */
#include "blonet.h"
#include "blo_client.h"
#include "blo_log.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 1000 /* publishes in flight before waiting for acks */

typedef struct {
	uint64_t correlation; /* 0: finished before sending */
	bool done;
	bool refused;         /* refused for now (a full journal): being retried */
	cJSON *line;          /* the result line */
} result_t;

static void usage(FILE *to)
{
	fprintf(to,
		"usage: blonet-pub -c CONFIG [--timeout SECONDS] [FILE|-]\n"
		"  Publishes each line of FILE (or standard input) as one alert, in the JSON\n"
		"  form of proto/blonet.proto, as the principal of CONFIG. Missing origin\n"
		"  fields, sent_ms and id are filled in (the id from source_ref when given).\n"
		"  Prints one JSON line per alert: {\"line\":N,\"id\":HEX,\"status\":\"accepted\"|\n"
		"  \"duplicate\"|\"rejected\"|\"unacknowledged\",\"seq\":S,\"reason\":R,\"text\":T}.\n"
		"  --timeout: how long to wait for the broker's acks (default 60 s).\n"
		"  Exit status: 0 all accepted, 1 some not, 2 usage or setup error.\n");
}

static cJSON *result_line(size_t line, const uint8_t *id, const char *status)
{
	cJSON *o = cJSON_CreateObject();
	char hex[2 * BLO_ID_BYTES + 1];

	cJSON_AddNumberToObject(o, "line", (double)line);
	if (id != NULL) {
		blo_hex_encode(hex, sizeof(hex), id, BLO_ID_BYTES);
		cJSON_AddStringToObject(o, "id", hex);
	}
	cJSON_AddStringToObject(o, "status", status);
	return o;
}

static size_t flush_results(result_t *results, size_t n, size_t printed)
{
	while (printed < n && results[printed].done) {
		char *text = cJSON_PrintUnformatted(results[printed].line);

		printf("%s\n", text);
		cJSON_free(text);
		cJSON_Delete(results[printed].line);
		results[printed].line = NULL;
		printed++;
	}
	fflush(stdout);
	return printed;
}

/* Finds the result waiting for correlation c: they are in ascending order. */
static result_t *find_result(result_t *results, size_t n, uint64_t c)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t mc = results[mid].correlation;

		/* Lines rejected before sending have correlation 0: step over. */
		size_t k = mid;
		while (k < hi && results[k].correlation == 0)
			k++;
		if (k == hi) {
			hi = mid;
			continue;
		}
		mc = results[k].correlation;
		if (mc == c)
			return &results[k];
		if (mc < c)
			lo = k + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Publishes refused for now and being retried: they do not count against
 * the window, or a full journal would stop the reading of the input. */
static size_t refused_now;

static void on_ack(result_t *results, size_t n, const Blonet__Frame *f, size_t *ok, size_t *bad)
{
	const Blonet__PublishAck *a = f->publish_ack;
	result_t *r = find_result(results, n, f->correlation);
	const char *status;

	if (r == NULL || r->done)
		return;
	if (!blo_client_ack_is_final(a)) {
		/* The client sends it again; say why it waits, in case it never
		 * gets through. */
		cJSON_DeleteItemFromObject(r->line, "reason");
		cJSON_DeleteItemFromObject(r->line, "text");
		cJSON_AddStringToObject(r->line, "reason",
					blo_enum_name(&blonet__reject_reason__descriptor, (int)a->reason));
		cJSON_AddStringToObject(r->line, "text", a->text);
		if (!r->refused)
			refused_now++;
		r->refused = true;
		return;
	}
	if (r->refused) {
		refused_now--;
		cJSON_DeleteItemFromObject(r->line, "reason");
		cJSON_DeleteItemFromObject(r->line, "text");
	}
	switch (a->status) {
	case BLONET__PUBLISH_STATUS__ACCEPTED:
		status = "accepted";
		(*ok)++;
		break;
	case BLONET__PUBLISH_STATUS__DUPLICATE:
		status = "duplicate";
		(*ok)++;
		break;
	default:
		status = "rejected";
		(*bad)++;
		break;
	}
	cJSON_ReplaceItemInObject(r->line, "status", cJSON_CreateString(status));
	if (a->seq > 0)
		cJSON_AddNumberToObject(r->line, "seq", (double)a->seq);
	if (a->status == BLONET__PUBLISH_STATUS__REJECTED) {
		cJSON_AddStringToObject(r->line, "reason",
					blo_enum_name(&blonet__reject_reason__descriptor, (int)a->reason));
		cJSON_AddStringToObject(r->line, "text", a->text);
	}
	r->done = true;
}

/* A frame from the broker: acks are results; an Error (a session refused
 * for now, a frame it could not read) is said on standard error, once
 * for as long as the same one keeps coming, again every 10 s. (The client
 * library passes on a refused session's Errors once a minute at most.) */
static void on_frame(result_t *results, size_t n, const Blonet__Frame *f, size_t *ok, size_t *bad)
{
	static char last[256];
	static int64_t last_ms;

	if (f == NULL)
		return;
	if (f->body_case == BLONET__FRAME__BODY_PUBLISH_ACK) {
		on_ack(results, n, f, ok, bad);
	} else if (f->body_case == BLONET__FRAME__BODY_ERROR && f->error->text != NULL &&
		   (strcmp(last, f->error->text) != 0 || blo_mono_ms() - last_ms >= 10000)) {
		fprintf(stderr, "blonet-pub: broker: %s\n", f->error->text);
		blo_strlcpy(last, f->error->text, sizeof(last));
		last_ms = blo_mono_ms();
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *config = NULL, *path = "-";
	int timeout_s = 60, opt;
	blo_client_t *client = NULL;
	blo_err_t err = {0};
	result_t *results = NULL;
	size_t n = 0, cap = 0, printed = 0, ok = 0, bad = 0, lineno = 0;
	char *buf = NULL;
	size_t bufcap = 0;
	FILE *in;
	int exit_code = 2;

	while ((opt = getopt_long(argc, argv, "c:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 't':
			timeout_s = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config == NULL || argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (optind < argc)
		path = argv[optind];
	blo_log_init("blonet-pub", BLO_LOG_WARN);
	in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (in == NULL) {
		fprintf(stderr, "blonet-pub: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (blo_client_open_config(&client, config, "blonet-pub", &err) != 0) {
		fprintf(stderr, "blonet-pub: %s\n", err.msg);
		goto out;
	}

	for (;;) {
		ssize_t len = getline(&buf, &bufcap, in);
		Blonet__Alert *alert = NULL;
		result_t *r;

		if (len < 0)
			break;
		lineno++;
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (len == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			results = realloc(results, cap * sizeof(*results));
			if (results == NULL) {
				fprintf(stderr, "blonet-pub: out of memory\n");
				goto out;
			}
		}
		r = &results[n++];
		memset(r, 0, sizeof(*r));
		if (blo_json_to_alert(&alert, buf, (size_t)len, &err) != 0 ||
		    blo_client_complete_alert(client, alert, &err) != 0 ||
		    blo_client_publish_alert(client, alert, &r->correlation, &err) != 0) {
			r->line = result_line(lineno, alert != NULL && alert->id.len == BLO_ID_BYTES
							      ? alert->id.data
							      : NULL,
					      "rejected");
			cJSON_AddStringToObject(r->line, "reason",
						err.code == BLO_EVALIDATE ? "INVALID" : "MALFORMED");
			cJSON_AddStringToObject(r->line, "text", err.msg);
			r->done = true;
			r->correlation = 0;
			bad++;
		} else {
			r->line = result_line(lineno, alert->id.data, "unacknowledged");
		}
		blo_alert_free(&alert);
		/* Keep a bounded window in flight; collect acks as they come. */
		while (blo_client_pending(client) - refused_now >= WINDOW) {
			Blonet__Frame *f = NULL;

			if (blo_client_next(client, 1000, &f, &err) != 0) {
				fprintf(stderr, "blonet-pub: %s\n", err.msg);
				goto out;
			}
			on_frame(results, n, f, &ok, &bad);
			blo_message_free((ProtobufCMessage **)&f);
		}
		printed = flush_results(results, n, printed);
	}
	{
		int64_t deadline = blo_mono_ms() + (int64_t)timeout_s * 1000;

		while (blo_client_pending(client) > 0 && blo_mono_ms() < deadline) {
			Blonet__Frame *f = NULL;

			if (blo_client_next(client, 500, &f, &err) != 0) {
				fprintf(stderr, "blonet-pub: %s\n", err.msg);
				break;
			}
			on_frame(results, n, f, &ok, &bad);
			blo_message_free((ProtobufCMessage **)&f);
		}
	}
	/* What is left was never acknowledged: "rejected" if the broker refused
	 * every send of it (a full journal: certainly not stored), otherwise
	 * "unacknowledged" (a retry may yet be stored; publishing it again is
	 * safe, as a duplicate is acked as such). A refusal's reason stays on
	 * the line either way. */
	for (size_t i = 0; i < n; i++) {
		if (!results[i].done && results[i].correlation != 0 &&
		    blo_client_publish_refused(client, results[i].correlation))
			cJSON_ReplaceItemInObject(results[i].line, "status", cJSON_CreateString("rejected"));
		results[i].done = true;
	}
	printed = flush_results(results, n, printed);
	fprintf(stderr, "blonet-pub: %zu read, %zu accepted, %zu not accepted\n", n, ok, n - ok);
	exit_code = ok == n ? 0 : 1;
out:
	for (size_t i = printed; i < n; i++)
		cJSON_Delete(results[i].line);
	free(results);
	free(buf);
	blo_client_close(&client);
	if (in != stdin)
		fclose(in);
	return exit_code;
}

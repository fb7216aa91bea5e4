/*
 * account: what the demo's deployment did, read back from where it is
 * recorded (the brokers' journals and counters through blonetctl, the
 * committees' report.json) and from what the consoles showed, printed for
 * a reader and written as JSON for scripts and the demo's test.
 */
#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- counts */

int demo_counts_add(demo_counts_t *c, const char *key, size_t n)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].key, key) == 0) {
			c->v[i].n += n;
			return 0;
		}
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		demo_count_t *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		c->v = v;
		c->cap = cap;
	}
	snprintf(c->v[c->n].key, sizeof(c->v[c->n].key), "%s", key);
	c->v[c->n].n = n;
	c->n++;
	return 0;
}

size_t demo_counts_get(const demo_counts_t *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0)
			return c->v[i].n;
	return 0;
}

void demo_counts_free(demo_counts_t *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

int demo_times_add(demo_times_t *t, int64_t ms)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		int64_t *v = realloc(t->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = ms;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t demo_times_quantile(demo_times_t *t, double q)
{
	size_t rank;

	if (t->n == 0)
		return -1;
	qsort(t->v, t->n, sizeof(*t->v), cmp_i64);
	rank = (size_t)(q * (double)t->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > t->n)
		rank = t->n;
	return t->v[rank - 1];
}

void demo_times_free(demo_times_t *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* ---------------------------------------------------------------- collect */

static int stored_add(demo_t *d, size_t cap, const char *id, const cJSON *alert, size_t broker)
{
	const cJSON *origin = cJSON_GetObjectItemCaseSensitive(alert, "origin");
	const cJSON *rel = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(alert, "handling"), "releasable_to");
	const char *country = demo_json_str(origin, "country");
	demo_stored_t *s;
	const cJSON *cc;

	if (d->n_stored == cap)
		return -1;
	s = &d->stored[d->n_stored++];
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->origin_country, sizeof(s->origin_country), "%s", country);
	snprintf(s->origin_site, sizeof(s->origin_site), "%s", demo_json_str(origin, "site"));
	s->held_by = (uint64_t)1 << broker;
	s->national_only = true;
	cJSON_ArrayForEach(cc, rel)
		if (cJSON_IsString(cc) && strcmp(cc->valuestring, country) != 0)
			s->national_only = false;
	return 0;
}

static int cmp_stored(const void *a, const void *b)
{
	return strcmp(((const demo_stored_t *)a)->id, ((const demo_stored_t *)b)->id);
}

/* One line per record, as `blonetctl journal` prints them. */
static int read_journal(demo_t *d, size_t broker, const char *path, size_t *cap)
{
	demo_broker_t *b = &d->brokers[broker];
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t sz = 0;
	int rc = 0;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	while (rc == 0 && getline(&line, &sz, f) > 0) {
		cJSON *rec = cJSON_Parse(line);
		const cJSON *alert = cJSON_GetObjectItemCaseSensitive(rec, "alert");

		if (rec == NULL) {
			fprintf(stderr, "blonet-demo: %s: a line is not JSON\n", path);
			rc = -1;
		} else if (strcmp(demo_json_str(alert, "type"), "ALERT") == 0) {
			const char *country = demo_json_str(cJSON_GetObjectItemCaseSensitive(alert, "origin"),
						     "country");

			b->stored++;
			demo_counts_add(&b->by_origin, country, 1);
			if (d->n_stored == *cap) {
				size_t ncap = *cap ? 2 * *cap : 1024;
				demo_stored_t *v = realloc(d->stored, ncap * sizeof(*v));

				if (v == NULL) {
					rc = -1;
				} else {
					d->stored = v;
					*cap = ncap;
				}
			}
			if (rc == 0)
				rc = stored_add(d, *cap, demo_json_str(rec, "id"), alert, broker);
		}
		cJSON_Delete(rec);
	}
	free(line);
	fclose(f);
	return rc;
}

/* Sorts the stored records by id and merges each id's brokers into one. */
static void merge_stored(demo_t *d)
{
	size_t out = 0;

	if (d->n_stored == 0)
		return;
	qsort(d->stored, d->n_stored, sizeof(*d->stored), cmp_stored);
	for (size_t i = 1; i < d->n_stored; i++) {
		if (strcmp(d->stored[i].id, d->stored[out].id) == 0)
			d->stored[out].held_by |= d->stored[i].held_by;
		else
			d->stored[++out] = d->stored[i];
	}
	d->n_stored = out + 1;
}

int demo_collect(demo_t *d)
{
	size_t cap = 0;

	for (size_t i = 0; i < d->n_brokers; i++) {
		demo_broker_t *b = &d->brokers[i];
		char journal[PATH_MAX], status[PATH_MAX], audit[PATH_MAX];
		const char *jargs[] = {"-c", b->node.config, "journal", NULL};
		const char *sargs[] = {"-c", b->node.config, "status", NULL};
		const char *aargs[] = {"-c", b->node.config, "audit-verify", NULL};
		cJSON *st, *c;

		snprintf(journal, sizeof(journal), "%s/%s.jsonl", d->journals, b->node.pr->id);
		snprintf(status, sizeof(status), "%s/%s.status.json", d->journals, b->node.pr->id);
		snprintf(audit, sizeof(audit), "%s/%s.audit-verify.json", d->journals, b->node.pr->id);
		if (demo_run_tool(d, "blonetctl", jargs, journal, b->node.log, 60000) != 0 ||
		    demo_run_tool(d, "blonetctl", sargs, status, b->node.log, 60000) != 0) {
			fprintf(stderr, "blonet-demo: blonetctl could not read %s's journal; see %s\n",
				b->node.pr->id, b->node.log);
			return -1;
		}
		b->audit_ok = demo_run_tool(d, "blonetctl", aargs, audit, b->node.log, 60000) == 0;
		if (read_journal(d, i, journal, &cap) != 0)
			return -1;
		if ((st = demo_read_json(status, false)) != NULL) {
			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "counters"))
				if (cJSON_IsNumber(c))
					demo_counts_add(&b->counters, c->string, (size_t)c->valuedouble);
			cJSON_Delete(st);
		}
	}
	merge_stored(d);
	for (size_t i = 0; i < d->n_committees; i++) {
		demo_committee_t *m = &d->committees[i];
		char path[PATH_MAX];
		cJSON *r, *totals;

		snprintf(path, sizeof(path), "%s/report.json", m->report_dir);
		if ((r = demo_read_json(path, false)) == NULL)
			continue;
		totals = cJSON_GetObjectItemCaseSensitive(r, "totals");
		m->messages = (size_t)demo_json_num(totals, "messages");
		m->alerts = (size_t)demo_json_num(totals, "alerts");
		m->seizures = (size_t)demo_json_num(totals, "seizures");
		m->reply_pairs = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "reply_times"));
		m->report_ok = true;
		cJSON_Delete(r);
	}
	return 0;
}

/* ---------------------------------------------------------------- figures */

/* The countries of the deployment, in broker order, without repeats. */
static size_t countries(const demo_t *d, char out[][3], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_brokers && n < max; i++) {
		bool seen = false;

		for (size_t k = 0; k < n; k++)
			seen |= strcmp(out[k], d->brokers[i].node.pr->country) == 0;
		if (!seen)
			snprintf(out[n++], 3, "%s", d->brokers[i].node.pr->country);
	}
	return n;
}

/* Alerts of origin country held by a broker of country to. */
static size_t released_to(const demo_t *d, const char *origin, const char *to)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_stored; i++) {
		const demo_stored_t *s = &d->stored[i];
		bool held = false;

		if (strcmp(s->origin_country, origin) != 0)
			continue;
		for (size_t b = 0; b < d->n_brokers; b++)
			if ((s->held_by >> b & 1) && strcmp(d->brokers[b].node.pr->country, to) == 0)
				held = true;
		n += held;
	}
	return n;
}

typedef struct {
	size_t alerts;        /* distinct ALERTs of that origin country */
	size_t stayed;        /* held by no broker of another country */
	size_t stayed_national; /* of those, releasable to the origin country only */
	size_t national_left; /* releasable to the origin only, yet held abroad: must be 0 */
} origin_figures_t;

static origin_figures_t origin_figures(const demo_t *d, const char *country)
{
	origin_figures_t f = {0};

	for (size_t i = 0; i < d->n_stored; i++) {
		const demo_stored_t *s = &d->stored[i];
		bool abroad = false;

		if (strcmp(s->origin_country, country) != 0)
			continue;
		f.alerts++;
		for (size_t b = 0; b < d->n_brokers; b++)
			if ((s->held_by >> b & 1) && strcmp(d->brokers[b].node.pr->country, country) != 0)
				abroad = true;
		if (!abroad) {
			f.stayed++;
			f.stayed_national += s->national_only;
		} else if (s->national_only) {
			f.national_left++;
		}
	}
	return f;
}

typedef struct {
	size_t read, published, duplicate, rejected;
} agency_figures_t;

static agency_figures_t agency_figures(const demo_t *d, const char *country, const char *agency)
{
	agency_figures_t f = {0};

	for (size_t i = 0; i < d->n_agents; i++) {
		const demo_agent_t *a = &d->agents[i];

		if ((country != NULL && strcmp(a->node.pr->country, country) != 0) ||
		    (agency != NULL && strcmp(a->agency, agency) != 0))
			continue;
		f.read += a->read;
		f.published += a->published;
		f.duplicate += a->duplicate;
		f.rejected += a->rejected;
	}
	return f;
}

static const char *const agencies[] = {"customs", "immigration", "narcotics"};

static const char *first_reject(const demo_t *d, const char *country, const char *agency)
{
	for (size_t i = 0; i < d->n_agents; i++) {
		const demo_agent_t *a = &d->agents[i];

		if (strcmp(a->node.pr->country, country) == 0 && strcmp(a->agency, agency) == 0 &&
		    a->first_reject[0] != '\0')
			return a->first_reject;
	}
	return "";
}

static void print_ms(const char *label, int64_t ms)
{
	if (ms < 0)
		printf("%s -", label);
	else if (ms < 10000)
		printf("%s %lld ms", label, (long long)ms);
	else
		printf("%s %.1f s", label, (double)ms / 1000.0);
}

/* ---------------------------------------------------------------- print */

/* One BLO's line of section 2. */
static void print_blo(const demo_t *d, const demo_console_t *c, char cc[][3], size_t n_cc)
{
	const char *me = c->node.pr->site, *country = c->node.pr->country;
	size_t own = demo_counts_get(&c->from, me);
	size_t across = c->counterpart[0] ? demo_counts_get(&c->from, c->counterpart) : 0;
	size_t home = 0;
	bool first = true;

	for (size_t k = 0; k < c->from.n; k++) {
		const char *site = c->from.v[k].key;

		if (strcmp(site, me) != 0 && strcmp(site, c->counterpart) != 0 &&
		    blo_registry_site_in_country(d->reg, site, country))
			home += c->from.v[k].n;
	}
	printf("  %-16s %-30.30s %5zu %5zu %12zu %8zu  ", me, c->crossing, c->alerts, own, across,
	       home);
	for (size_t i = 0; i < n_cc; i++) {
		size_t n = 0;

		if (strcmp(cc[i], country) == 0)
			continue;
		for (size_t k = 0; k < c->from.n; k++) {
			const char *site = c->from.v[k].key;

			if (strcmp(site, c->counterpart) != 0 &&
			    blo_registry_site_in_country(d->reg, site, cc[i]))
				n += c->from.v[k].n;
		}
		if (n > 0) {
			printf("%s%s %zu", first ? "" : ", ", cc[i], n);
			first = false;
		}
	}
	printf("%s\n", first ? "-" : "");
}

void demo_account_print(demo_t *d)
{
	char cc[64][3];
	size_t n_cc = countries(d, cc, 64);
	demo_times_t all = {0};
	size_t acks_sent = 0, acks_in = 0;

	printf("== 1. Published by the agencies ==\n"
	       "Each record was normalized by its agency's adapter, signed by the agent, and\n"
	       "acknowledged by its national broker only after a synced commit.\n\n");
	printf("  %-8s %-12s %6s %10s %9s  %s\n", "country", "agency", "read", "published", "rejected",
	       "why the first rejected record was refused");
	for (size_t i = 0; i < n_cc; i++) {
		for (size_t k = 0; k < 3; k++) {
			agency_figures_t f = agency_figures(d, cc[i], agencies[k]);

			if (f.read == 0 && f.rejected == 0)
				continue;
			printf("  %-8s %-12s %6zu %10zu %9zu  %.70s\n", cc[i], agencies[k], f.read,
			       f.published + f.duplicate, f.rejected, first_reject(d, cc[i], agencies[k]));
		}
	}
	{
		agency_figures_t f = agency_figures(d, NULL, NULL);

		printf("  %-21s %6zu %10zu %9zu  (full reasons: logs/*.rejects.jsonl)\n\n", "total",
		       f.read, f.published + f.duplicate, f.rejected);
	}

	printf("== 2. What each BLO received, and from where ==\n"
	       "ALERTs shown on the BLO's console, signature verified: from its own agencies,\n"
	       "from its counterpart across the border, from other BLOs of its country, and\n"
	       "from other BLOs abroad (TLP:AMBER may go to every BLO of a receiving country).\n\n");
	printf("  %-16s %-30s %5s %5s %12s %8s  %s\n", "BLO", "crossing", "all", "own",
	       "counterpart", "country", "abroad");
	for (size_t i = 0; i < d->n_consoles; i++)
		print_blo(d, &d->consoles[i], cc, n_cc);
	printf("\n");

	printf("== 3. What crossed borders, and what stayed inside its country ==\n"
	       "From the brokers' journals: a broker holds an alert only if its country may\n"
	       "receive it (releasable_to, TLP, operation).\n\n");
	for (size_t i = 0; i < n_cc; i++) {
		origin_figures_t f = origin_figures(d, cc[i]);

		printf("  %s: %zu alerts; stayed in %s: %zu (%zu marked releasable to %s only)",
		       cc[i], f.alerts, cc[i], f.stayed, f.stayed_national, cc[i]);
		for (size_t k = 0; k < n_cc; k++) {
			if (k == i)
				continue;
			printf("; to %s: %zu", cc[k], released_to(d, cc[i], cc[k]));
		}
		if (f.national_left > 0)
			printf("  ** %zu NOT RELEASED YET HELD ABROAD **", f.national_left);
		printf("\n");
	}
	printf("\n");

	printf("== 4. Acknowledgements and requests across the border ==\n"
	       "Officers acknowledged every alert addressed to their BLO from across the\n"
	       "border; times run from the agency's sending of the alert to the ACK.\n\n");
	for (size_t i = 0; i < d->n_consoles; i++) {
		demo_console_t *c = &d->consoles[i];

		acks_sent += c->acks_sent;
		acks_in += c->acks_received;
		for (size_t k = 0; k < c->ack_ms.n; k++)
			demo_times_add(&all, c->ack_ms.v[k]);
		if (c->acks_received == 0)
			continue;
		printf("  %-16s acknowledged by", c->node.pr->site);
		for (size_t k = 0; k < c->ack_from.n; k++)
			printf("%s %s (%zu)", k ? "," : "", c->ack_from.v[k].key, c->ack_from.v[k].n);
		print_ms(":", demo_times_quantile(&c->ack_ms, 0.5));
		printf(" median,");
		print_ms("", demo_times_quantile(&c->ack_ms, 0.9));
		printf(" p90\n");
	}
	printf("  all: %zu ACKs sent, %zu arrived", acks_sent, acks_in);
	print_ms("; median", demo_times_quantile(&all, 0.5));
	print_ms(", p90", demo_times_quantile(&all, 0.9));
	print_ms(", max", demo_times_quantile(&all, 1.0));
	printf("\n");
	demo_times_free(&all);
	for (size_t i = 0; i < d->n_consoles; i++) {
		demo_console_t *c = &d->consoles[i];

		if (!c->rfi_sent)
			continue;
		printf("  RFI %s -> %s: ", c->node.pr->site, c->counterpart);
		if (c->rfi_answered)
			print_ms("answered in", c->rfi_took_ms);
		else
			printf("not answered");
		printf("\n");
	}
	for (size_t i = 0; i < d->n_consoles; i++)
		if (d->consoles[i].refused > 0)
			printf("  %s: %zu publishes refused, last: %s\n", d->consoles[i].node.pr->id,
			       d->consoles[i].refused, d->consoles[i].last_refusal);
	printf("\n");

	printf("== 5. National committees ==\n\n");
	for (size_t i = 0; i < d->n_committees; i++) {
		demo_committee_t *m = &d->committees[i];

		if (!m->report_ok) {
			printf("  %-16s no report (see logs/%s.log)\n", m->node.pr->id, m->node.pr->id);
			continue;
		}
		printf("  %-16s %zu messages, %zu alerts, %zu seizures, %zu reply-time rows "
		       "(by kind and BLO pair)\n"
		       "  %-16s reports: %s/report.html (also report.json and CSV tables)\n",
		       m->node.pr->id, m->messages, m->alerts, m->seizures, m->reply_pairs, "",
		       m->report_dir);
	}
	printf("\n");

	printf("== 6. National brokers ==\n\n");
	for (size_t i = 0; i < d->n_brokers; i++) {
		demo_broker_t *b = &d->brokers[i];

		printf("  %-12s %4zu alerts stored (", b->node.pr->id, b->stored);
		for (size_t k = 0; k < b->by_origin.n; k++)
			printf("%s%s %zu", k ? ", " : "", b->by_origin.v[k].key, b->by_origin.v[k].n);
		printf("); accepted %zu, duplicate %zu, rejected %zu, delivered %zu, from peers %zu; "
		       "audit chain %s\n",
		       demo_counts_get(&b->counters, "accepted"),
		       demo_counts_get(&b->counters, "duplicate"),
		       demo_counts_get(&b->counters, "rejected"),
		       demo_counts_get(&b->counters, "delivered"),
		       demo_counts_get(&b->counters, "received_from_peers"),
		       b->audit_ok ? "verified" : "DID NOT VERIFY");
	}
	printf("\n%s in %.1f s.\n",
	       d->settled ? "Settled: no broker had anything left to forward, and every ACK and "
			    "answer the officers sent came back"
			  : "NOT settled in time: see the logs",
	       (double)(blo_now_ms() - d->started_ms) / 1000.0);
}

/* ---------------------------------------------------------------- JSON */

static cJSON *counts_json(const demo_counts_t *c)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; i < c->n; i++)
		cJSON_AddNumberToObject(o, c->v[i].key, (double)c->v[i].n);
	return o;
}

int demo_account_write(demo_t *d, const char *path)
{
	cJSON *root = cJSON_CreateObject(), *pub, *bros, *origins, *blos, *acks, *rfis, *coms;
	char cc[64][3];
	size_t n_cc = countries(d, cc, 64);
	size_t acks_sent = 0, acks_in = 0, rfis_answered = 0;
	char *text;
	int rc;

	cJSON_AddStringToObject(root, "topology", d->topology);
	cJSON_AddStringToObject(root, "dir", d->work);
	cJSON_AddBoolToObject(root, "settled", d->settled);
	pub = cJSON_AddObjectToObject(root, "published");
	for (size_t i = 0; i < n_cc; i++) {
		cJSON *c = cJSON_AddObjectToObject(pub, cc[i]);

		for (size_t k = 0; k < 3; k++) {
			agency_figures_t f = agency_figures(d, cc[i], agencies[k]);
			cJSON *a = cJSON_AddObjectToObject(c, agencies[k]);

			cJSON_AddNumberToObject(a, "read", (double)f.read);
			cJSON_AddNumberToObject(a, "published", (double)(f.published + f.duplicate));
			cJSON_AddNumberToObject(a, "rejected", (double)f.rejected);
		}
	}
	origins = cJSON_AddObjectToObject(root, "origins");
	for (size_t i = 0; i < n_cc; i++) {
		origin_figures_t f = origin_figures(d, cc[i]);
		cJSON *o = cJSON_AddObjectToObject(origins, cc[i]), *to;

		cJSON_AddNumberToObject(o, "alerts", (double)f.alerts);
		cJSON_AddNumberToObject(o, "stayed", (double)f.stayed);
		cJSON_AddNumberToObject(o, "stayed_national", (double)f.stayed_national);
		cJSON_AddNumberToObject(o, "national_held_abroad", (double)f.national_left);
		to = cJSON_AddObjectToObject(o, "released_to");
		for (size_t k = 0; k < n_cc; k++)
			if (k != i)
				cJSON_AddNumberToObject(to, cc[k], (double)released_to(d, cc[i], cc[k]));
	}
	blos = cJSON_AddObjectToObject(root, "blos");
	for (size_t i = 0; i < d->n_consoles; i++) {
		demo_console_t *c = &d->consoles[i];
		cJSON *b = cJSON_AddObjectToObject(blos, c->node.pr->site);

		acks_sent += c->acks_sent;
		acks_in += c->acks_received;
		rfis_answered += c->rfi_answered;
		cJSON_AddStringToObject(b, "console", c->node.pr->id);
		cJSON_AddNumberToObject(b, "alerts", (double)c->alerts);
		cJSON_AddItemToObject(b, "from", counts_json(&c->from));
		cJSON_AddNumberToObject(b, "acks_sent", (double)c->acks_sent);
		cJSON_AddNumberToObject(b, "acks_received", (double)c->acks_received);
		cJSON_AddNumberToObject(b, "ack_median_ms", (double)demo_times_quantile(&c->ack_ms, 0.5));
		cJSON_AddBoolToObject(b, "rfi_sent", c->rfi_sent);
		cJSON_AddBoolToObject(b, "rfi_answered", c->rfi_answered);
		cJSON_AddNumberToObject(b, "rfis_received", (double)c->rfis_received);
		cJSON_AddNumberToObject(b, "refused", (double)c->refused);
	}
	acks = cJSON_AddObjectToObject(root, "acks");
	cJSON_AddNumberToObject(acks, "sent", (double)acks_sent);
	cJSON_AddNumberToObject(acks, "received", (double)acks_in);
	rfis = cJSON_AddObjectToObject(root, "rfis");
	cJSON_AddNumberToObject(rfis, "sent", (double)d->rfis_sent);
	cJSON_AddNumberToObject(rfis, "answered", (double)rfis_answered);
	bros = cJSON_AddObjectToObject(root, "brokers");
	for (size_t i = 0; i < d->n_brokers; i++) {
		demo_broker_t *b = &d->brokers[i];
		cJSON *o = cJSON_AddObjectToObject(bros, b->node.pr->id);

		cJSON_AddStringToObject(o, "country", b->node.pr->country);
		cJSON_AddNumberToObject(o, "alerts", (double)b->stored);
		cJSON_AddItemToObject(o, "by_origin", counts_json(&b->by_origin));
		cJSON_AddItemToObject(o, "counters", counts_json(&b->counters));
		cJSON_AddBoolToObject(o, "audit_ok", b->audit_ok);
	}
	coms = cJSON_AddObjectToObject(root, "committees");
	for (size_t i = 0; i < d->n_committees; i++) {
		demo_committee_t *m = &d->committees[i];
		cJSON *o = cJSON_AddObjectToObject(coms, m->node.pr->id);

		cJSON_AddStringToObject(o, "country", m->node.pr->country);
		cJSON_AddStringToObject(o, "report_dir", m->report_dir);
		cJSON_AddBoolToObject(o, "report", m->report_ok);
		cJSON_AddNumberToObject(o, "messages", (double)m->messages);
		cJSON_AddNumberToObject(o, "alerts", (double)m->alerts);
		cJSON_AddNumberToObject(o, "seizures", (double)m->seizures);
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (text == NULL)
		return -1;
	rc = blo_write_file_atomic(path, text, strlen(text), 0644);
	if (rc != 0)
		fprintf(stderr, "blonet-demo: %s: %s\n", path, blo_strerror(rc));
	free(text);
	return rc == 0 ? 0 : -1;
}

/*
 * blo_committee_node: the committee's subscription feeding its aggregate
 * store (see blo_committee_node.h).
 */
#include "blo_committee_node.h"

#include "blo_client.h"
#include "blo_codec.h"
#include "blo_committee_report.h"
#include "blo_envelope.h"
#include "blo_log.h"
#include "blo_registry.h"
#include "blo_settings.h"
#include "blo_util.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DURABLE "committee"
#define BATCH_MAX 256

struct blo_committee_node {
	blo_client_settings_t settings;
	blo_client_t *client;
	blo_registry_t *registry_owned;
	const blo_registry_t *registry;
	blo_principal_t me;
	blo_committee_t *store;
	char *durable;
	char *report_dir;
	blo_committee_node_stats_t stats;
};

/* Retention of the per-message index, when due (hourly). */
static int prune_due(blo_committee_node_t *self, blo_err_t *err)
{
	uint64_t forgotten = 0;
	int rc = blo_committee_prune_due(self->store, &forgotten, err);

	if (forgotten > 0)
		blo_info("committee.forgotten", "%llu messages left the per-message index (--keep-days)",
			 (unsigned long long)forgotten);
	self->stats.forgotten += forgotten;
	return rc;
}

int blo_committee_node_open(blo_committee_node_t **out, const blo_committee_node_opts_t *opts,
			    blo_err_t *err)
{
	blo_committee_node_t *self;
	const blo_principal_t *me;
	char *dir = NULL;
	int rc;

	*out = NULL;
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->durable = strdup(opts->durable != NULL && opts->durable[0] ? opts->durable : DEFAULT_DURABLE);
	if (self->durable == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = blo_client_settings_load(&self->settings, opts->config, err)) != 0)
		goto fail;
	if (opts->offline) {
		uint8_t authority[BLO_SIGN_PUBLIC_BYTES];

		if ((rc = blo_settings_authority(self->settings.authority, authority, err)) != 0 ||
		    (rc = blo_registry_load(&self->registry_owned, self->settings.registry, authority,
					    err)) != 0)
			goto fail;
		self->registry = self->registry_owned;
	} else {
		if ((rc = blo_client_open_config(&self->client, opts->config, "blonet-committee", err)) != 0)
			goto fail;
		self->registry = blo_client_registry(self->client);
	}
	me = blo_registry_find(self->registry, self->settings.id);
	if (me == NULL || me->role != BLO_ROLE_COMMITTEE) {
		rc = blo_err_set(err, BLO_EPERM, "%s: %s is %s, not a committee", opts->config,
				 self->settings.id, me == NULL ? "not in the registry" : blo_role_name(me->role));
		goto fail;
	}
	self->me = *me;
	if (self->settings.data_dir == NULL) {
		rc = blo_err_set(err, BLO_ECONFIG, "%s: no data_dir for the committee's store", opts->config);
		goto fail;
	}
	if (asprintf(&dir, "%s/committee", self->settings.data_dir) < 0 ||
	    asprintf(&self->report_dir, "%s/reports", self->settings.data_dir) < 0) {
		dir = NULL;
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = blo_committee_open(&self->store, dir, &opts->store, err)) != 0)
		goto fail;
	/* Offline (--report) only reads: retention runs in the live node. */
	if (!opts->offline && (rc = prune_due(self, err)) != 0)
		goto fail;
	if (!opts->offline &&
	    (rc = blo_client_subscribe(self->client, self->durable, NULL, BLONET__START_AT__START_LAST_ACKED,
				       0, 0, BATCH_MAX, err)) != 0)
		goto fail;
	free(dir);
	*out = self;
	return 0;
fail:
	free(dir);
	blo_committee_node_close(&self);
	return rc;
}

void blo_committee_node_close(blo_committee_node_t **self_p)
{
	blo_committee_node_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	if (self->client != NULL) {
		/* Let the last acknowledgements leave before the socket closes. */
		Blonet__Frame *f = NULL;

		blo_client_next(self->client, 50, &f, NULL);
		blo_message_free((ProtobufCMessage **)&f);
	}
	blo_client_close(&self->client);
	blo_registry_destroy(&self->registry_owned);
	blo_committee_close(&self->store);
	blo_client_settings_free(&self->settings);
	free(self->durable);
	free(self->report_dir);
	free(self);
	*self_p = NULL;
}

typedef struct {
	Blonet__Frame *frame;
	Blonet__Envelope *env;
	Blonet__Alert *alert;
} delivery_t;

int blo_committee_node_poll(blo_committee_node_t *self, int timeout_ms, size_t *taken,
			    blo_err_t *err)
{
	delivery_t *d = NULL;
	blo_committee_input_t *in = NULL;
	uint64_t *seqs = NULL;
	size_t n = 0, n_in = 0;
	int rc = 0;

	assert(self != NULL);
	if (taken != NULL)
		*taken = 0;
	if (self->client == NULL)
		return blo_err_set(err, BLO_EPERM, "the committee is offline");
	d = calloc(BATCH_MAX, sizeof(*d));
	in = calloc(BATCH_MAX, sizeof(*in));
	seqs = calloc(BATCH_MAX, sizeof(*seqs));
	if (d == NULL || in == NULL || seqs == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto out;
	}
	for (int wait = timeout_ms; n < BATCH_MAX; wait = 0) {
		Blonet__Frame *f = NULL;

		if ((rc = blo_client_next(self->client, wait, &f, err)) != 0 || f == NULL)
			break;
		if (f->body_case == BLONET__FRAME__BODY_DELIVER) {
			d[n++].frame = f;
			continue;
		}
		if (f->body_case == BLONET__FRAME__BODY_ERROR)
			blo_warn("committee.broker_error", "broker: %s", f->error->text);
		blo_message_free((ProtobufCMessage **)&f);
	}
	for (size_t i = 0; i < n; i++) {
		const Blonet__Deliver *dv = d[i].frame->deliver;
		blo_err_t verr = {0};
		bool verified;
		int prc;

		seqs[i] = dv->seq;
		prc = blo_envelope_parse(&d[i].env, dv->envelope.data, dv->envelope.len, &verr);
		if (prc == 0)
			prc = blo_alert_parse(&d[i].alert, d[i].env->alert.data, d[i].env->alert.len,
					      &verr);
		if (prc != BLO_ENOMEM && (prc != 0 || d[i].alert->id.len != BLO_ID_BYTES)) {
			blo_error("committee.unreadable", "delivery %llu does not parse: %s",
				  (unsigned long long)dv->seq, verr.msg);
			self->stats.unreadable++;
			continue;
		}
		if (prc == 0)
			prc = blo_envelope_verify(d[i].env, self->registry, NULL, NULL, &verr);
		if (prc == BLO_ENOMEM) {
			/* Not the delivery's fault: none of the batch is
			 * acknowledged, and the broker delivers it again. */
			rc = blo_err_set(err, BLO_ENOMEM, "delivery %llu: %s: the batch is left "
				   "for the broker to deliver again", (unsigned long long)dv->seq, verr.msg);
			goto out;
		}
		verified = prc == 0;
		if (!verified)
			blo_warn("committee.unverified", "delivery %llu: %s", (unsigned long long)dv->seq,
				 verr.msg);
		in[n_in].alert = d[i].alert;
		in[n_in].verified = verified;
		n_in++;
	}
	if (n_in > 0) {
		int irc = blo_committee_ingest(self->store, in, n_in, err);

		if (irc != 0) {
			rc = irc; /* nothing acknowledged: the broker delivers again */
			if (irc == BLO_EFULL)
				prune_due(self, NULL); /* room may come from forgetting */
			goto out;
		}
		self->stats.batches++;
		for (size_t i = 0; i < n_in; i++) {
			if (in[i].result == BLO_COMMITTEE_COUNTED)
				self->stats.counted++;
			else if (in[i].result == BLO_COMMITTEE_DUPLICATE)
				self->stats.duplicates++;
			else
				self->stats.unverified++;
		}
	}
	/* Committed and synced: now the broker may forget them. */
	if (n > 0)
		blo_client_ack(self->client, self->durable, seqs, n, NULL);
	if (taken != NULL)
		*taken = n;
	if (rc == 0)
		rc = prune_due(self, err);
out:
	for (size_t i = 0; d != NULL && i < n; i++) {
		blo_alert_free(&d[i].alert);
		blo_envelope_free(&d[i].env);
		blo_message_free((ProtobufCMessage **)&d[i].frame);
	}
	free(d);
	free(in);
	free(seqs);
	return rc;
}

int blo_committee_node_report(blo_committee_node_t *self, const char *dir, blo_err_t *err)
{
	blo_committee_snapshot_t snap;
	blo_committee_report_info_t info = {
		.committee = self->me.id, .country = self->me.country, .generated_ms = blo_now_ms()};
	int rc;

	if ((rc = blo_committee_snapshot(self->store, &snap, err)) != 0)
		return rc;
	rc = blo_committee_report_write(&snap, &info, dir != NULL ? dir : self->report_dir, err);
	blo_committee_snapshot_free(&snap);
	return rc;
}

const char *blo_committee_node_report_dir(const blo_committee_node_t *self)
{
	return self->report_dir;
}

blo_committee_t *blo_committee_node_store(blo_committee_node_t *self)
{
	return self->store;
}

void blo_committee_node_stats(const blo_committee_node_t *self, blo_committee_node_stats_t *out)
{
	*out = self->stats;
}

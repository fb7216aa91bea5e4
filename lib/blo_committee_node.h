/*
 * blo_committee_node: a national committee on the bus. It subscribes
 * durably as the committee principal of a client settings file (the broker
 * sends it everything its country may see, including what other countries
 * released to it), verifies each delivery against the registry, takes a
 * batch into its aggregate store (blo_committee, in the settings' data_dir
 * under "committee/") in one transaction, and only then acknowledges the
 * batch to the broker. Reports are written from the store on demand.
 * While online it runs the store's retention (opts.store.keep_days) when it
 * opens and hourly (blo_committee_prune_due).
 */
#ifndef BLO_COMMITTEE_NODE_H
#define BLO_COMMITTEE_NODE_H

#include "blo_committee.h"
#include "blo_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct blo_committee_node blo_committee_node_t;

typedef struct {
	const char *config;         /* the committee's client settings file */
	const char *durable;        /* durable subscription name; NULL: "committee" */
	blo_committee_opts_t store; /* week offset, keep_days, store_mb */
	bool offline;               /* open the store only: no broker */
} blo_committee_node_opts_t;

typedef struct {
	uint64_t batches;      /* transactions committed */
	uint64_t counted;      /* messages counted */
	uint64_t duplicates;   /* deliveries of messages already counted */
	uint64_t unverified;   /* deliveries whose signature did not verify */
	uint64_t unreadable;   /* deliveries that did not parse (acknowledged, logged) */
	uint64_t forgotten;    /* messages retention took out of the per-message index */
} blo_committee_node_stats_t;

/* Opens the node (settings, registry, store; unless offline: connects and
 * subscribes, resuming after the last acknowledged delivery). *out is the
 * caller's: close with blo_committee_node_close. */
int blo_committee_node_open(blo_committee_node_t **out, const blo_committee_node_opts_t *opts,
			    blo_err_t *err);
void blo_committee_node_close(blo_committee_node_t **self_p);

/* Waits up to timeout_ms for deliveries, then takes in what arrived (up to
 * a batch) in one transaction and acknowledges it. *taken (optional):
 * deliveries handled. Returns 0, BLO_EPERM when the broker refuses the key,
 * or the store's error (nothing acknowledged: the broker delivers again). */
int blo_committee_node_poll(blo_committee_node_t *self, int timeout_ms, size_t *taken,
			    blo_err_t *err);

/* Writes the reports (blo_committee_report_write) into dir, or, when dir is
 * NULL, into the settings' data_dir under "reports/". */
int blo_committee_node_report(blo_committee_node_t *self, const char *dir, blo_err_t *err);

/* The folder reports go to when none is given. Borrowed. */
const char *blo_committee_node_report_dir(const blo_committee_node_t *self);
blo_committee_t *blo_committee_node_store(blo_committee_node_t *self);
void blo_committee_node_stats(const blo_committee_node_t *self, blo_committee_node_stats_t *out);

#endif

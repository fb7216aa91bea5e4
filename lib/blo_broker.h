/*
 * blo_broker: the national broker. Authenticates every client through the
 * registry (CurveZMQ + ZAP, fail-closed), verifies and authorizes every
 * publish, stores it durably with group commit before acknowledging, and
 * delivers it from durable cursors to every subscriber the delivery policy
 * allows. blonet-broker is a thin program around this module.
 *
 * Threads: the caller's thread runs the I/O loop (the ROUTER socket,
 * sessions, subscriptions, deliveries); verify workers (one per core by
 * default) check signatures off the I/O path; one writer thread owns every
 * journal write (publishes, cursors, audit) and commits them in batches.
 */
#ifndef BLO_BROKER_H
#define BLO_BROKER_H

#include "blo_err.h"
#include "blo_settings.h"

#include <stddef.h>
#include <stdint.h>

typedef struct blo_broker blo_broker_t;

/* Opens the broker described by settings: loads its identity and the
 * registry (verified with the authority key), opens the journal, starts the
 * ZAP handler and binds the listen endpoints. Refuses to start if any of
 * these fails, naming what and why; BLO_EOLDER when the registry is older
 * than the newest this broker has accepted before (kept in its journal),
 * since an older registry could undo a revocation. settings is copied
 * where needed.
 * *out is the caller's: blo_broker_close. */
int blo_broker_open(blo_broker_t **out, const blo_broker_settings_t *settings, blo_err_t *err);

/* Serves until blo_broker_request_stop: then stops taking publishes,
 * commits and acknowledges what it holds, and returns 0. Returns an error
 * only if it may not or cannot go on, having logged why: BLO_EREVOKED when
 * a reloaded registry revokes this broker or no longer lists it as a
 * broker; BLO_EKEY when it gives this broker keys other than those of the
 * identity it runs with (restart it with the new identity); BLO_ECORRUPT
 * when the journal failed. Both registry cases drain as a stop does. */
int blo_broker_run(blo_broker_t *self);

/* Async-signal-safe requests to the running loop: stop (SIGTERM, SIGINT)
 * and reload the registry (SIGHUP). */
void blo_broker_request_stop(blo_broker_t *self);
void blo_broker_request_reload(blo_broker_t *self);

/* Stops every thread, closes sockets and the journal, frees, and sets
 * *self_p to NULL. NULL: nothing. */
void blo_broker_close(blo_broker_t **self_p);

/* The endpoints actually bound (after wildcard ports), for logs and tests.
 * Borrowed. */
const char *blo_broker_endpoint(const blo_broker_t *self, size_t i);

/* Group commit under load. Every synced commit costs far more than the
 * publishes it carries (copy-on-write pages, two syncs, then the wake-ups
 * of every thread and client its acks reach), so a busy writer lets its
 * batch gather before committing. Given the rate at which publishes reached
 * the writer lately (per second), the publishes in the batch, those `coming`
 * (handed to the verify workers, not yet in the batch), what is left of the
 * hold limit and max_batch: how long to wait for more, in ns. 0 (commit
 * now) unless at least BLO_COMMIT_HOLD_MIN_JOIN more would come in the time
 * left at that rate: so a quiet broker's publish is never held, nor a batch
 * once nothing more is on its way (a client that waits for its acks before
 * sending more). Else the time the rate needs to bring what is coming (up
 * to max_batch), within the time left. Pure; exposed for its unit test. */
#define BLO_COMMIT_HOLD_MIN_JOIN 32
int64_t blo_commit_hold_ns(double rate_per_s, size_t publishes, uint64_t coming, int64_t left_ns,
			   size_t max_batch);

#endif

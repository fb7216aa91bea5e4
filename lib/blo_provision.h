/*
 * blo_provision: a whole deployment from one topology file: the regional
 * authority key, every broker's and principal's identity, the signed
 * registry and one configuration file per process. deploy/TOPOLOGY.md
 * documents the topology format and the output layout field by field.
 *
 * Output under the out folder:
 *   authority/authority.secret.json (0600), authority/authority.public.json
 *   registry.json                   signed with the authority key
 *   ID/identity.secret.json (0600), ID/identity.public.json,
 *   ID/config.json (0644)           for every broker and every principal
 * DIR itself is made 0755 when absent; the folders made in it are 0700
 * (they hold secrets).
 *
 * Re-running is safe and converges: existing identities (and the authority)
 * are kept, new principals get new ones, ports picked for "port 0" listen
 * endpoints are reused from the broker's existing config.json, revocations
 * recorded in the existing registry stay, and the registry is rewritten
 * (version + 1) only when its content changes.
 */
#ifndef BLO_PROVISION_H
#define BLO_PROVISION_H

#include "blo_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one run may change beyond what the topology says. Lists are
 * borrowed for the call; ids must be brokers or principals of the topology
 * (BLO_EINVAL otherwise). An id may not be both revoked and reinstated. */
typedef struct {
	const char *const *rotate; /* new identities for these ids */
	size_t n_rotate;
	const char *const *revoke; /* mark "revoked": true in the registry, entry kept */
	size_t n_revoke;
	const char *const *reinstate; /* clear a revocation recorded earlier */
	size_t n_reinstate;
} blo_provision_opts_t;

/* What a run did, for the summary a program prints. */
typedef struct {
	char name[128];            /* the topology's "name" (cut short if longer) */
	size_t n_brokers;          /* entries of "brokers" */
	size_t n_principals;       /* entries of "principals" (brokers not counted) */
	size_t n_generated;        /* identities made this run, rotated ones included */
	size_t n_rotated;          /* of those, replacing an existing identity */
	size_t n_revoked;          /* registry entries marked revoked after the run */
	size_t n_ports_picked;     /* port-0 endpoints given a new free port this run */
	bool authority_generated;  /* the authority key is new */
	bool registry_changed;     /* registry.json was (re)written */
	uint64_t registry_version; /* version of registry.json after the run */
} blo_provision_report_t;

/* Provisions the deployment described by the topology file at
 * topology_path into out_dir (made if absent). opts may be NULL (nothing to
 * rotate, revoke or reinstate); report may be NULL.
 *
 * Nothing is written until the topology has been validated completely;
 * configuration files are checked with the programs' own loaders
 * (blo_broker_settings_load, blo_client_settings_load) before they replace
 * the old ones, and the registry is written last.
 *
 * Returns 0, or:
 *   BLO_ECONFIG  the topology is wrong; err names the file, the entry and
 *                the field, e.g. `mekong.json: principals[3]
 *                ("th-customs-maesai"): field "broker": "la-broker" is in LA,
 *                not in the principal's country TH`
 *   BLO_EINVAL   opts names an id that the topology does not
 *   BLO_EKEY     an existing key file cannot be used (unsafe mode, malformed,
 *                another principal's), or the registry exists without the
 *                authority key that signed it
 *   BLO_ESIGNATURE, BLO_EVALIDATE, ...  the existing registry.json does not
 *                verify under the kept authority key
 *   -errno       a file or folder cannot be read or written (err names it)
 *   BLO_ENOMEM */
int blo_provision_run(const char *topology_path, const char *out_dir,
		      const blo_provision_opts_t *opts, blo_provision_report_t *report,
		      blo_err_t *err);

#endif

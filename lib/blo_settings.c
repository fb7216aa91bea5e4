/*
 * blo_settings: schemas and defaults of the broker's and the clients'
 * configuration files.
 */
#include "blo_settings.h"

#include "blo_util.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const blo_log_level_names[] = {"debug", "info", "warn", "error", NULL};

#define AUTHORITY_EXPECT "the regional authority's Ed25519 public key, 64 hex digits"

static const blo_cfg_field_t peer_fields[] = {
	{.key = "id", .type = BLO_CFG_STRING, .required = true,
	 .offset = offsetof(blo_peer_settings_t, id), .expect = "a principal id"},
	{.key = "endpoint", .type = BLO_CFG_STRING, .required = true,
	 .offset = offsetof(blo_peer_settings_t, endpoint), .expect = "a ZeroMQ endpoint such as tcp://host:port"},
	{0},
};


static const blo_cfg_field_t journal_fields[] = {
	{.key = "map_size_mb", .type = BLO_CFG_INT, .offset = offsetof(blo_journal_settings_t, map_size_mb),
	 .min = 1, .max = 1 << 24},
	{.key = "max_age_hours", .type = BLO_CFG_INT, .offset = offsetof(blo_journal_settings_t, max_age_hours),
	 .min = 0, .max = 24 * 365 * 100},
	{.key = "max_count", .type = BLO_CFG_INT, .offset = offsetof(blo_journal_settings_t, max_count),
	 .min = 0, .max = INT64_C(1) << 50},
	{.key = "max_size_mb", .type = BLO_CFG_INT, .offset = offsetof(blo_journal_settings_t, max_size_mb),
	 .min = 0, .max = 1 << 24},
	{0},
};

static const blo_cfg_field_t audit_fields[] = {
	{.key = "max_age_hours", .type = BLO_CFG_INT, .offset = offsetof(blo_audit_settings_t, max_age_hours),
	 .min = 0, .max = 24 * 365 * 100},
	{.key = "max_records", .type = BLO_CFG_INT, .offset = offsetof(blo_audit_settings_t, max_records),
	 .min = 0, .max = INT64_C(1) << 50},
	{.key = "archive_dir", .type = BLO_CFG_PATH, .offset = offsetof(blo_audit_settings_t, archive_dir),
	 .expect = "the folder the oldest audit records move to"},
	{0},
};

static const blo_cfg_field_t limit_fields[] = {
	{.key = "max_message_bytes", .type = BLO_CFG_INT, .offset = offsetof(blo_limit_settings_t, max_message_bytes),
	 .min = 1024, .max = 16 * 1024 * 1024},
	{.key = "max_in_flight", .type = BLO_CFG_INT, .offset = offsetof(blo_limit_settings_t, max_in_flight),
	 .min = 1, .max = 65536},
	{.key = "max_batch", .type = BLO_CFG_INT, .offset = offsetof(blo_limit_settings_t, max_batch),
	 .min = 1, .max = 100000},
	{.key = "commit_hold_us", .type = BLO_CFG_INT, .offset = offsetof(blo_limit_settings_t, commit_hold_us),
	 .min = 0, .max = 1000000},
	{.key = "verify_threads", .type = BLO_CFG_INT, .offset = offsetof(blo_limit_settings_t, verify_threads),
	 .min = 0, .max = 256},
	{.key = "heartbeat_ms", .type = BLO_CFG_INT, .offset = offsetof(blo_limit_settings_t, heartbeat_ms),
	 .min = 100, .max = 600000},
	{.key = "mesh_resend_ms", .type = BLO_CFG_INT, .offset = offsetof(blo_limit_settings_t, mesh_resend_ms),
	 .min = 100, .max = 600000},
	{.key = "mesh_give_up_s", .type = BLO_CFG_INT, .offset = offsetof(blo_limit_settings_t, mesh_give_up_s),
	 .min = 1, .max = 30 * 86400},
	{.key = "memory_mb", .type = BLO_CFG_INT, .offset = offsetof(blo_limit_settings_t, memory_mb),
	 .min = 0, .max = INT64_C(1) << 30},
	{0},
};

static const blo_cfg_field_t broker_fields[] = {
	{.key = "id", .type = BLO_CFG_STRING, .required = true, .offset = offsetof(blo_broker_settings_t, id),
	 .expect = "the broker's principal id"},
	{.key = "identity", .type = BLO_CFG_PATH, .required = true,
	 .offset = offsetof(blo_broker_settings_t, identity), .expect = "the path of the identity secret file"},
	{.key = "registry", .type = BLO_CFG_PATH, .required = true,
	 .offset = offsetof(blo_broker_settings_t, registry), .expect = "the path of the signed registry"},
	{.key = "authority", .type = BLO_CFG_STRING, .required = true,
	 .offset = offsetof(blo_broker_settings_t, authority), .expect = AUTHORITY_EXPECT},
	{.key = "listen", .type = BLO_CFG_STRINGS, .required = true,
	 .offset = offsetof(blo_broker_settings_t, listen), .expect = "a list of ZeroMQ endpoints to bind"},
	{.key = "data_dir", .type = BLO_CFG_PATH, .required = true,
	 .offset = offsetof(blo_broker_settings_t, data_dir), .expect = "the folder of the journal"},
	{.key = "journal", .type = BLO_CFG_OBJECT, .offset = offsetof(blo_broker_settings_t, journal),
	 .fields = journal_fields},
	{.key = "audit", .type = BLO_CFG_OBJECT, .offset = offsetof(blo_broker_settings_t, audit),
	 .fields = audit_fields},
	{.key = "limits", .type = BLO_CFG_OBJECT, .offset = offsetof(blo_broker_settings_t, limits),
	 .fields = limit_fields},
	{.key = "peers", .type = BLO_CFG_OBJECTS, .offset = offsetof(blo_broker_settings_t, peers),
	 .fields = peer_fields, .elem_size = sizeof(blo_peer_settings_t)},
	{.key = "log_level", .type = BLO_CFG_ENUM, .offset = offsetof(blo_broker_settings_t, log_level),
	 .choices = blo_log_level_names},
	{0},
};

static const blo_cfg_field_t client_fields[] = {
	{.key = "id", .type = BLO_CFG_STRING, .required = true, .offset = offsetof(blo_client_settings_t, id),
	 .expect = "the principal id"},
	{.key = "identity", .type = BLO_CFG_PATH, .required = true,
	 .offset = offsetof(blo_client_settings_t, identity), .expect = "the path of the identity secret file"},
	{.key = "registry", .type = BLO_CFG_PATH, .required = true,
	 .offset = offsetof(blo_client_settings_t, registry), .expect = "the path of the signed registry"},
	{.key = "authority", .type = BLO_CFG_STRING, .required = true,
	 .offset = offsetof(blo_client_settings_t, authority), .expect = AUTHORITY_EXPECT},
	{.key = "broker", .type = BLO_CFG_OBJECT, .required = true,
	 .offset = offsetof(blo_client_settings_t, broker), .fields = peer_fields},
	{.key = "data_dir", .type = BLO_CFG_PATH, .offset = offsetof(blo_client_settings_t, data_dir),
	 .expect = "the folder of the program's own store"},
	{.key = "log_level", .type = BLO_CFG_ENUM, .offset = offsetof(blo_client_settings_t, log_level),
	 .choices = blo_log_level_names},
	{0},
};

int blo_settings_authority(const char *hex, uint8_t out[BLO_SIGN_PUBLIC_BYTES], blo_err_t *err)
{
	if (hex == NULL || blo_hex_decode(out, BLO_SIGN_PUBLIC_BYTES, hex) != 0)
		return blo_err_set(err, BLO_ECONFIG, "key \"authority\": expected %s", AUTHORITY_EXPECT);
	return 0;
}

static int check_id(const char *path, const char *key, const char *id, blo_err_t *err)
{
	if (!blo_principal_id_is_valid(id))
		return blo_err_set(err, BLO_ECONFIG, "%s: key \"%s\": \"%.64s\" is not a principal id",
				   path, key, id);
	return 0;
}

int blo_broker_settings_load(blo_broker_settings_t *out, const char *path, blo_err_t *err)
{
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	int rc;

	memset(out, 0, sizeof(*out));
	out->journal.map_size_mb = 1024;
	out->journal.max_age_hours = 24 * 90;
	out->audit.max_age_hours = 24 * 30;
	out->limits.max_message_bytes = 128 * 1024;
	out->limits.max_in_flight = 256;
	out->limits.max_batch = 1000;
	out->limits.commit_hold_us = 4000;
	out->limits.heartbeat_ms = 1000;
	out->limits.mesh_resend_ms = 10000;
	out->limits.mesh_give_up_s = 3600;
	out->limits.memory_mb = 2048;
	out->log_level = BLO_LOG_INFO;
	if ((rc = blo_config_load(path, broker_fields, out, err)) != 0)
		return rc;
	if ((rc = check_id(path, "id", out->id, err)) != 0)
		return rc;
	if ((rc = blo_settings_authority(out->authority, authority, err)) != 0) {
		blo_err_prefix(err, "%s", path);
		return rc;
	}
	if (out->audit.archive_dir == NULL &&
	    asprintf(&out->audit.archive_dir, "%s/audit-archive", out->data_dir) < 0) {
		out->audit.archive_dir = NULL;
		return blo_err_set(err, BLO_ENOMEM, "%s: out of memory", path);
	}
	if (out->listen.n == 0)
		return blo_err_set(err, BLO_ECONFIG, "%s: key \"listen\": expected at least one endpoint",
				   path);
	/* Below what the broker itself needs (a busy broker keeps a few tens
	 * of MB), every connection would end every two seconds. */
	if (out->limits.memory_mb != 0 && out->limits.memory_mb < 256)
		return blo_err_set(err, BLO_ECONFIG,
				   "%s: key \"limits.memory_mb\": %" PRId64 " is below 256 (0 turns the "
				   "memory limit off)",
				   path, out->limits.memory_mb);
	for (size_t i = 0; i < out->peers.n; i++) {
		const blo_peer_settings_t *p = (const blo_peer_settings_t *)out->peers.v + i;
		char key[32];

		snprintf(key, sizeof(key), "peers[%zu].id", i);
		if ((rc = check_id(path, key, p->id, err)) != 0)
			return rc;
	}
	return 0;
}

void blo_broker_settings_free(blo_broker_settings_t *s)
{
	if (s != NULL)
		blo_config_free(broker_fields, s);
}

int blo_client_settings_load(blo_client_settings_t *out, const char *path, blo_err_t *err)
{
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	int rc;

	memset(out, 0, sizeof(*out));
	out->log_level = BLO_LOG_INFO;
	if ((rc = blo_config_load(path, client_fields, out, err)) != 0)
		return rc;
	if ((rc = check_id(path, "id", out->id, err)) != 0)
		return rc;
	if ((rc = check_id(path, "broker.id", out->broker.id, err)) != 0)
		return rc;
	if ((rc = blo_settings_authority(out->authority, authority, err)) != 0) {
		blo_err_prefix(err, "%s", path);
		return rc;
	}
	return 0;
}

void blo_client_settings_free(blo_client_settings_t *s)
{
	if (s != NULL)
		blo_config_free(client_fields, s);
}

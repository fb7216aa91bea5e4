/*
 * blo_settings: the configuration files of blonet's programs, one per
 * principal, as blonet-provision writes them: the broker's and the clients'
 * (agents, consoles, committees, admin tools). The schemas live here so that
 * every program reads a file the same way and provisioning writes what they
 * read.
 */
#ifndef BLO_SETTINGS_H
#define BLO_SETTINGS_H

#include "blo_config.h"
#include "blo_err.h"
#include "blo_identity.h"

#include <stdint.h>

typedef enum { BLO_LOG_DEBUG = 0, BLO_LOG_INFO, BLO_LOG_WARN, BLO_LOG_ERROR } blo_log_level_t;

typedef struct {
	char *id;       /* the peer broker's principal id */
	char *endpoint; /* where it listens, e.g. "tcp://203.0.113.7:7400" */
} blo_peer_settings_t;

typedef struct {
	int64_t map_size_mb;   /* LMDB map: the most the journal holds */
	int64_t max_age_hours; /* retention by age; 0: keep */
	int64_t max_count;     /* retention by count; 0: keep */
	int64_t max_size_mb;   /* retention by size of stored data; 0: keep */
} blo_journal_settings_t;

/* Audit retention: the journal keeps its audit records this long (and at
 * most this many); older ones move to files in archive_dir (see
 * blo_audit_archive), which the broker never deletes. */
typedef struct {
	int64_t max_age_hours; /* 0: no age limit */
	int64_t max_records;   /* 0: no count limit */
	char *archive_dir;     /* default: DATA_DIR/audit-archive */
} blo_audit_settings_t;

typedef struct {
	int64_t max_message_bytes; /* ZMQ_MAXMSGSIZE */
	int64_t max_in_flight;     /* deliveries unacked per subscriber */
	int64_t max_batch;         /* publishes per commit */
	int64_t commit_hold_us;    /* longest a busy broker lets a commit gather; 0: never */
	int64_t verify_threads;    /* 0: one per core */
	int64_t heartbeat_ms;      /* ZMTP heartbeat interval */
	int64_t mesh_resend_ms;    /* an unacknowledged or refused-for-now forward goes again */
	int64_t mesh_give_up_s;    /* a refusal that may be final is retried this long */
	int64_t memory_mb;         /* anonymous memory beyond which every connection ends; 0: none */
} blo_limit_settings_t;

/*
 * A broker's file:
 * {"id": "th-broker", "identity": "identity.secret.json",
 *  "registry": "../registry.json", "authority": HEX,
 *  "listen": ["tcp://0.0.0.0:7400"], "data_dir": "data",
 *  "journal": {"map_size_mb": 1024, "max_age_hours": 2160,
 *              "max_count": 0, "max_size_mb": 0},
 *  "audit": {"max_age_hours": 720, "max_records": 0,
 *            "archive_dir": "data/audit-archive"},
 *  "limits": {"max_message_bytes": 131072, "max_in_flight": 256,
 *             "max_batch": 1000, "commit_hold_us": 4000, "verify_threads": 0,
 *             "heartbeat_ms": 1000, "mesh_resend_ms": 10000, "mesh_give_up_s": 3600,
 *             "memory_mb": 2048},
 *  "peers": [{"id": "la-broker", "endpoint": "tcp://..."}],
 *  "log_level": "info"}
 * Paths are relative to the file's folder. "authority" is the hex Ed25519
 * public key of the regional authority: the trust anchor of the registry.
 */
typedef struct {
	char *id;
	char *identity;
	char *registry;
	char *authority;
	blo_strlist_t listen;
	char *data_dir;
	blo_journal_settings_t journal;
	blo_audit_settings_t audit;
	blo_limit_settings_t limits;
	blo_objlist_t peers; /* blo_peer_settings_t */
	int log_level;       /* blo_log_level_t */
} blo_broker_settings_t;

/*
 * A client's file (agent, console, committee, admin):
 * {"id": "th-customs-maesai", "identity": "identity.secret.json",
 *  "registry": "../registry.json", "authority": HEX,
 *  "broker": {"id": "th-broker", "endpoint": "tcp://127.0.0.1:7400"},
 *  "data_dir": "data", "log_level": "info"}
 */
typedef struct {
	char *id;
	char *identity;
	char *registry;
	char *authority;
	blo_peer_settings_t broker;
	char *data_dir;
	int log_level;
} blo_client_settings_t;

/* Names of the log levels, in blo_log_level_t order, NULL-terminated. */
extern const char *const blo_log_level_names[];

/* Reads a broker's file into *out, with defaults for what it leaves out.
 * Beyond the schema, checks that authority is 64 hex digits, listen is not
 * empty and every id is a valid principal id. On failure err names the file
 * and key; release *out with blo_broker_settings_free in every case. */
int blo_broker_settings_load(blo_broker_settings_t *out, const char *path, blo_err_t *err);
void blo_broker_settings_free(blo_broker_settings_t *s);

/* The same for a client's file. */
int blo_client_settings_load(blo_client_settings_t *out, const char *path, blo_err_t *err);
void blo_client_settings_free(blo_client_settings_t *s);

/* Decodes the "authority" value of a settings file. */
int blo_settings_authority(const char *hex, uint8_t out[BLO_SIGN_PUBLIC_BYTES], blo_err_t *err);

#endif

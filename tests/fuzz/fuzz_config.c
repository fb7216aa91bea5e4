/*
 * libFuzzer target for blo_config_parse: arbitrary bytes against a broker-like
 * schema using every field type, over defaults that are malloc()ed so the
 * replace-and-free paths run too. Besides crashes and leaks it aborts when a
 * result breaks the contract: a failure without the file name in its
 * message, or a success holding a value outside the schema's limits.
 */
#include "blo_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	int64_t days;
	int64_t max_alerts;
} retention_cfg_t;

typedef struct {
	int64_t map_size;
	retention_cfg_t retention;
	bool fsync;
} journal_cfg_t;

typedef struct {
	char *id;
	char *endpoint;
	bool trusted;
	double weight;
} peer_cfg_t;

typedef struct {
	char *identity;
	char *registry;
	char *authority_key;
	blo_strlist_t listen;
	char *data_dir;
	journal_cfg_t journal;
	int log_level;
	blo_objlist_t peers;
	bool require_signatures;
	double heartbeat_s;
	int64_t max_peers;
} broker_cfg_t;

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };

static const blo_cfg_field_t retention_fields[] = {
	{ .key = "days", .type = BLO_CFG_INT, .offset = offsetof(retention_cfg_t, days),
	  .min = 1, .max = 3650 },
	{ .key = "max_alerts", .type = BLO_CFG_INT,
	  .offset = offsetof(retention_cfg_t, max_alerts) },
	{ .key = NULL }
};

static const blo_cfg_field_t journal_fields[] = {
	{ .key = "map_size", .type = BLO_CFG_INT, .required = true,
	  .offset = offsetof(journal_cfg_t, map_size), .min = 1048576, .max = 1099511627776 },
	{ .key = "retention", .type = BLO_CFG_OBJECT,
	  .offset = offsetof(journal_cfg_t, retention), .fields = retention_fields },
	{ .key = "fsync", .type = BLO_CFG_BOOL, .offset = offsetof(journal_cfg_t, fsync) },
	{ .key = NULL }
};

static const blo_cfg_field_t peer_fields[] = {
	{ .key = "id", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(peer_cfg_t, id) },
	{ .key = "endpoint", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(peer_cfg_t, endpoint), .expect = "a ZeroMQ endpoint" },
	{ .key = "trusted", .type = BLO_CFG_BOOL, .offset = offsetof(peer_cfg_t, trusted) },
	{ .key = "weight", .type = BLO_CFG_DOUBLE, .offset = offsetof(peer_cfg_t, weight) },
	{ .key = NULL }
};

static const blo_cfg_field_t broker_schema[] = {
	{ .key = "identity", .type = BLO_CFG_PATH, .required = true,
	  .offset = offsetof(broker_cfg_t, identity),
	  .expect = "path of the identity secret file" },
	{ .key = "registry", .type = BLO_CFG_PATH, .offset = offsetof(broker_cfg_t, registry) },
	{ .key = "authority_key", .type = BLO_CFG_STRING,
	  .offset = offsetof(broker_cfg_t, authority_key) },
	{ .key = "listen", .type = BLO_CFG_STRINGS, .required = true,
	  .offset = offsetof(broker_cfg_t, listen) },
	{ .key = "data_dir", .type = BLO_CFG_PATH, .offset = offsetof(broker_cfg_t, data_dir) },
	{ .key = "journal", .type = BLO_CFG_OBJECT, .offset = offsetof(broker_cfg_t, journal),
	  .fields = journal_fields },
	{ .key = "log_level", .type = BLO_CFG_ENUM, .offset = offsetof(broker_cfg_t, log_level),
	  .choices = log_levels, .expect = "a log level" },
	{ .key = "peers", .type = BLO_CFG_OBJECTS, .offset = offsetof(broker_cfg_t, peers),
	  .fields = peer_fields, .elem_size = sizeof(peer_cfg_t) },
	{ .key = "require_signatures", .type = BLO_CFG_BOOL,
	  .offset = offsetof(broker_cfg_t, require_signatures) },
	{ .key = "heartbeat_s", .type = BLO_CFG_DOUBLE,
	  .offset = offsetof(broker_cfg_t, heartbeat_s), .dmin = 0.1, .dmax = 3600 },
	{ .key = "max_peers", .type = BLO_CFG_INT, .offset = offsetof(broker_cfg_t, max_peers) },
	{ .key = NULL }
};

static char *must_strdup(const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		abort();
	return copy;
}

static void set_defaults(broker_cfg_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->authority_key = must_strdup("default-authority");
	cfg->data_dir = must_strdup("/var/lib/blonet");
	cfg->listen.v = calloc(1, sizeof(char *));
	if (cfg->listen.v == NULL)
		abort();
	cfg->listen.v[0] = must_strdup("tcp://*:5555");
	cfg->listen.n = 1;
	cfg->journal.map_size = 1 << 30;
	cfg->journal.retention.days = 30;
	cfg->log_level = 1;
	cfg->heartbeat_s = 5.0;
}

static bool path_ok(const char *path)
{
	return path == NULL || path[0] == '/' || strncmp(path, "/etc/blonet/", 12) == 0;
}

static void check_success(const broker_cfg_t *cfg)
{
	const peer_cfg_t *peers = cfg->peers.v;

	if (cfg->identity == NULL || !path_ok(cfg->identity) || !path_ok(cfg->registry) ||
	    !path_ok(cfg->data_dir))
		abort();
	if (cfg->log_level < 0 || cfg->log_level > 3)
		abort();
	if (cfg->journal.map_size < 1048576 || cfg->journal.map_size > 1099511627776)
		abort();
	if (cfg->journal.retention.days < 1 || cfg->journal.retention.days > 3650)
		abort();
	if (!(cfg->heartbeat_s >= 0.1 && cfg->heartbeat_s <= 3600))
		abort();
	if ((cfg->listen.n == 0) != (cfg->listen.v == NULL))
		abort();
	for (size_t i = 0; i < cfg->listen.n; i++)
		if (cfg->listen.v[i] == NULL)
			abort();
	if ((cfg->peers.n == 0) != (cfg->peers.v == NULL))
		abort();
	for (size_t i = 0; i < cfg->peers.n; i++)
		if (peers[i].id == NULL || peers[i].endpoint == NULL)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	broker_cfg_t cfg;
	blo_err_t err;
	int rc;

	set_defaults(&cfg);
	rc = blo_config_parse("fuzz.json", "/etc/blonet", (const char *)data, size, broker_schema,
			      &cfg, &err);
	if (rc == 0) {
		check_success(&cfg);
	} else {
		if (rc != BLO_ECONFIG && rc != BLO_ENOMEM && rc != BLO_ETOOBIG)
			abort();
		if (err.code != rc || strncmp(err.msg, "fuzz.json: ", 11) != 0 ||
		    memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			abort();
	}
	blo_config_free(broker_schema, &cfg);
	if (cfg.identity != NULL || cfg.listen.v != NULL || cfg.peers.v != NULL)
		abort();
	return 0;
}

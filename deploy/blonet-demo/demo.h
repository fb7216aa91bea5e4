/*
 * demo: what blonet-demo keeps about a deployment while it runs it: the
 * brokers, agents, consoles and committees of the registry, each with its
 * process, and what each saw, for the account printed at the end.
 */
#ifndef DEMO_H
#define DEMO_H

#include "proc.h"
#include "blonet.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Counts by a short key (a site, a country, an agency name). */
typedef struct {
	char key[64];
	size_t n;
} demo_count_t;

typedef struct {
	demo_count_t *v;
	size_t n, cap;
} demo_counts_t;

/* Adds n under key (made on first use). Returns 0 or -1 (out of memory). */
int demo_counts_add(demo_counts_t *c, const char *key, size_t n);
size_t demo_counts_get(const demo_counts_t *c, const char *key);
void demo_counts_free(demo_counts_t *c);

/* Millisecond samples, for medians. */
typedef struct {
	int64_t *v;
	size_t n, cap;
} demo_times_t;

int demo_times_add(demo_times_t *t, int64_t ms);
/* The q-quantile (0..1, nearest rank) of the samples; -1 when there are none. */
int64_t demo_times_quantile(demo_times_t *t, double q);
void demo_times_free(demo_times_t *t);

/* One process of the deployment: its registry entry and its folder. */
typedef struct {
	const blo_principal_t *pr; /* borrowed from the registry */
	char dir[PATH_MAX];        /* DEPLOY/ID */
	char config[PATH_MAX];     /* DEPLOY/ID/config.json */
	char log[PATH_MAX];        /* LOGS/ID.log: its standard error */
	demo_proc_t proc;
} demo_node_t;

typedef struct {
	demo_node_t node;
	char data_dir[PATH_MAX];
	size_t n_peers;
	/* From the journal, after the run. */
	size_t stored;              /* ALERT records */
	demo_counts_t by_origin;    /* ALERT records by origin country */
	demo_counts_t counters;     /* blonetctl status: its counters */
	bool audit_ok;              /* blonetctl audit-verify passed */
} demo_broker_t;

typedef struct {
	demo_node_t node;
	const char *agency;         /* "customs", "immigration", "narcotics" */
	const char *file;           /* the sample file's name */
	char input[PATH_MAX];
	char summary[PATH_MAX];     /* its --json summary */
	char rejects[PATH_MAX];
	bool started, finished;
	int exit_code;
	size_t read, published, duplicate, rejected, unacknowledged;
	char first_reject[256];
} demo_agent_t;

typedef struct {
	demo_node_t node;
	char crossing[128];          /* e.g. "Mae Sai - Tachileik" */
	char counterpart[64];        /* the BLO across */
	char counterpart_country[3];
	bool link_up;
	int64_t last_event_ms;
	size_t alerts;               /* ALERT messages received */
	demo_counts_t from;          /* ALERTs by origin site */
	size_t acks_sent;            /* ACKs its officer sent */
	size_t acks_received;        /* ACKs received against this BLO's alerts */
	demo_times_t ack_ms;         /* their times, alert sent -> ACK sent */
	demo_counts_t ack_from;      /* ACKs received by acknowledging site */
	size_t rfis_received, responses_sent;
	bool rfi_sent;               /* this BLO asked its counterpart */
	bool rfi_answered;
	int64_t rfi_took_ms;
	size_t refused;              /* its publishes the broker did not accept */
	char last_refusal[256];
	size_t errors;
} demo_console_t;

typedef struct {
	demo_node_t node;
	char report_dir[PATH_MAX];
	int week_offset_min;
	/* From report.json. */
	size_t messages, alerts, seizures;
	size_t reply_pairs;
	bool report_ok;
} demo_committee_t;

/* One country's adapter rules. */
typedef struct {
	char country[3];
	char path[PATH_MAX];
	cJSON *json;
} demo_rules_t;

/* An ALERT as found in the brokers' journals after the run. */
typedef struct {
	char id[33];
	char origin_country[3];
	char origin_site[64];
	uint64_t held_by;           /* bit i: brokers[i] holds it */
	bool national_only;         /* releasable to its own country only */
} demo_stored_t;

typedef struct {
	/* Options. */
	const char *topology;
	const char *rules_dir;
	const char *bin_dir;
	const char *account_path;
	unsigned records;
	unsigned timeout_s;
	bool keep;
	bool verbose;

	/* Folders. */
	char work[PATH_MAX];
	char deploy[PATH_MAX];
	char logs[PATH_MAX];
	char samples[PATH_MAX];
	char reports[PATH_MAX];
	char journals[PATH_MAX];
	bool work_made;
	int64_t started_ms;

	blo_registry_t *reg;
	demo_broker_t *brokers;
	size_t n_brokers;
	demo_agent_t *agents;
	size_t n_agents;
	demo_console_t *consoles;
	size_t n_consoles;
	demo_committee_t *committees;
	size_t n_committees;
	demo_rules_t *rules;
	size_t n_rules;
	demo_stored_t *stored;
	size_t n_stored;

	size_t rfis_sent;
	bool settled;               /* everything sent was acknowledged in time */
	int64_t settle_ms;
} demo_t;

/* Reads every broker's journal (through blonetctl, into JOURNALS/ID.jsonl)
 * and every committee's report.json, filling the fields marked "after the
 * run". Returns 0 or -1 with a message on stderr. */
int demo_collect(demo_t *d);

/* Prints the account of the run on stdout. */
void demo_account_print(demo_t *d);

/* Writes the account's figures as JSON to path. Returns 0 or -1. */
int demo_account_write(demo_t *d, const char *path);

/* Reads and parses a JSON file; NULL (with a message on stderr when
 * complain) if it cannot. Caller deletes. */
cJSON *demo_read_json(const char *path, bool complain);
/* A member's string ("" when absent or not a string) or number (0). */
const char *demo_json_str(const cJSON *o, const char *key);
double demo_json_num(const cJSON *o, const char *key);

/* Runs BIN_DIR/prog with args (NULL-terminated) to completion, its output
 * to out_path (NULL: /dev/null) and errors to err_path. Returns its exit
 * code, or -1 when it could not be started or had to be killed. */
int demo_run_tool(demo_t *d, const char *prog, const char *const *args, const char *out_path,
		  const char *err_path, int timeout_ms);

#endif

/*
 * blonetctl: the broker's admin tool, run on the broker's machine with the
 * broker's settings file. Every command prints JSON.
 *   status         the broker's live status (sessions, subscribers with lag,
 *                  journal size, counters), as it writes it every second
 *   journal        the alerts stored, from a sequence on
 *   audit          the audit log records the journal holds, from an audit
 *                  sequence on (older ones are in the archive files)
 *   audit-verify   recomputes the audit hash chain over the archive files
 *                  and the journal; exit 1 if broken
 * The journal is opened read-only: blonetctl never creates or changes a
 * file of the broker's, whoever runs it and whether the broker runs or not.
 */
#include "blonet.h"
#include "blo_log.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static void usage(FILE *to)
{
	fprintf(to,
		"usage: blonetctl -c BROKER_CONFIG COMMAND [options]\n"
		"commands:\n"
		"  status                         live status of the broker (JSON)\n"
		"  journal [--from-seq N] [--max N]  stored alerts, one JSON line each\n"
		"  audit [--from N] [--max N]     audit records in the journal, one JSON line each\n"
		"                                 (older ones: the files of audit.archive_dir)\n"
		"  audit-verify                   check the audit hash chain, archive files and\n"
		"                                 journal (exit 1 if broken)\n");
}

static void print_json(cJSON *o, bool pretty)
{
	char *text = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);

	printf("%s\n", text);
	cJSON_free(text);
}

/* Is process pid there? EPERM says it is, only not ours to signal (the
 * broker runs as another user). */
static bool process_exists(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* j may be NULL (the journal could not be opened): the broker's own journal
 * figures in its status stay then. */
static int cmd_status(const blo_broker_settings_t *s, blo_journal_t *j, const char *journal_error)
{
	char *path = NULL, *text = NULL;
	size_t len = 0;
	cJSON *status = NULL, *journal;
	blo_journal_stats_t st;
	int rc;

	if (asprintf(&path, "%s/status.json", s->data_dir) < 0)
		return 2;
	rc = blo_read_file(path, 16 << 20, &text, &len);
	if (rc == 0)
		status = cJSON_ParseWithLength(text, len);
	if (status == NULL && j == NULL) {
		/* Neither the broker's word nor its journal: nothing to report. */
		fprintf(stderr, "blonetctl: %s\n", journal_error);
		free(text);
		free(path);
		return 2;
	}
	if (status == NULL) {
		status = cJSON_CreateObject();
		cJSON_AddStringToObject(status, "broker", s->id);
	}
	/* The status file is the broker's word; is the broker still there? */
	cJSON *pid = cJSON_GetObjectItem(status, "pid");
	cJSON *time_ms = cJSON_GetObjectItem(status, "time_ms");
	bool running = cJSON_IsNumber(pid) && process_exists((pid_t)pid->valuedouble) &&
		       cJSON_IsNumber(time_ms) &&
		       blo_now_ms() - (int64_t)time_ms->valuedouble < 5000;

	cJSON_DeleteItemFromObject(status, "running");
	cJSON_AddBoolToObject(status, "running", running);
	if (j == NULL) {
		fprintf(stderr, "blonetctl: %s (journal figures are the broker's last status)\n",
			journal_error);
	} else if (blo_journal_stats(j, &st) == 0) {
		cJSON_DeleteItemFromObject(status, "journal");
		journal = cJSON_AddObjectToObject(status, "journal");
		cJSON_AddNumberToObject(journal, "first_seq", (double)st.first_seq);
		cJSON_AddNumberToObject(journal, "last_seq", (double)st.last_seq);
		cJSON_AddNumberToObject(journal, "count", (double)st.count);
		cJSON_AddNumberToObject(journal, "map_size", (double)st.map_size);
		cJSON_AddNumberToObject(journal, "used_bytes", (double)st.used_bytes);
	}
	print_json(status, true);
	cJSON_Delete(status);
	free(text);
	free(path);
	return 0;
}

static int print_record(const blo_journal_record_t *rec, void *arg)
{
	Blonet__Envelope *env = NULL;
	Blonet__Alert *alert = NULL;
	cJSON *o = cJSON_CreateObject(), *aj = NULL, *trace;
	char hex[2 * BLO_ID_BYTES + 1];

	(void)arg;
	blo_hex_encode(hex, sizeof(hex), rec->id, BLO_ID_BYTES);
	cJSON_AddNumberToObject(o, "seq", (double)rec->seq);
	cJSON_AddNumberToObject(o, "stored_ms", (double)rec->time_ms);
	cJSON_AddStringToObject(o, "id", hex);
	cJSON_AddNumberToObject(o, "bytes", (double)rec->len);
	if (blo_envelope_parse(&env, rec->data, rec->len, NULL) == 0) {
		trace = cJSON_AddArrayToObject(o, "trace");
		for (size_t i = 0; i < env->n_trace; i++)
			cJSON_AddItemToArray(trace, cJSON_CreateString(env->trace[i]->broker));
		if (blo_alert_parse(&alert, env->alert.data, env->alert.len, NULL) == 0 &&
		    blo_message_to_json(&alert->base, &aj) == 0)
			cJSON_AddItemToObject(o, "alert", aj);
	}
	print_json(o, false);
	cJSON_Delete(o);
	blo_alert_free(&alert);
	blo_envelope_free(&env);
	return 0;
}

static int print_audit(uint64_t aseq, const char *text, size_t len, void *arg)
{
	(void)aseq;
	(void)arg;
	printf("%.*s\n", (int)len, text);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"from-seq", required_argument, NULL, 's'},
		{"from", required_argument, NULL, 'f'},
		{"max", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *config = NULL, *cmd;
	uint64_t from = 1;
	size_t max = 0;
	blo_broker_settings_t s;
	blo_journal_t *j = NULL;
	blo_err_t err = {0};
	int opt, rc = 2;

	while ((opt = getopt_long(argc, argv, "c:s:f:m:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 's':
		case 'f': from = strtoull(optarg, NULL, 10); break;
		case 'm': max = strtoull(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (config == NULL || optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	blo_log_init("blonetctl", BLO_LOG_WARN);
	if (blo_broker_settings_load(&s, config, &err) != 0) {
		fprintf(stderr, "blonetctl: %s\n", err.msg);
		blo_broker_settings_free(&s);
		return 2;
	}
	/* Read-only: never a file created or changed, e.g. by root before the
	 * broker first ran, that the broker could then not use. */
	if (blo_journal_open_readonly(&j, s.data_dir, &err) != 0 && strcmp(cmd, "status") != 0) {
		fprintf(stderr, "blonetctl: %s\n", err.msg);
		goto out;
	}
	if (strcmp(cmd, "status") == 0) {
		rc = cmd_status(&s, j, err.msg);
	} else if (strcmp(cmd, "journal") == 0) {
		rc = blo_journal_scan(j, from, max, print_record, NULL) == 0 ? 0 : 1;
	} else if (strcmp(cmd, "audit") == 0) {
		rc = blo_journal_audit_scan(j, from, max, print_audit, NULL) == 0 ? 0 : 1;
	} else if (strcmp(cmd, "audit-verify") == 0) {
		blo_audit_archive_info_t info;
		uint64_t bad = 0, overlap;
		cJSON *o = cJSON_CreateObject();
		int vr = blo_audit_archive_verify(j, s.audit.archive_dir, &info, &bad, &err);

		/* A move cut short leaves records in both places: count them once. */
		overlap = info.last_aseq > info.anchor_aseq ? info.last_aseq - info.anchor_aseq : 0;
		if (overlap > info.journal_records)
			overlap = info.journal_records;
		cJSON_AddBoolToObject(o, "ok", vr == 0);
		cJSON_AddNumberToObject(o, "records",
					(double)(info.records + info.journal_records - overlap));
		cJSON_AddNumberToObject(o, "journal_records", (double)info.journal_records);
		cJSON_AddNumberToObject(o, "archived_records", (double)info.records);
		cJSON_AddNumberToObject(o, "archive_files", (double)info.files);
		if (info.files > 0) {
			cJSON_AddNumberToObject(o, "archive_first_aseq", (double)info.first_aseq);
			cJSON_AddBoolToObject(o, "archive_from_start", info.from_start);
		}
		cJSON_AddStringToObject(o, "archive_dir", s.audit.archive_dir);
		if (vr != 0) {
			cJSON_AddNumberToObject(o, "first_bad_record", (double)bad);
			cJSON_AddStringToObject(o, "error", err.msg);
		}
		print_json(o, false);
		cJSON_Delete(o);
		rc = vr == 0 ? 0 : 1;
	} else {
		fprintf(stderr, "blonetctl: unknown command \"%s\"\n", cmd);
		usage(stderr);
	}
out:
	blo_journal_close(&j);
	blo_broker_settings_free(&s);
	return rc;
}

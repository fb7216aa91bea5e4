/*
 * blonet-adapter: an agency adapter. One program with a subcommand per
 * agency (customs, immigration, narcotics): it reads the agency's own
 * export from files, standard input or a spool folder, normalizes each
 * record by the rules file, signs and publishes it as the config's agent
 * principal, and counts it done only when the broker has acknowledged it.
 * The work is done by lib/blo_adapt_*; this file reads options and prints.
 */
#include "blonet.h"
#include "blo_adapt.h"
#include "blo_log.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { EXIT_ALL_PUBLISHED = 0, EXIT_SOME_REJECTED = 1, EXIT_USAGE = 2, EXIT_UNFINISHED = 3 };

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: blonet-adapter AGENCY -c CONFIG --rules RULES [options] [FILE...|-]\n"
		"       blonet-adapter AGENCY -c CONFIG --rules RULES --spool DIR [--once]\n"
		"       blonet-adapter AGENCY --rules RULES --dry-run [FILE...|-]\n"
		"  AGENCY is customs (JSON lines of seizure records), immigration (CSV of\n"
		"  checkpoint hits) or narcotics (JSON lines of case reports); the formats and\n"
		"  the rules file are documented in agents/formats/. Each record becomes one\n"
		"  alert, published as the agent principal of CONFIG and counted done only when\n"
		"  the broker has acknowledged it; a record that cannot be normalized goes to the\n"
		"  reject file with its record number, line, field and reason.\n"
		"  -c, --config CONFIG  the agent's client config (blonet-provision's DIR/ID/config.json)\n"
		"  -r, --rules RULES    the mapping rules\n"
		"  --rejects FILE       the reject file, JSON lines appended (DATA_DIR/rejects.jsonl)\n"
		"  --state DIR          the progress store (DATA_DIR/adapter)\n"
		"  --spool DIR          take each new file of DIR, then move it to DIR/done/ (all\n"
		"                       published) or DIR/failed/ (some record rejected)\n"
		"  --once               with --spool: stop when DIR has no file left\n"
		"  --poll-ms N          with --spool: look for files every N ms (1000)\n"
		"  --window N           publishes in flight at most (256)\n"
		"  --ack-timeout S      give up after S seconds without an ack (default: wait for\n"
		"                       the broker as long as it takes)\n"
		"  --dry-run            print the alerts as JSON lines and reject reasons on\n"
		"                       standard error; no broker, no store\n"
		"  --json               summaries as JSON lines\n"
		"  Prints a summary per input: read, published, duplicate, rejected.\n"
		"  Exit status: 0 every record published or a duplicate, 1 some rejected,\n"
		"  2 usage or setup error, 3 stopped, timed out or refused before the end.\n");
}

static bool json_output;

static void print_summary(const char *name, const blo_adapt_summary_t *s, const char *moved_to)
{
	if (json_output) {
		cJSON *o = cJSON_CreateObject();
		char *text;

		cJSON_AddStringToObject(o, "input", name);
		cJSON_AddNumberToObject(o, "read", (double)s->read);
		cJSON_AddNumberToObject(o, "published", (double)s->published);
		cJSON_AddNumberToObject(o, "duplicate", (double)s->duplicate);
		cJSON_AddNumberToObject(o, "already_done", (double)s->already_done);
		cJSON_AddNumberToObject(o, "rejected", (double)s->rejected);
		cJSON_AddNumberToObject(o, "unacknowledged", (double)s->unacknowledged);
		if (moved_to != NULL)
			cJSON_AddStringToObject(o, "moved_to", moved_to);
		text = cJSON_PrintUnformatted(o);
		if (text != NULL)
			printf("%s\n", text);
		cJSON_free(text);
		cJSON_Delete(o);
	} else {
		printf("%s: read %zu, published %zu, duplicate %zu", name, s->read, s->published,
		       s->duplicate);
		if (s->already_done > 0)
			printf(" (%zu already done)", s->already_done);
		printf(", rejected %zu", s->rejected);
		if (s->unacknowledged > 0)
			printf(", unacknowledged %zu", s->unacknowledged);
		if (moved_to != NULL)
			printf("; moved to %s", moved_to);
		printf("\n");
	}
	fflush(stdout);
	blo_info("adapter.summary",
		 "%s: read %zu, published %zu, duplicate %zu (%zu already done), rejected %zu, "
		 "unacknowledged %zu",
		 name, s->read, s->published, s->duplicate, s->already_done, s->rejected,
		 s->unacknowledged);
}

/* The exit status for one input's result; the worst of all inputs wins. */
static int status_of(int rc, const blo_adapt_summary_t *s)
{
	if (rc == -EINTR || rc == -ETIMEDOUT || rc == BLO_EPERM)
		return EXIT_UNFINISHED;
	if (rc != 0 && rc != BLO_EPARSE)
		return EXIT_UNFINISHED;
	return rc == BLO_EPARSE || s->rejected > 0 ? EXIT_SOME_REJECTED : EXIT_ALL_PUBLISHED;
}

static int worst = EXIT_ALL_PUBLISHED;

static void on_spool_file(const char *path, const blo_adapt_summary_t *sum, int rc,
			  const char *moved_to, const blo_err_t *err, void *arg)
{
	int st = status_of(rc, sum);

	(void)arg;
	if (rc != 0)
		fprintf(stderr, "blonet-adapter: %s\n", err->msg);
	print_summary(path, sum, moved_to);
	if (st > worst)
		worst = st;
}

static int mkdir_p(const char *path)
{
	char *copy = strdup(path);
	int rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (char *p = copy + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST)
			rc = -errno;
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	return rc;
}

/* Maps without publishing: the alerts on stdout, the rejects on stderr. */
static int dry_run(blo_adapt_agency_t agency, const blo_adapt_rules_t *rules, FILE *in,
		   const char *name)
{
	blo_adapt_source_t *src = NULL;
	blo_adapt_summary_t sum = { 0 };
	blo_adapt_item_t item;
	blo_err_t err = { 0 };
	int rc;

	if ((rc = blo_adapt_source_open(&src, agency, rules, in, &err)) != 0) {
		fprintf(stderr, "blonet-adapter: %s: %s\n", name, err.msg);
		return EXIT_SOME_REJECTED;
	}
	while ((rc = blo_adapt_source_next(src, &item, &err)) > 0) {
		sum.read++;
		if (item.alert != NULL) {
			char *json = blo_alert_to_json(item.alert, false);

			if (json != NULL)
				printf("%s\n", json);
			free(json);
			blo_alert_free(&item.alert);
			sum.published++;
		} else {
			fprintf(stderr, "%s: %s\n", name, item.why.err.msg);
			sum.rejected++;
		}
	}
	blo_adapt_source_close(&src);
	if (rc < 0) {
		fprintf(stderr, "blonet-adapter: %s: %s\n", name, err.msg);
		return EXIT_UNFINISHED;
	}
	fprintf(stderr, "%s: read %zu, normalized %zu, rejected %zu\n", name, sum.read,
		sum.published, sum.rejected);
	return sum.rejected > 0 ? EXIT_SOME_REJECTED : EXIT_ALL_PUBLISHED;
}

/* Checks that the config's principal is an agent of this agency and of
 * the rules' country. */
static int check_principal(blo_client_t *client, const char *id, blo_adapt_agency_t agency,
			   const blo_adapt_rules_t *rules)
{
	const blo_registry_t *reg = blo_client_registry(client);
	const blo_principal_t *me = reg != NULL ? blo_registry_find(reg, id) : NULL;

	if (me == NULL) {
		fprintf(stderr, "blonet-adapter: principal \"%s\" is not in the registry\n", id);
		return -1;
	}
	if (me->role != BLO_ROLE_AGENT || me->agency != blo_adapt_agency_kind(agency)) {
		fprintf(stderr,
			"blonet-adapter: principal \"%s\" is a %s of agency %s, not a %s agent\n", id,
			blo_role_name(me->role),
			blo_enum_name(&blonet__agency_kind__descriptor, (int)me->agency),
			blo_enum_name(&blonet__agency_kind__descriptor,
				      (int)blo_adapt_agency_kind(agency)));
		return -1;
	}
	if (strcmp(me->country, rules->country) != 0) {
		fprintf(stderr, "blonet-adapter: principal \"%s\" is of %s, the rules of %s\n", id,
			me->country, rules->country);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_REJECTS = 256, OPT_STATE, OPT_SPOOL, OPT_ONCE, OPT_POLL, OPT_WINDOW,
	       OPT_ACK_TIMEOUT, OPT_DRY_RUN, OPT_JSON };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "rules", required_argument, NULL, 'r' },
		{ "rejects", required_argument, NULL, OPT_REJECTS },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "spool", required_argument, NULL, OPT_SPOOL },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "poll-ms", required_argument, NULL, OPT_POLL },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "ack-timeout", required_argument, NULL, OPT_ACK_TIMEOUT },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = NULL, *rules_path = NULL, *rejects = NULL, *state = NULL, *spool = NULL;
	bool once = false, dry = false;
	long poll_ms = 0, window = 0, ack_timeout = 0;
	blo_adapt_agency_t agency;
	blo_adapt_rules_t *rules = NULL;
	blo_client_settings_t settings;
	blo_adapt_progress_t *progress = NULL;
	blo_client_t *client = NULL;
	blo_adapt_run_t *run = NULL;
	blo_err_t err = { 0 };
	char *data_dir = NULL, *state_dir = NULL, *rejects_path = NULL;
	int opt, exit_code = EXIT_USAGE, rc;
	struct sigaction sa;

	memset(&settings, 0, sizeof(settings));
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || blo_adapt_agency_parse(argv[1], &agency) != 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	optind = 2;
	while ((opt = getopt_long(argc, argv, "c:r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'r': rules_path = optarg; break;
		case OPT_REJECTS: rejects = optarg; break;
		case OPT_STATE: state = optarg; break;
		case OPT_SPOOL: spool = optarg; break;
		case OPT_ONCE: once = true; break;
		case OPT_POLL: poll_ms = strtol(optarg, NULL, 10); break;
		case OPT_WINDOW: window = strtol(optarg, NULL, 10); break;
		case OPT_ACK_TIMEOUT: ack_timeout = strtol(optarg, NULL, 10); break;
		case OPT_DRY_RUN: dry = true; break;
		case OPT_JSON: json_output = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (rules_path == NULL || (!dry && config == NULL) || (spool != NULL && optind < argc) ||
	    window < 0 || window > 65536 || ack_timeout < 0 || ack_timeout > 86400 * 365 ||
	    poll_ms < 0 || poll_ms > 3600000) {
		usage(stderr);
		return EXIT_USAGE;
	}
	blo_log_init("blonet-adapter", BLO_LOG_INFO);
	if (blo_adapt_rules_load(&rules, rules_path, &err) != 0) {
		fprintf(stderr, "blonet-adapter: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if (!blo_adapt_rules_has(rules, agency)) {
		fprintf(stderr, "blonet-adapter: %s: no \"%s\" section\n", rules_path,
			blo_adapt_agency_name(agency));
		goto out;
	}
	if (dry) {
		exit_code = EXIT_ALL_PUBLISHED;
		for (int i = optind; i < argc || i == optind; i++) {
			const char *path = i < argc ? argv[i] : "-";
			FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
			int st;

			if (in == NULL) {
				fprintf(stderr, "blonet-adapter: %s: %s\n", path, strerror(errno));
				exit_code = EXIT_USAGE;
				break;
			}
			st = dry_run(agency, rules, in, in == stdin ? "stdin" : path);
			if (in != stdin)
				fclose(in);
			if (st > exit_code)
				exit_code = st;
			if (i + 1 >= argc)
				break;
		}
		goto out;
	}

	if (blo_client_settings_load(&settings, config, &err) != 0) {
		fprintf(stderr, "blonet-adapter: %s\n", err.msg);
		goto out;
	}
	blo_log_init("blonet-adapter", (blo_log_level_t)settings.log_level);
	if (settings.data_dir != NULL) {
		data_dir = strdup(settings.data_dir);
	} else {
		char *copy = strdup(config);

		if (copy != NULL && asprintf(&data_dir, "%s/data", dirname(copy)) < 0)
			data_dir = NULL;
		free(copy);
	}
	if (data_dir == NULL ||
	    (state == NULL && asprintf(&state_dir, "%s/adapter", data_dir) < 0) ||
	    (rejects == NULL && asprintf(&rejects_path, "%s/rejects.jsonl", data_dir) < 0)) {
		fprintf(stderr, "blonet-adapter: out of memory\n");
		goto out;
	}
	if ((rc = mkdir_p(data_dir)) != 0) {
		fprintf(stderr, "blonet-adapter: %s: %s\n", data_dir, strerror(-rc));
		goto out;
	}
	if (blo_adapt_progress_open(&progress, state != NULL ? state : state_dir, &err) != 0) {
		fprintf(stderr, "blonet-adapter: %s\n", err.msg);
		goto out;
	}
	if (blo_client_open_config(&client, config, "blonet-adapter", &err) != 0) {
		fprintf(stderr, "blonet-adapter: %s\n", err.msg);
		goto out;
	}
	if (check_principal(client, settings.id, agency, rules) != 0)
		goto out;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	{
		blo_adapt_run_opts_t o = {
			.agency = agency,
			.rules = rules,
			.client = client,
			.progress = progress,
			.rejects_path = rejects != NULL ? rejects : rejects_path,
			.window = (size_t)window,
			.ack_timeout_ms = (int)(ack_timeout * 1000),
			.stop = &stop_requested,
		};

		if (blo_adapt_run_open(&run, &o, &err) != 0) {
			fprintf(stderr, "blonet-adapter: %s\n", err.msg);
			goto out;
		}
	}
	blo_info("adapter.started", "%s adapter as %s, broker %s, rules %s", blo_adapt_agency_name(agency),
		 settings.id, blo_client_broker_id(client), rules_path);
	exit_code = EXIT_ALL_PUBLISHED;
	if (spool != NULL) {
		rc = blo_adapt_run_spool(run, spool, once, (int)poll_ms, on_spool_file, NULL, &err);
		if (rc != 0 && rc != -EINTR)
			fprintf(stderr, "blonet-adapter: %s\n", err.msg);
		exit_code = rc == -EINTR || rc == 0 ? worst : EXIT_UNFINISHED;
		if (rc == -EINTR && exit_code == EXIT_ALL_PUBLISHED)
			exit_code = worst; /* stopped between files: nothing unfinished */
		goto out;
	}
	for (int i = optind; i < argc || i == optind; i++) {
		const char *path = i < argc ? argv[i] : "-";
		bool is_stdin = strcmp(path, "-") == 0;
		FILE *in = is_stdin ? stdin : fopen(path, "r");
		blo_adapt_summary_t sum;
		int st;

		if (in == NULL) {
			fprintf(stderr, "blonet-adapter: %s: %s\n", path, strerror(errno));
			exit_code = EXIT_USAGE;
			break;
		}
		rc = blo_adapt_run_stream(run, in, is_stdin ? "stdin" : path, &sum, &err);
		if (!is_stdin)
			fclose(in);
		if (rc != 0)
			fprintf(stderr, "blonet-adapter: %s\n", err.msg);
		print_summary(is_stdin ? "stdin" : path, &sum, NULL);
		st = status_of(rc, &sum);
		if (st > exit_code)
			exit_code = st;
		if (st == EXIT_UNFINISHED || i + 1 >= argc)
			break;
	}
out:
	blo_adapt_run_close(&run);
	blo_client_close(&client);
	blo_adapt_progress_close(&progress);
	blo_client_settings_free(&settings);
	blo_adapt_rules_free(&rules);
	free(data_dir);
	free(state_dir);
	free(rejects_path);
	return exit_code;
}

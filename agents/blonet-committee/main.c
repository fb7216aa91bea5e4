/*
 * blonet-committee: a national coordination committee. Subscribes to
 * everything its country may see, keeps aggregates as alerts arrive
 * (lib/blo_committee*), and writes reports (report.json, CSV tables and a
 * self-contained report.html) on demand and on a schedule.
 */
#include "blonet.h"
#include "blo_committee.h"
#include "blo_committee_node.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested, report_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_report(int sig)
{
	(void)sig;
	report_requested = 1;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: blonet-committee -c CONFIG [--report-dir DIR] [--report-every SECONDS]\n"
		"                        [--durable NAME] [--week-offset MINUTES] [--timeout S]\n"
		"                        [--keep-days N] [--store-mb N]\n"
		"       blonet-committee -c CONFIG --report [--report-dir DIR]\n"
		"  Subscribes durably as the committee principal of CONFIG and keeps its\n"
		"  aggregates in DATA_DIR/committee as alerts arrive; a restart resumes\n"
		"  where it left off and never counts a message twice.\n"
		"  --report-dir DIR      where reports go (default DATA_DIR/reports)\n"
		"  --report-every S      write the reports every S seconds (and at exit)\n"
		"  SIGUSR1               write the reports now\n"
		"  --report              write the reports from the store and exit (no broker)\n"
		"  --week-offset MIN     UTC offset for ISO weeks, fixed when the store is\n"
		"                        created (e.g. 420 for UTC+7; default 0)\n"
		"  --durable NAME        durable subscription name (default committee)\n"
		"  --timeout S           exit after S seconds without a delivery\n"
		"  --keep-days N         what is kept per message (to count each id once,\n"
		"                        match replies, updates and cancels) is forgotten N\n"
		"                        days after it arrived (default %d; 0: never); keep it\n"
		"                        longer than the brokers keep messages (90 days by\n"
		"                        default). The aggregates themselves are kept for good.\n"
		"  --store-mb N          the store's size limit in MB (default %d); at the\n"
		"                        limit nothing more is taken in, the broker keeps it,\n"
		"                        and the log says so\n"
		"Reports: report.json, report.html (charts inline, no network needed) and\n"
		"one CSV file per table.\n",
		BLO_COMMITTEE_DEFAULT_KEEP_DAYS, BLO_COMMITTEE_STORE_DEFAULT_MB);
}

static int write_report(blo_committee_node_t *node, const char *dir)
{
	blo_err_t err = {0};

	if (blo_committee_node_report(node, dir, &err) != 0) {
		blo_error("committee.report_failed", "%s", err.msg);
		return 1;
	}
	blo_info("committee.report", "report written to %s",
		 dir != NULL ? dir : blo_committee_node_report_dir(node));
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_REPORT_DIR = 256, OPT_EVERY, OPT_REPORT, OPT_DURABLE, OPT_WEEK, OPT_TIMEOUT,
	       OPT_KEEP_DAYS, OPT_STORE_MB };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"report-dir", required_argument, NULL, OPT_REPORT_DIR},
		{"report-every", required_argument, NULL, OPT_EVERY},
		{"report", no_argument, NULL, OPT_REPORT},
		{"durable", required_argument, NULL, OPT_DURABLE},
		{"week-offset", required_argument, NULL, OPT_WEEK},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"keep-days", required_argument, NULL, OPT_KEEP_DAYS},
		{"store-mb", required_argument, NULL, OPT_STORE_MB},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	blo_committee_node_opts_t opts = {.store = {.keep_days = BLO_COMMITTEE_DEFAULT_KEEP_DAYS}};
	const char *report_dir = NULL;
	int every_s = 0, timeout_s = -1, opt, exit_code = 2;
	bool report_only = false;
	blo_committee_node_t *node = NULL;
	blo_err_t err = {0};
	char *end, last_error[sizeof(err.msg)] = "";
	int64_t last_error_ms = 0;
	struct sigaction sa;
	int64_t last_report, last_delivery;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': opts.config = optarg; break;
		case OPT_REPORT_DIR: report_dir = optarg; break;
		case OPT_EVERY: every_s = atoi(optarg); break;
		case OPT_REPORT: report_only = true; break;
		case OPT_DURABLE: opts.durable = optarg; break;
		case OPT_WEEK:
			opts.store.week_offset_min = atoi(optarg);
			opts.store.week_offset_set = true;
			break;
		case OPT_TIMEOUT: timeout_s = atoi(optarg); break;
		case OPT_KEEP_DAYS:
			opts.store.keep_days = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || opts.store.keep_days < 0 ||
			    opts.store.keep_days > 36500) {
				fprintf(stderr, "blonet-committee: --keep-days %s: give whole days, 0 to 36500\n",
					optarg);
				return 2;
			}
			break;
		case OPT_STORE_MB:
			opts.store.store_mb = strtoull(optarg, &end, 10);
			if (*end != '\0' || end == optarg || opts.store.store_mb < 1) {
				fprintf(stderr, "blonet-committee: --store-mb %s: give a size in MB, at least 1\n",
					optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (opts.config == NULL || optind != argc || every_s < 0) {
		usage(stderr);
		return 2;
	}
	blo_log_init("blonet-committee", BLO_LOG_INFO);
	{
		/* The settings' log_level, as the broker and the adapter apply
		 * theirs. The node reads the file again and reports what is
		 * wrong with it. */
		blo_client_settings_t settings;

		if (blo_client_settings_load(&settings, opts.config, NULL) == 0)
			blo_log_init("blonet-committee", (blo_log_level_t)settings.log_level);
		blo_client_settings_free(&settings);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_report;
	sigaction(SIGUSR1, &sa, NULL);
	opts.offline = report_only;
	if (blo_committee_node_open(&node, &opts, &err) != 0) {
		fprintf(stderr, "blonet-committee: %s\n", err.msg);
		goto out;
	}
	if (report_only) {
		exit_code = write_report(node, report_dir);
		goto out;
	}
	blo_info("committee.started", "subscribed; aggregates in the store, reports to %s",
		 report_dir != NULL ? report_dir : blo_committee_node_report_dir(node));
	exit_code = 0;
	last_report = last_delivery = blo_mono_ms();
	while (!stop_requested) {
		size_t taken = 0;
		int rc = blo_committee_node_poll(node, 200, &taken, &err);

		if (rc == BLO_EPERM) {
			fprintf(stderr, "blonet-committee: %s\n", err.msg);
			exit_code = 1;
			break;
		}
		/* The same error again and again (a full store): once a minute. */
		if (rc != 0 && (strcmp(err.msg, last_error) != 0 || blo_mono_ms() - last_error_ms >= 60000)) {
			blo_error("committee.store", "%s (the broker will deliver again)", err.msg);
			snprintf(last_error, sizeof(last_error), "%s", err.msg);
			last_error_ms = blo_mono_ms();
		}
		if (taken > 0)
			last_delivery = blo_mono_ms();
		if (report_requested ||
		    (every_s > 0 && blo_mono_ms() - last_report >= (int64_t)every_s * 1000)) {
			report_requested = 0;
			write_report(node, report_dir);
			last_report = blo_mono_ms();
		}
		if (timeout_s >= 0 && blo_mono_ms() - last_delivery > (int64_t)timeout_s * 1000)
			break;
	}
	if (every_s > 0)
		write_report(node, report_dir);
	{
		blo_committee_node_stats_t st;

		blo_committee_node_stats(node, &st);
		blo_info("committee.stopped", "%llu counted, %llu duplicates, %llu unverified, %llu unreadable",
			 (unsigned long long)st.counted, (unsigned long long)st.duplicates,
			 (unsigned long long)st.unverified, (unsigned long long)st.unreadable);
	}
out:
	blo_committee_node_close(&node);
	return exit_code;
}

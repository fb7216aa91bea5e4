/*
 * bench_mesh: one mesh link between two real brokers, beside the raw
 * libzmq CURVE ceiling of this machine measured in the same run.
 *
 * Limits first (tests/bench/bench_util.h, as in bench_broker): raw CURVE
 * PUSH/PULL of 512-byte messages between two threads over TCP on
 * 127.0.0.1, Ed25519 verifications per second on one core and on every
 * core, and a synced single-alert journal commit. They are measured again
 * at the end, to show how steady (or busy) the machine was; ratios use the
 * first measurement.
 *
 * The deployment, provisioned into a temporary folder with
 * bin/blonet-provision: th-broker (TH) and la-broker (LA) on
 * tcp://127.0.0.1:0, linked, each with a 4 GiB journal map and the
 * default limits; an agent at TH (th-customs-maesai, site TH-MAESAI) and a
 * console at LA (la-console-houayxai, used to see that LA serves and to
 * check a forwarded alert at the end). Both brokers run as child
 * processes (bin/blonet-broker), stopped by PID with SIGTERM.
 *
 * Alerts are 512 bytes serialized, TLP:AMBER, releasable to LA, signed
 * with blo_envelope_seal before each timed part; the agent publishes them
 * at TH with lib/blo_client, 1,000 publishes in flight. TH forwards each
 * to LA with its signed hop (window of 512 per peer, lib/blo_mesh.c); LA
 * verifies the origin signature and the hop on its verify workers and
 * answers ForwardAck after its synced commit.
 *   1. forwarding: both brokers up; N alerts published at TH; the time from
 *      the first publish until LA's journal holds all N. LA's journal is
 *      opened read-mostly from this process with blo_journal_open (LMDB
 *      allows several processes) and polled with blo_journal_stats every
 *      20 ms. TH's ingest rate (final acks per second) in the same phase
 *      is printed beside it, and TH's in-flight window to LA is sampled
 *      from its status.json, to show which side limits.
 *   2. catch-up: LA stopped (SIGTERM); 100,000 more published at TH (TH's
 *      ingest with the link down is printed too); TH's status.json backlog
 *      for LA checked; LA started again; the time from LA's exec until its
 *      journal holds all of them, and until TH's status.json reads backlog
 *      0 for LA (status.json is rewritten every second: that figure has a
 *      resolution of about 1 s).
 * For each phase the CPU used by each thread of both brokers, by this
 * process (the publisher) and by the whole machine is printed, with LA's
 * synced commits (from its status.json).
 *
 * Figures are printed, never asserted: exit 0 whether they are good or
 * not; 1 only if the bench itself could not run (provisioning failed, a
 * broker did not start).
 *
 * Usage: bench_mesh [--quick]    (--quick: small counts, for a smoke run)
 * Environment: BLO_BIN (folder of the programs; default: this build's),
 * TMPDIR, BLO_KEEP=1 (keep the work folder).
 * Skipped, with a message and exit 0, when the programs are not built.
 */
#include "bench_util.h"

#define MAP_SIZE_MB 4096
#define POLL_NS (20 * (int64_t)1000000) /* LA's journal is polled this often */
#define MESH_STALL_S 30                 /* no progress at LA this long: the phase failed */
#define LINK_UP_S 20                    /* the link must come up within this */
#define AGENT "th-customs-maesai"
#define CONSOLE "la-console-houayxai"

/* ---------------------------------------------------------------- settings */

static struct {
	size_t curve_msgs;
	double verify_s;
	size_t forward_n;
	size_t backlog_n;
	size_t window;
} cfg = {
	.curve_msgs = 400000,
	.verify_s = 1.5,
	.forward_n = 50000,
	.backlog_n = 100000,
	.window = 1000,
};

typedef struct {
	const char *id;
	const char *client; /* a principal of this broker, to see it serve */
	char config[4096];
	char log[4200];
	char data_dir[4096];
	pid_t pid;
} broker_t;

static const char *bin_dir;
static char work[4096];
static uint8_t run_nonce[8];
static broker_t th = {.id = "th-broker", .client = AGENT, .pid = -1};
static broker_t la = {.id = "la-broker", .client = CONSOLE, .pid = -1};
static blo_journal_t *la_journal;

/* ---------------------------------------------------------------- results */

/* What a phase cost in CPU. */
typedef struct {
	double th_us, la_us;  /* CPU per alert */
	double la_pct;        /* LA, % of one core */
	double machine_pct;   /* the machine, % of all cores */
	double others_pct;    /* of which not these brokers nor this process */
} cpu_fig_t;

typedef struct {
	double curve_per_s, verify_1core_per_s, verify_all_per_s;
	double curve_end, verify_1core_end, verify_all_end;
	pcts_t commit, commit_end;
	int cores;
	/* 1. forwarding */
	bool fwd_ok;
	uint64_t fwd_held;
	double fwd_s, fwd_per_s, fwd_ingest_per_s, fwd_lag_s;
	double fwd_inflight_avg, fwd_inflight_max;
	double fwd_la_commits_per_s, fwd_la_per_commit;
	double fwd_clean_s;          /* first publish -> TH's backlog reads 0 */
	cpu_fig_t fwd_cpu;
	/* 2. catch-up */
	bool cut_ok, catchup_ok;
	double la_stop_s;
	double cut_ingest_per_s;
	double backlog_before;
	uint64_t catchup_held;
	double catchup_s, catchup_per_s, catchup_first_s, catchup_after_first_per_s;
	double catchup_backlog0_s;   /* LA exec -> status.json with backlog 0; < 0: never */
	double catchup_inflight_avg;
	double catchup_la_commits_per_s, catchup_la_per_commit;
	cpu_fig_t catchup_cpu;
	/* checks */
	uint64_t la_count;
	double th_forwarded, th_duplicates, th_rejected, la_refused;
	bool trace_ok;
	char trace_text[200];
} results_t;

static results_t R;

/* ---------------------------------------------------------------- status */

/* What a broker's status.json says about itself and its link to peer. */
typedef struct {
	bool ok, has_peer;
	double time_ms;
	double commits, received, refused;
	bool connected;
	double backlog, in_flight, forwarded, duplicates, rejected, acked_seq;
	char last_error[256];
} mstatus_t;

static mstatus_t mesh_status(const broker_t *b, const char *peer)
{
	mstatus_t st = {0};
	cJSON *root = status_load(b->data_dir);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "counters");
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(root, "peers"), *p;

	if (root == NULL || c == NULL)
		goto out;
	st.ok = true;
	st.time_ms = json_num(root, "time_ms");
	st.commits = json_num(c, "commits");
	st.received = json_num(c, "received_from_peers");
	st.refused = json_num(c, "refused_from_peers");
	cJSON_ArrayForEach(p, peers)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(p, "last_error");

		if (!cJSON_IsString(id) || strcmp(id->valuestring, peer) != 0)
			continue;
		st.has_peer = true;
		st.connected = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "connected"));
		st.backlog = json_num(p, "backlog");
		st.in_flight = json_num(p, "in_flight");
		st.forwarded = json_num(p, "forwarded");
		st.duplicates = json_num(p, "duplicates");
		st.rejected = json_num(p, "rejected");
		st.acked_seq = json_num(p, "acked_seq");
		if (cJSON_IsString(err))
			blo_strlcpy(st.last_error, err->valuestring, sizeof(st.last_error));
	}
out:
	cJSON_Delete(root);
	return st;
}

/* Waits (up to timeout_s) for a status.json written after fresh_after_ms
 * (wall clock) that has the peer. */
static mstatus_t mesh_status_fresh(const broker_t *b, const char *peer, int64_t fresh_after_ms,
				   double timeout_s)
{
	int64_t give_up = now_ns() + (int64_t)(timeout_s * 1e9);
	mstatus_t st;

	for (;;) {
		st = mesh_status(b, peer);
		if ((st.ok && st.has_peer && st.time_ms > (double)fresh_after_ms) || now_ns() > give_up)
			return st;
		sleep_ns(50000000);
	}
}

/* Waits until both ends report the link up. */
static int wait_link_up(void)
{
	int64_t give_up = now_ns() + LINK_UP_S * (int64_t)1000000000;

	for (;;) {
		mstatus_t a = mesh_status(&th, la.id), b = mesh_status(&la, th.id);

		if (a.connected && b.connected)
			return 0;
		if (now_ns() > give_up) {
			fprintf(stderr, "the link did not come up within %d s: TH says \"%s\", LA says \"%s\"\n",
				LINK_UP_S, a.last_error, b.last_error);
			return -1;
		}
		sleep_ns(50000000);
	}
}

/* ---------------------------------------------------------------- deployment */

static int provision(void)
{
	char topo[4096];
	FILE *fp;

	snprintf(topo, sizeof(topo), "%s/topology.json", work);
	fp = fopen(topo, "w");
	if (fp == NULL)
		return -1;
	fprintf(fp,
		"{\"name\": \"bench-mesh\",\n"
		" \"brokers\": [\n"
		"  {\"id\": \"th-broker\", \"country\": \"TH\", \"listen\": [\"tcp://127.0.0.1:0\"],"
		" \"journal\": {\"map_size_mb\": %d}},\n"
		"  {\"id\": \"la-broker\", \"country\": \"LA\", \"listen\": [\"tcp://127.0.0.1:0\"],"
		" \"journal\": {\"map_size_mb\": %d}}],\n"
		" \"links\": [[\"th-broker\", \"la-broker\"]],\n"
		" \"principals\": [\n"
		"  {\"id\": \"%s\", \"role\": \"agent\", \"country\": \"TH\", \"agency\": \"CUSTOMS\","
		" \"site\": \"TH-MAESAI\", \"broker\": \"th-broker\"},\n"
		"  {\"id\": \"%s\", \"role\": \"console\", \"country\": \"LA\","
		" \"site\": \"LA-HOUAYXAI\", \"broker\": \"la-broker\"}\n"
		" ]}\n",
		MAP_SIZE_MB, MAP_SIZE_MB, AGENT, CONSOLE);
	fclose(fp);
	if (provision_run(bin_dir, work, topo) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		broker_t *b = i == 0 ? &th : &la;

		principal_config(b->config, sizeof(b->config), work, b->id);
		snprintf(b->log, sizeof(b->log), "%s/%s.log", work, b->id);
		if (broker_data_dir(b->config, b->data_dir, sizeof(b->data_dir)) != 0)
			return -1;
	}
	return 0;
}

static int start(broker_t *b)
{
	b->pid = spawn_broker(bin_dir, b->config, b->log);
	if (b->pid < 0 || wait_serving(work, b->client, 30000) != 0) {
		fprintf(stderr, "%s did not start; see %s\n", b->id, b->log);
		return -1;
	}
	return 0;
}

static void cleanup(void)
{
	kill_child(&th.pid);
	kill_child(&la.pid);
}

/* ---------------------------------------------------------------- CPU */

typedef struct {
	cpu_snap_t th, la;
} snaps_t;

/* la_fresh: LA was (re)started after a: all its CPU counts. */
static void snaps_take(snaps_t *s, bool la_fresh)
{
	cpu_snapshot(&s->th, th.pid);
	cpu_snapshot(&s->la, la_fresh ? -1 : la.pid);
}

static cpu_fig_t snaps_report(const char *phase, const snaps_t *a, const snaps_t *b,
			      double alerts)
{
	double dt = secs(b->th.at_ns - a->th.at_ns), t_total, l_total, self;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_fig_t f = {0};

	if (dt <= 0)
		return f;
	printf("  cpu during %s (%% of one core):\n    TH broker threads:", phase);
	t_total = cpu_print_threads(&a->th, &b->th);
	printf("\n    LA broker threads:");
	l_total = cpu_print_threads(&a->la, &b->la);
	self = cpu_self_pct(&a->th, &b->th);
	f.la_pct = l_total;
	f.machine_pct = cpu_machine_pct(&a->th, &b->th);
	f.others_pct = f.machine_pct - (t_total + l_total + self) / (double)(cores > 0 ? cores : 1);
	if (f.others_pct < 0)
		f.others_pct = 0;
	printf("\n    TH total %.0f%%, LA total %.0f%%, bench process (publisher) %.0f%%; machine %.0f%% "
	       "busy of %ld cores, of which other processes %.0f%%\n",
	       t_total, l_total, self, f.machine_pct, cores, f.others_pct);
	if (alerts > 0) {
		f.th_us = t_total / 100.0 * dt * 1e6 / alerts;
		f.la_us = l_total / 100.0 * dt * 1e6 / alerts;
		printf("    per alert: TH %.1f us CPU (ingest and forward), LA %.1f us CPU (receive), "
		       "publisher %.1f us CPU\n",
		       f.th_us, f.la_us, self / 100.0 * dt * 1e6 / alerts);
	}
	return f;
}

/* ---------------------------------------------------------------- LA's journal */

static uint64_t la_count(void)
{
	blo_journal_stats_t st;

	if (la_journal == NULL || blo_journal_stats(la_journal, &st) != 0)
		return 0;
	return st.count;
}

typedef struct {
	double inflight_sum, inflight_max;
	size_t samples;
} window_samples_t;

/* Polls LA's journal every 20 ms until it holds target records or nothing
 * new arrives for MESH_STALL_S, sampling TH's in-flight window to LA from
 * each new status.json meanwhile (w, if not NULL). Returns the time it got
 * there (or gave up); *held the count; if first_ns is not NULL, *first_ns
 * the time the first record after base appeared, when the CPU snapshots
 * at_first are taken too. */
static int64_t wait_la_holds(uint64_t base, uint64_t target, int64_t *first_ns, snaps_t *at_first,
			     uint64_t *held, window_samples_t *w)
{
	uint64_t last = la_count();
	int64_t progress = now_ns(), next_status = now_ns();
	double last_status_ms = 0;

	if (first_ns != NULL)
		*first_ns = 0;
	for (;;) {
		int64_t now = now_ns();
		uint64_t n = la_count();

		if (n != last) {
			last = n;
			progress = now;
			if (first_ns != NULL && *first_ns == 0 && n > base) {
				*first_ns = now;
				snaps_take(at_first, false);
			}
		}
		if (n >= target) {
			*held = n;
			return now;
		}
		if (now - progress > MESH_STALL_S * (int64_t)1000000000) {
			fprintf(stderr, "  LA's journal stopped at %" PRIu64 " of %" PRIu64
				" for %d s: giving up\n",
				n, target, MESH_STALL_S);
			*held = n;
			return now;
		}
		if (w != NULL && now >= next_status) {
			mstatus_t st = mesh_status(&th, la.id);

			if (st.ok && st.has_peer && st.time_ms != last_status_ms && st.connected) {
				last_status_ms = st.time_ms;
				w->inflight_sum += st.in_flight;
				if (st.in_flight > w->inflight_max)
					w->inflight_max = st.in_flight;
				w->samples++;
			}
			next_status = now + 250 * (int64_t)1000000;
		}
		sleep_ns(POLL_NS);
	}
}

/* Waits (up to timeout_s) for a status.json of TH written after
 * fresh_after_ms (wall clock) that reads backlog 0 for LA; returns its
 * time_ms, or -1. */
static double wait_backlog_zero(int64_t fresh_after_ms, double timeout_s)
{
	int64_t give_up = now_ns() + (int64_t)(timeout_s * 1e9);

	for (;;) {
		mstatus_t st = mesh_status(&th, la.id);

		if (st.ok && st.has_peer && st.time_ms > (double)fresh_after_ms && st.backlog == 0)
			return st.time_ms;
		if (now_ns() > give_up)
			return -1;
		sleep_ns(50000000);
	}
}

/* ---------------------------------------------------------------- phases */

/* Starts a publisher of n alerts at TH releasable to LA and returns 0 once
 * they are signed and it is connected: the caller's clock starts then; the
 * caller joins the thread and destroys the barrier. On failure, -1 with
 * both done and the error printed. */
static int pub_start(pub_t *p, pthread_t *th_out, pthread_barrier_t *ready, size_t n,
		     unsigned phase)
{
	pthread_barrier_init(ready, NULL, 2);
	*p = (pub_t){.work = work, .id = AGENT, .nonce = run_nonce, .releasable_to = "LA", .n = n,
		     .window = cfg.window, .phase = phase, .ready = ready};
	if (pthread_create(th_out, NULL, pub_main, p) != 0) {
		fprintf(stderr, "  cannot start the publisher thread\n");
		pthread_barrier_destroy(ready);
		return -1;
	}
	pthread_barrier_wait(ready);
	if (p->failed) {
		pthread_join(*th_out, NULL);
		pthread_barrier_destroy(ready);
		pub_report(p);
		return -1;
	}
	return 0;
}

static void phase_forward(void)
{
	pub_t pub;
	pthread_t pth;
	pthread_barrier_t ready;
	snaps_t a, b;
	mstatus_t la0, la1;
	window_samples_t w = {0};
	uint64_t base = la_count();
	int64_t t0, t0_ms, t_end;
	double clean_ms;
	bool ok;

	printf("\n[1] forwarding TH -> LA: %zu alerts published at TH (%zu in flight), releasable to "
	       "LA; until LA's journal holds them all\n",
	       cfg.forward_n, cfg.window);
	la0 = mesh_status(&la, th.id);
	if (pub_start(&pub, &pth, &ready, cfg.forward_n, 1) != 0)
		return;
	t0 = now_ns();
	t0_ms = blo_now_ms();
	snaps_take(&a, false);
	t_end = wait_la_holds(base, base + cfg.forward_n, NULL, NULL, &R.fwd_held, &w);
	snaps_take(&b, false);
	pthread_join(pth, NULL);
	pthread_barrier_destroy(&ready);
	ok = pub_report(&pub);
	R.fwd_held -= base;
	R.fwd_ok = ok && R.fwd_held == cfg.forward_n;
	R.fwd_s = secs(t_end - t0);
	R.fwd_per_s = R.fwd_s > 0 ? (double)R.fwd_held / R.fwd_s : 0;
	R.fwd_ingest_per_s = pub.end_ns > t0 ? (double)pub.accepted / secs(pub.end_ns - t0) : 0;
	R.fwd_lag_s = pub.end_ns > 0 ? secs(t_end - pub.end_ns) : 0;
	R.fwd_inflight_avg = w.samples > 0 ? w.inflight_sum / (double)w.samples : -1;
	R.fwd_inflight_max = w.inflight_max;
	printf("  LA holds %" PRIu64 " of %zu after %.2f s: %.0f alerts/s forwarded%s\n", R.fwd_held,
	       cfg.forward_n, R.fwd_s, R.fwd_per_s, R.fwd_ok ? "" : " (INCOMPLETE)");
	printf("  TH acknowledged the %" PRIu64 " publishes in %.2f s: %.0f alerts/s ingest; LA was "
	       "%.2f s behind TH's last ack\n",
	       pub.accepted, secs(pub.end_ns - t0), R.fwd_ingest_per_s, R.fwd_lag_s);
	if (w.samples > 0 && R.fwd_per_s > 0)
		printf("  TH's window to LA (status.json, %zu samples): %.0f in flight on average, %.0f "
		       "at most, of 512: each forward in flight %.1f ms on average (in flight / rate)\n",
		       w.samples, R.fwd_inflight_avg, R.fwd_inflight_max,
		       1000.0 * R.fwd_inflight_avg / R.fwd_per_s);
	R.fwd_cpu = snaps_report("forwarding", &a, &b, (double)R.fwd_held);
	la1 = mesh_status_fresh(&la, th.id, blo_now_ms(), 2);
	if (la0.ok && la1.ok && la1.time_ms > la0.time_ms) {
		double dt = (la1.time_ms - la0.time_ms) / 1000.0, commits = la1.commits - la0.commits;

		R.fwd_la_commits_per_s = commits / dt;
		R.fwd_la_per_commit = commits > 0 ? (la1.received - la0.received) / commits : 0;
		printf("    LA counters over %.1f s (status.json): %.0f commits (%.0f/s), %.0f "
		       "received from TH (%.1f per commit), %.0f refused\n",
		       dt, commits, R.fwd_la_commits_per_s, la1.received - la0.received,
		       R.fwd_la_per_commit, la1.refused - la0.refused);
	}
	/* A clean cut: LA stops with nothing of TH's in flight. Only a
	 * status.json written after TH's last ack counts (before it, TH did
	 * not hold them all yet). */
	clean_ms = wait_backlog_zero(t0_ms + (pub.end_ns - t0) / 1000000, 10);
	R.fwd_clean_s = clean_ms > 0 ? (clean_ms - (double)t0_ms) / 1000.0 : -1;
	if (clean_ms > 0)
		printf("  TH's status.json read backlog 0 for LA %.1f s after the first publish "
		       "(status.json is rewritten every second)\n",
		       R.fwd_clean_s);
	else
		printf("  TH's backlog for LA did not read 0 within 10 s\n");
}

static void phase_catchup(void)
{
	pub_t pub;
	pthread_t pth;
	pthread_barrier_t ready;
	snaps_t a, first, b;
	mstatus_t before, la1;
	window_samples_t w = {0};
	uint64_t base;
	int64_t t0, t_end, t_first = 0, cut_t0;
	int64_t exec_ms;
	double zero_ms;
	int status = 0;

	printf("\n[2] catch-up: LA stopped, %zu alerts published at TH, LA started again; until LA's "
	       "journal holds them all\n",
	       cfg.backlog_n);
	R.la_stop_s = stop_broker(&la.pid, &status);
	printf("  LA stopped by SIGTERM in %.3f s, exit status %d\n", R.la_stop_s, status);
	base = la_count();
	if (pub_start(&pub, &pth, &ready, cfg.backlog_n, 2) != 0)
		return;
	cut_t0 = now_ns();
	pthread_join(pth, NULL);
	pthread_barrier_destroy(&ready);
	R.cut_ok = pub_report(&pub);
	R.cut_ingest_per_s =
		pub.end_ns > cut_t0 ? (double)pub.accepted / secs(pub.end_ns - cut_t0) : 0;
	printf("  TH acknowledged %" PRIu64 " publishes in %.2f s with the link down: %.0f alerts/s "
	       "ingest\n",
	       pub.accepted, secs(pub.end_ns - cut_t0), R.cut_ingest_per_s);
	before = mesh_status_fresh(&th, la.id, blo_now_ms(), 3);
	R.backlog_before = before.backlog;
	printf("  TH's status.json: link to LA %s, backlog %.0f, acked_seq %.0f\n",
	       before.connected ? "UP (unexpected)" : "down", before.backlog, before.acked_seq);
	if (!R.cut_ok)
		return;

	snaps_take(&a, true);
	exec_ms = blo_now_ms();
	t0 = now_ns();
	la.pid = spawn_broker(bin_dir, la.config, la.log);
	if (la.pid < 0) {
		fprintf(stderr, "  LA did not start again\n");
		return;
	}
	t_end = wait_la_holds(base, base + cfg.backlog_n, &t_first, &first, &R.catchup_held, &w);
	snaps_take(&b, false);
	R.catchup_held -= base;
	R.catchup_ok = R.catchup_held == cfg.backlog_n;
	R.catchup_s = secs(t_end - t0);
	R.catchup_per_s = R.catchup_s > 0 ? (double)R.catchup_held / R.catchup_s : 0;
	R.catchup_first_s = t_first > 0 ? secs(t_first - t0) : -1;
	R.catchup_after_first_per_s =
		t_first > 0 && t_end > t_first ? (double)R.catchup_held / secs(t_end - t_first) : 0;
	R.catchup_inflight_avg = w.samples > 0 ? w.inflight_sum / (double)w.samples : -1;
	printf("  LA holds %" PRIu64 " of %zu after %.2f s from its exec: %.0f alerts/s%s\n",
	       R.catchup_held, cfg.backlog_n, R.catchup_s, R.catchup_per_s,
	       R.catchup_ok ? "" : " (INCOMPLETE)");
	printf("  the first forwarded alert was stored at LA %.3f s after exec (start, reconnection, "
	       "Hello); from then on %.0f alerts/s\n",
	       R.catchup_first_s, R.catchup_after_first_per_s);
	if (w.samples > 0 && R.catchup_after_first_per_s > 0)
		printf("  TH's window to LA (status.json, %zu samples): %.0f in flight on average, %.0f "
		       "at most, of 512: each forward in flight %.1f ms on average (in flight / rate)\n",
		       w.samples, R.catchup_inflight_avg, w.inflight_max,
		       1000.0 * R.catchup_inflight_avg / R.catchup_after_first_per_s);
	if (t_first > 0)
		R.catchup_cpu = snaps_report("catch-up, from the first alert stored at LA", &first, &b,
					     (double)R.catchup_held);
	else
		R.catchup_cpu = snaps_report("catch-up, from LA's exec", &a, &b, (double)R.catchup_held);
	la1 = mesh_status_fresh(&la, th.id, blo_now_ms(), 2);
	if (la1.ok && la1.time_ms > (double)exec_ms) {
		/* A new process: its counters start at its exec. */
		double dt = (la1.time_ms - (double)exec_ms) / 1000.0;

		R.catchup_la_commits_per_s = la1.commits / dt;
		R.catchup_la_per_commit = la1.commits > 0 ? la1.received / la1.commits : 0;
		printf("    LA counters since its exec, %.1f s (status.json): %.0f commits (%.0f/s), "
		       "%.0f received from TH (%.1f per commit), %.0f refused\n",
		       dt, la1.commits, R.catchup_la_commits_per_s, la1.received,
		       R.catchup_la_per_commit, la1.refused);
	}
	zero_ms = wait_backlog_zero(exec_ms, 30);
	R.catchup_backlog0_s = zero_ms > 0 ? (zero_ms - (double)exec_ms) / 1000.0 : -1;
	if (zero_ms > 0)
		printf("  TH's status.json read backlog 0 for LA %.1f s after LA's exec (status.json is "
		       "rewritten every second)\n",
		       R.catchup_backlog0_s);
	else
		printf("  TH's backlog for LA did not read 0 within 30 s of LA holding them all\n");
}

/* LA's newest record: a forwarded alert whose origin signature and TH hop
 * verify against the registry, and the totals on both sides. */
static void check_end(void)
{
	principal_t p;
	blo_journal_stats_t st;
	uint8_t *data = NULL;
	size_t len = 0;
	Blonet__Envelope *env = NULL;
	Blonet__Alert *alert = NULL;
	blo_err_t err = {0};
	mstatus_t t = mesh_status_fresh(&th, la.id, blo_now_ms(), 2);
	mstatus_t l = mesh_status(&la, th.id);

	R.th_forwarded = t.forwarded;
	R.th_duplicates = t.duplicates;
	R.th_rejected = t.rejected;
	R.la_refused = l.refused;
	R.la_count = la_count();
	snprintf(R.trace_text, sizeof(R.trace_text), "not checked");
	if (la_journal == NULL || blo_journal_stats(la_journal, &st) != 0 || st.count == 0)
		return;
	if (principal_load(&p, work, CONSOLE) != 0)
		return;
	if (blo_journal_get(la_journal, st.last_seq, &data, &len, NULL, NULL) != 0 ||
	    blo_envelope_parse(&env, data, len, &err) != 0) {
		snprintf(R.trace_text, sizeof(R.trace_text), "seq %" PRIu64 " unreadable: %s",
			 st.last_seq, err.msg);
	} else if (blo_envelope_verify(env, p.registry, &alert, NULL, &err) != 0) {
		snprintf(R.trace_text, sizeof(R.trace_text), "seq %" PRIu64 " does not verify: %s",
			 st.last_seq, err.msg);
	} else {
		R.trace_ok = env->n_trace == 1 && strcmp(env->trace[0]->broker, th.id) == 0 &&
			     alert->handling != NULL && alert->handling->n_releasable_to == 1 &&
			     memcmp(alert->id.data, run_nonce, 8) == 0;
		snprintf(R.trace_text, sizeof(R.trace_text),
			 "LA's newest record (seq %" PRIu64 ", %zu bytes): signature and %zu hop(s) "
			 "verify, hop by %s%s",
			 st.last_seq, len, env->n_trace, env->n_trace > 0 ? env->trace[0]->broker : "-",
			 R.trace_ok ? "" : " (UNEXPECTED)");
	}
	blo_alert_free(&alert);
	blo_envelope_free(&env);
	free(data);
	principal_free(&p);
}

/* ---------------------------------------------------------------- table */

static void print_cpu(const cpu_fig_t *f)
{
	char value[64];

	snprintf(value, sizeof(value), "%.0f / %.0f us", f->th_us, f->la_us);
	printf("%-56s %15s\n", "  CPU per alert: TH / LA", value);
	snprintf(value, sizeof(value), "%.0f%% / %.0f%%", f->machine_pct, f->others_pct);
	printf("%-56s %15s\n", "  machine busy / of which other processes", value);
}

static void print_table(void)
{
	double C = R.curve_per_s;
	size_t total = cfg.forward_n + cfg.backlog_n;
	char label[96];

	printf("\n==== bench_mesh: %d-byte alerts, one link TH -> LA, %d cores ====\n", ALERT_BYTES,
	       R.cores);
	printf("%-56s %14s %9s\n", "figure", "value", "x CURVE");
	printf("%-56s %12.0f/s %8.2fx\n", "raw libzmq CURVE PUSH/PULL (the ceiling)", C, 1.0);
	printf("%-56s %12.0f/s %8.2fx\n", "  the same measured again after the runs", R.curve_end,
	       C > 0 ? R.curve_end / C : 0);
	printf("%-56s %12.0f/s   (after the runs %.0f/s)\n", "Ed25519 verify, 1 core",
	       R.verify_1core_per_s, R.verify_1core_end);
	printf("%-56s %12.0f/s   (after the runs %.0f/s)\n", "Ed25519 verify, all cores",
	       R.verify_all_per_s, R.verify_all_end);
	printf("%-56s %12.0f/s %8.2fx  (origin + hop: 2 verifies per forward)\n",
	       "  half of it: the verify bound of a receiving broker", R.verify_all_per_s / 2,
	       C > 0 ? R.verify_all_per_s / 2 / C : 0);
	printf("%-56s %11.3f ms   (p99 %.3f ms; after the runs: p50 %.3f, p99 %.3f)\n",
	       "synced journal commit of 1 alert: p50", R.commit.p50, R.commit.p99, R.commit_end.p50,
	       R.commit_end.p99);
	snprintf(label, sizeof(label), "forwarding, %zu alerts, verified at LA", cfg.forward_n);
	printf("%-56s %12.0f/s %8.3fx  %s\n", label, R.fwd_per_s, C > 0 ? R.fwd_per_s / C : 0,
	       R.fwd_ok ? "(all held at LA)" : "(INCOMPLETE)");
	printf("%-56s %12.0f/s %8.3fx\n", "  TH ingest in the same phase (final acks)",
	       R.fwd_ingest_per_s, C > 0 ? R.fwd_ingest_per_s / C : 0);
	printf("%-56s %12.0f/s %8.3fx\n", "  TH ingest with the link down (phase 2 publishes)",
	       R.cut_ingest_per_s, C > 0 ? R.cut_ingest_per_s / C : 0);
	printf("%-56s %12.0f\n", "  TH's forwards in flight to LA, average (of 512)",
	       R.fwd_inflight_avg);
	print_cpu(&R.fwd_cpu);
	snprintf(label, sizeof(label), "catch-up, %zu backlog: LA exec -> all held", cfg.backlog_n);
	printf("%-56s %12.0f/s %8.3fx  %s\n", label, R.catchup_per_s,
	       C > 0 ? R.catchup_per_s / C : 0, R.catchup_ok ? "(all held at LA)" : "(INCOMPLETE)");
	printf("%-56s %12.0f/s %8.3fx\n", "  from the first alert stored at LA",
	       R.catchup_after_first_per_s, C > 0 ? R.catchup_after_first_per_s / C : 0);
	printf("%-56s %12.3f s\n", "  LA exec -> first forwarded alert stored", R.catchup_first_s);
	printf("%-56s %12.3f s\n", "  LA exec -> all held", R.catchup_s);
	if (R.catchup_backlog0_s >= 0)
		printf("%-56s %12.1f s   (status.json: +-1 s)\n", "  LA exec -> TH's backlog for LA reads 0",
		       R.catchup_backlog0_s);
	else
		printf("%-56s %14s\n", "  LA exec -> TH's backlog for LA reads 0", "never");
	printf("%-56s %12.0f\n", "  TH's backlog for LA before LA restarted", R.backlog_before);
	printf("%-56s %12.0f\n", "  TH's forwards in flight to LA, average (of 512)",
	       R.catchup_inflight_avg);
	print_cpu(&R.catchup_cpu);
	snprintf(label, sizeof(label), "LA's journal: records (expected %zu)", total);
	printf("%-56s %12" PRIu64 "   %s\n", label, R.la_count,
	       R.la_count == total ? "(none lost, none twice)" : "(MISMATCH)");
	printf("%-56s %12.0f   (duplicates %.0f, refused by LA %.0f; LA refused %.0f)\n",
	       "TH -> LA forwards acknowledged as accepted", R.th_forwarded, R.th_duplicates,
	       R.th_rejected, R.la_refused);
	printf("%s\n", R.trace_text);
	printf("Figures are measurements on this machine, never pass/fail conditions of the build.\n");
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	char prog[4200];
	const char *tmp = getenv("TMPDIR");
	blo_journal_opts_t jopts = {.map_size = (size_t)MAP_SIZE_MB << 20};
	blo_err_t err = {0};
	int rc = 1, status = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg.curve_msgs = 50000;
			cfg.verify_s = 0.3;
			cfg.forward_n = 5000;
			cfg.backlog_n = 10000;
		} else {
			fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
			return 2;
		}
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "libsodium cannot start\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	randombytes_buf(run_nonce, sizeof(run_nonce));
	bin_dir = find_bin_dir(argv[0]);
	for (int i = 0; i < 2; i++) {
		snprintf(prog, sizeof(prog), "%s/%s", bin_dir, i == 0 ? "blonet-broker" : "blonet-provision");
		if (access(prog, X_OK) != 0) {
			printf("bench_mesh: skipped: %s not found; build the programs first (make all)\n",
			       prog);
			return 0;
		}
	}
	atexit(cleanup);

	R.cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(work, sizeof(work), "%s/blonet-bench-mesh-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(work) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", work, strerror(errno));
		return 1;
	}
	printf("bench_mesh: %d-byte alerts on %d cores; limits first, then two brokers and one link\n",
	       ALERT_BYTES, R.cores);
	measure_limits(cfg.curve_msgs, cfg.verify_s, R.cores, &R.curve_per_s, NULL, &R.verify_1core_per_s,
		       &R.verify_all_per_s, NULL);
	if (R.curve_per_s <= 0) {
		fprintf(stderr, "could not measure the CURVE ceiling\n");
		goto out;
	}
	R.commit = measure_commit_latency(work);
	if (provision() != 0 || start(&th) != 0 || start(&la) != 0 || wait_link_up() != 0)
		goto out;
	if (blo_journal_open(&la_journal, la.data_dir, &jopts, &err) != 0) {
		fprintf(stderr, "LA's journal: %s\n", err.msg);
		goto out;
	}
	printf("  deployment in %s; TH broker pid %d, LA broker pid %d; the link is up\n", work,
	       (int)th.pid, (int)la.pid);

	phase_forward();
	phase_catchup();
	check_end();
	blo_journal_close(&la_journal);
	stop_broker(&la.pid, &status);
	stop_broker(&th.pid, &status);

	printf("\n[3] the limits again, to show how steady this machine was during the run\n");
	measure_limits(cfg.curve_msgs, cfg.verify_s, R.cores, &R.curve_end, NULL, &R.verify_1core_end,
		       &R.verify_all_end, NULL);
	R.commit_end = measure_commit_latency(work);
	print_table();
	rc = 0;
out:
	blo_journal_close(&la_journal);
	stop_broker(&la.pid, &status);
	stop_broker(&th.pid, &status);
	if (getenv("BLO_KEEP") != NULL || rc != 0) {
		printf("work folder kept: %s\n", work);
	} else {
		nftw(work, rm_one, 32, FTW_DEPTH | FTW_PHYS);
	}
	return rc;
}

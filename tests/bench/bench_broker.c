/*
 * bench_broker: the real broker end to end, beside the limits of this
 * machine measured in the same run (DESIGN.md section 10).
 *
 * Limits, with 512-byte messages:
 *   - raw libzmq CURVE PUSH/PULL between two threads, each with its own
 *     context (its own libzmq I/O thread), over TCP on 127.0.0.1;
 *   - Ed25519 verifications per second on one core and on every core
 *     (crypto_sign_verify_detached, one thread per core), each thread going
 *     round 256 distinct signed alerts, as a broker's verifiers do. One
 *     alert verified over and over is faster (its branches are learnt) and
 *     is printed beside it, for reference only.
 *   Every accepted alert costs at least one CURVE decryption and one
 *   signature verification: limit = min(CURVE, verify on every core).
 *   Also the latency floor of a durable broker on this disk: single-alert
 *   synced commits into a scratch journal beside the broker's. Limits and
 *   floor are measured again at the end, to show how steady the machine
 *   was, and verify just before and after [1] and [2]: the ratios and
 *   verdicts of those two use the mean of their two (the limit while each
 *   ran), with the ratio to the first limit printed under each; other
 *   ratios use the first measurement.
 *   The limit treats CURVE and verification as if each had the machine to
 *   itself; the clients share these cores with the broker, so the bench
 *   also prints ceilings for [1] and [2] from the CPU per alert of what no
 *   broker can leave out (ceilings()), and each throughput's share of its
 *   ceiling.
 *
 * The broker: a deployment is provisioned into a temporary folder with
 * bin/blonet-provision (one TH broker on tcp://127.0.0.1:0 with the default
 * limits and a 4 GiB journal map, 4 agents, 70 consoles at 70 sites, one
 * committee), bin/blonet-broker runs as a child process, and the bench
 * drives it with lib/blo_client, one client per thread (publishers and
 * subscribers are threads of this process). Alerts are 512 bytes serialized
 * (the description pads them), TLP:AMBER, so every console may receive
 * them. Envelopes are signed with blo_envelope_seal before each timed part,
 * so the publishers' own signing does not limit the broker's figures; the
 * broker still verifies every one. Subscribers do not verify signatures
 * (a console would; here that would only take CPU from the broker) and
 * acknowledge what has arrived in batches of up to 64 sequences.
 *   1. durable ingest: 4 publishers, each with 1,000 publishes in flight;
 *      accepted acks per second (ack = synced commit);
 *   2. publish -> acked delivery: 1 publisher, 1 durable subscriber;
 *   3. fan-out: 1 publisher, 70 durable subscribers, each must receive
 *      every alert (checked by sequence: none lost);
 *   4. latency: 1,000 alerts/s for 20 s, 1 durable subscriber; latency is
 *      delivery time minus publish time, both on this process's monotonic
 *      clock (the alert id carries its index). 20 s, not 5: a p99 of 5,000
 *      samples is its 50 slowest, and one stall of this machine's disk
 *      (commits of 4 to 65 ms were seen, about one a 6 s run) queues an
 *      alert a ms behind it, so whether one fell in the 5 s decided it.
 *      Just before it, the disk's part of that figure on its own: the
 *      same pace and count of alerts, group-committed into a scratch
 *      journal by one thread as the broker commits them (a small batch
 *      answered from the journal's write-ahead log), with no broker,
 *      network or signature (measure_paced_commits), so that a p99 over
 *      target can be told apart from this disk's stalls at that moment;
 *   5. restart: the journal is filled to 1,000,000 alerts directly with
 *      blo_journal_append while the broker is stopped (1,000 real signed
 *      envelopes reused under distinct ids: the broker does not verify
 *      stored records on start), then the time from exec of the broker to
 *      the first Welcome, with data.mdb in the page cache and evicted from
 *      it (posix_fadvise DONTNEED on that file only).
 *   7. (not part of CI) the workload of 2 through NATS JetStream (file
 *      store) and Mosquitto (QoS 1), each started alone after the blonet
 *      phases by tests/bench/compare_brokers (BLO_COMPARE: make bench builds
 *      it when libnats and libmosquitto are installed), with its ratios to
 *      the limit and to the broker's figure of 2; skipped, with the reason,
 *      when the server or compare_brokers is missing.
 * For each phase the CPU used by each broker thread, by this process (the
 * clients) and by the whole machine is printed, with CPU time and context
 * switches per alert and the broker's journal commits with how long its
 * writes to disk took (status.json's counters.commits and commit_ms), and
 * its publishes from read to answer (publish_ms), to show what limits
 * it; the summary puts the broker's own p99 of the latency phase (from
 * its read of a publish to the ack) and its slowest journal write beside
 * the phase's p99.
 *
 * Figures are printed, never asserted: exit 0 whether targets are met or
 * not; 1 only if the bench itself could not run (provisioning failed, the
 * broker did not start).
 *
 * Usage: bench_broker [--quick] [--only PHASE]...
 *   --quick: small counts, for a smoke run;
 *   --only PHASE: run only this phase (ingest, delivery, fanout, latency,
 *   restart; repeatable) after the limits, e.g. to profile one of them.
 * Environment: BLO_BIN (folder of the programs; default: this build's, i.e.
 * bin/ or build/SANITIZER/bin), TMPDIR, BLO_KEEP=1 (keep the work folder),
 * BLO_COMPARE (path of compare_brokers; unset or empty: no comparison),
 * BLO_LAT_DUMP=FILE (write [4]'s latencies, one line per alert: its index,
 * publish -> delivery and publish -> ack in ms, -1 if none came, to see
 * whether its slowest alerts come in bursts behind one slow write).
 * Skipped, with a message and exit 0, when the programs are not built.
 */
#include "bench_util.h" /* clocks, limits, CPU use, status, processes, alerts, publisher */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>

#define N_AGENTS 4
#define N_CONSOLES 70
#define MAP_SIZE_MB 4096
#define ACK_BATCH 64
#define FILL_DISTINCT 1000 /* signed envelopes reused to fill the journal */

#define INGEST_TARGET 0.7
#define DELIVERY_TARGET 0.5
#define P99_TARGET_MS 3.0
#define RESTART_TARGET_S 1.0

/* ---------------------------------------------------------------- settings */

static struct {
	size_t curve_msgs;
	double verify_s;
	size_t ingest_per_pub;
	size_t window;
	size_t delivery_n;
	size_t fanout_n;
	size_t latency_n;
	int latency_rate;
	uint64_t restart_records;
} cfg = {
	.curve_msgs = 400000,
	.verify_s = 1.5,
	.ingest_per_pub = 25000,
	.window = 1000,
	.delivery_n = 50000,
	.fanout_n = 3000,
	.latency_n = 20000,
	.latency_rate = 1000,
	.restart_records = 1000000,
};

static const char *bin_dir;
static char work[4096];
static char broker_config[4096];
static char broker_log[4096];
static char data_dir[4096];
static pid_t broker_pid = -1;
static uint8_t run_nonce[8];
static unsigned only_phases; /* bit i: phase i+1 of phase_names; 0: all */
static const char *const phase_names[] = {"ingest", "delivery", "fanout", "latency", "restart"};
#define N_PHASES (sizeof(phase_names) / sizeof(phase_names[0]))

static bool phase_runs(size_t i)
{
	return only_phases == 0 || (only_phases & (1u << i)) != 0;
}

/* ---------------------------------------------------------------- results */

/* One other server's run of the workload of [2] (compare_brokers). */
typedef struct {
	const char *system;           /* compare_brokers --system */
	const char *name;             /* for people */
	const char *program;          /* the server's program */
	bool ran;                     /* else skipped says why, and why in short */
	char skipped[200];
	const char *why;
	uint64_t count, delivered;
	double seconds, per_s, pub_per_s;
	char server[64];              /* "nats-server 2.9.10" */
	char note[300];               /* what the server has done when it acks */
} compared_t;

typedef struct {
	double curve_per_s, verify_1core_per_s, verify_all_per_s, limit;
	double verify_same_per_s; /* one alert over and over: for reference */
	double curve_end, verify_1core_end, verify_all_end, limit_end;
	/* CPU per alert of what no broker can leave out, and the ceilings
	 * they set with the clients on the same cores (see ceilings()) */
	double curve_cpu_us, store_cpu_us, ceiling_ingest, ceiling_delivery;
	int cores;
	double ingest_per_s;
	/* verify on every core just before and after [1] and [2] (limit_around) */
	double ingest_around[2], delivery_around[2];
	bool ingest_ok;
	double delivery_per_s, delivery_pub_per_s;
	bool delivery_ok;
	double fanout_alerts_per_s, fanout_deliveries_per_s;
	bool fanout_ok, fanout_lossless;
	uint64_t fanout_missing;
	pcts_t lat, commit, commit_start, commit_end;
	pcts_t rtt; /* the transport's part of a latency (measure_curve_rtt); n 0: not run */
	pcts_t paced; /* the disk's part (measure_paced_commits), just before [4]; n 0: not run */
	bool lat_ok;
	int lat_slowest_commit; /* blo_hist bucket of [4]'s slowest journal write; -1: unknown */
	/* blo_hist buckets of [4]'s publishes from the broker's read to its
	 * answer (status.json publish_ms): p50, p99; -1: unknown */
	int lat_broker_p50, lat_broker_p99;
	double stop_s, journal_open_s;
	double fill_s;
	uint64_t stored;
	double restart_warm_s, restart_cold_s, listen_warm_s, listen_cold_s;
	double resident_before, resident_after;
	bool restart_warm_ok, restart_cold_ok;
	compared_t jetstream, mosquitto;
} results_t;

static results_t R = {
	.lat_slowest_commit = -1,
	.lat_broker_p50 = -1,
	.lat_broker_p99 = -1,
	.jetstream = {.system = "jetstream", .name = "JetStream", .program = "nats-server"},
	.mosquitto = {.system = "mosquitto", .name = "Mosquitto", .program = "mosquitto"},
};

/* ---------------------------------------------------------------- processes */

static void cleanup(void)
{
	kill_child(&broker_pid);
}

/* ---------------------------------------------------------------- deployment */

static const char *agent_id(size_t i)
{
	static char ids[N_AGENTS][32];

	snprintf(ids[i], sizeof(ids[i]), "th-agent-%zu", i + 1);
	return ids[i];
}

static const char *console_id(size_t i)
{
	static char ids[N_CONSOLES][32];

	snprintf(ids[i], sizeof(ids[i]), "th-console-%02zu", i + 1);
	return ids[i];
}

static int provision(void)
{
	char topo[4096];
	FILE *fp;

	snprintf(topo, sizeof(topo), "%s/topology.json", work);
	fp = fopen(topo, "w");
	if (fp == NULL)
		return -1;
	fprintf(fp, "{\"name\": \"bench-broker\",\n \"brokers\": [{\"id\": \"th-broker\", \"country\": "
		    "\"TH\", \"listen\": [\"tcp://127.0.0.1:0\"], \"journal\": {\"map_size_mb\": %d}}],\n"
		    " \"principals\": [\n",
		MAP_SIZE_MB);
	for (size_t i = 0; i < N_AGENTS; i++)
		fprintf(fp, "  {\"id\": \"%s\", \"role\": \"agent\", \"country\": \"TH\", \"agency\": "
			    "\"CUSTOMS\", \"site\": \"TH-S%02zu\", \"broker\": \"th-broker\"},\n",
			agent_id(i), i + 1);
	for (size_t i = 0; i < N_CONSOLES; i++)
		fprintf(fp, "  {\"id\": \"%s\", \"role\": \"console\", \"country\": \"TH\", \"site\": "
			    "\"TH-S%02zu\", \"broker\": \"th-broker\"},\n",
			console_id(i), i + 1);
	fprintf(fp, "  {\"id\": \"th-committee\", \"role\": \"committee\", \"country\": \"TH\", "
		    "\"broker\": \"th-broker\"}\n ]}\n");
	fclose(fp);
	if (provision_run(bin_dir, work, topo) != 0)
		return -1;
	snprintf(broker_config, sizeof(broker_config), "%s/d/th-broker/config.json", work);
	snprintf(broker_log, sizeof(broker_log), "%s/broker.log", work);
	return broker_data_dir(broker_config, data_dir, sizeof(data_dir));
}

/* ---------------------------------------------------------------- subscriber */

typedef struct {
	const char *id;
	const char *durable;
	uint64_t expect;              /* distinct sequences to receive */
	atomic_int *subscribed;       /* +1 once Subscribed arrived (or failed) */
	atomic_int *stop;
	/* latency */
	_Atomic int64_t *pub_ns;
	unsigned lat_phase;
	double *lat_ms;               /* per alert index, -1 until delivered */
	/* out */
	uint64_t base;                /* the first sequence (Subscribed.next_seq) */
	uint8_t *seen;                /* by seq - base */
	uint64_t distinct, redelivered, outside;
	int64_t end_ns;
	int failed;
	char error[300];
} sub_t;

static void *sub_main(void *arg)
{
	sub_t *s = arg;
	blo_client_t *c = NULL;
	blo_err_t err = {0};
	uint64_t acks[ACK_BATCH];
	size_t n_acks = 0;
	char path[4096];
	bool counted = false;
	int64_t deadline;

	s->seen = calloc(s->expect + 1, 1);
	if (s->seen == NULL ||
	    blo_client_open_config(&c, principal_config(path, sizeof(path), work, s->id), "bench-sub",
				   &err) != 0 ||
	    blo_client_subscribe(c, s->durable, NULL, BLONET__START_AT__START_NOW, 0, 0, 0, &err) != 0) {
		snprintf(s->error, sizeof(s->error), "%s: %s", s->id, err.msg);
		goto fail;
	}
	deadline = now_ns() + 30 * (int64_t)1000000000;
	while (!counted) {
		Blonet__Frame *f = NULL;

		if (blo_client_next(c, 100, &f, &err) != 0) {
			snprintf(s->error, sizeof(s->error), "%s: %s", s->id, err.msg);
			goto fail;
		}
		if (f != NULL && f->body_case == BLONET__FRAME__BODY_SUBSCRIBED) {
			s->base = f->subscribed->next_seq;
			atomic_fetch_add(s->subscribed, 1);
			counted = true;
		} else if (f != NULL && f->body_case == BLONET__FRAME__BODY_ERROR) {
			snprintf(s->error, sizeof(s->error), "%s: subscribe: %s", s->id, f->error->text);
			blo_message_free((ProtobufCMessage **)&f);
			goto fail;
		}
		blo_message_free((ProtobufCMessage **)&f);
		if (!counted && now_ns() > deadline) {
			snprintf(s->error, sizeof(s->error), "%s: no Subscribed within 30 s", s->id);
			goto fail;
		}
	}
	while (s->distinct < s->expect && !atomic_load(s->stop)) {
		Blonet__Frame *f = NULL;

		if (blo_client_next(c, n_acks > 0 ? 0 : 100, &f, &err) != 0) {
			snprintf(s->error, sizeof(s->error), "%s: %s", s->id, err.msg);
			goto fail;
		}
		if (f == NULL) {
			if (n_acks > 0)
				blo_client_ack(c, s->durable, acks, n_acks, NULL);
			n_acks = 0;
			continue;
		}
		if (f->body_case == BLONET__FRAME__BODY_DELIVER) {
			const Blonet__Deliver *d = f->deliver;
			int64_t t = now_ns();

			if (d->seq >= s->base && d->seq < s->base + s->expect) {
				uint64_t k = d->seq - s->base;

				if (s->seen[k]) {
					s->redelivered++;
				} else {
					s->seen[k] = 1;
					s->distinct++;
				}
			} else {
				s->outside++;
			}
			if (s->pub_ns != NULL) {
				Blonet__Envelope *env = NULL;
				Blonet__Alert *alert = NULL;

				if (blo_envelope_parse(&env, d->envelope.data, d->envelope.len, NULL) == 0 &&
				    blo_alert_parse(&alert, env->alert.data, env->alert.len, NULL) == 0 &&
				    alert->id.len == BLO_ID_BYTES &&
				    memcmp(alert->id.data, run_nonce, 8) == 0) {
					uint64_t serial = serial_of(alert->id.data);
					uint64_t i = serial & ((UINT64_C(1) << 40) - 1);

					if ((serial >> 40) == s->lat_phase && i < s->expect &&
					    s->lat_ms[i] < 0)
						s->lat_ms[i] =
							(double)(t - atomic_load_explicit(
									     &s->pub_ns[i],
									     memory_order_relaxed)) /
							1e6;
				}
				blo_alert_free(&alert);
				blo_envelope_free(&env);
			}
			acks[n_acks++] = d->seq;
			if (n_acks == ACK_BATCH) {
				blo_client_ack(c, s->durable, acks, n_acks, NULL);
				n_acks = 0;
			}
		}
		blo_message_free((ProtobufCMessage **)&f);
	}
	if (n_acks > 0)
		blo_client_ack(c, s->durable, acks, n_acks, NULL);
	s->end_ns = now_ns();
	/* Let the last acks leave (close lingers too). */
	{
		Blonet__Frame *f = NULL;

		blo_client_next(c, 20, &f, NULL);
		blo_message_free((ProtobufCMessage **)&f);
	}
	blo_client_close(&c);
	return NULL;
fail:
	s->failed = 1;
	if (!counted)
		atomic_fetch_add(s->subscribed, 1);
	blo_client_close(&c);
	return NULL;
}

/* Starts subscribers and waits until each has its Subscribed (or failed). */
static int start_subs(sub_t *subs, pthread_t *th, size_t n, atomic_int *subscribed)
{
	int64_t deadline = now_ns() + 60 * (int64_t)1000000000;

	for (size_t i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, sub_main, &subs[i]) != 0)
			return -1;
	while (atomic_load(subscribed) < (int)n && now_ns() < deadline)
		sleep_ns(5000000);
	for (size_t i = 0; i < n; i++)
		if (subs[i].failed) {
			fprintf(stderr, "subscriber: %s\n", subs[i].error);
			return -1;
		}
	return atomic_load(subscribed) == (int)n ? 0 : -1;
}

/* Waits for subscribers: until they are done, or STALL_S without any new
 * delivery among them; then tells the rest to stop. */
static void join_subs(sub_t *subs, pthread_t *th, size_t n, atomic_int *stop)
{
	uint64_t last_total = 0;
	int64_t last_progress = now_ns();

	for (;;) {
		uint64_t total = 0;
		bool all = true;

		for (size_t i = 0; i < n; i++) {
			/* Read racily for progress only; the figures are read after join. */
			total += __atomic_load_n(&subs[i].distinct, __ATOMIC_RELAXED);
			if (__atomic_load_n(&subs[i].end_ns, __ATOMIC_RELAXED) == 0 && !subs[i].failed)
				all = false;
		}
		if (all)
			break;
		if (total != last_total) {
			last_total = total;
			last_progress = now_ns();
		} else if (now_ns() - last_progress > STALL_S * (int64_t)1000000000) {
			fprintf(stderr, "subscribers: no delivery for %d s, stopping them\n", STALL_S);
			break;
		}
		sleep_ns(10000000);
	}
	atomic_store(stop, 1);
	for (size_t i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

static pub_t pub_init(const char *id, size_t n, unsigned phase, pthread_barrier_t *ready)
{
	return (pub_t){.work = work, .id = id, .nonce = run_nonce, .n = n, .window = cfg.window,
		       .phase = phase, .ready = ready};
}

/* ---------------------------------------------------------------- phases */

/* Verify on every core, measured again just before or after a throughput
 * phase: this machine's rate drifts by a fifth within a run (other tenants),
 * so the ratios of [1] and [2] use the limit around them (print_throughput). */
static double limit_around(const char *when)
{
	double v = measure_verify(R.cores, cfg.verify_s, false);

	printf("  the limit %s it: Ed25519 verify on %d cores %.0f/s\n", when, R.cores, v);
	return R.curve_per_s < v ? R.curve_per_s : v;
}

/* The mean of a phase's two limit_around figures (0: not measured). */
static double around(const double a[2])
{
	return a[0] > 0 && a[1] > 0 ? (a[0] + a[1]) / 2 : 0;
}

static void phase_ingest(void)
{
	pub_t pubs[N_AGENTS];
	pthread_t th[N_AGENTS];
	pthread_barrier_t ready;
	cpu_snap_t a, b;
	status_t sa, sb;
	int64_t t0, t1 = 0;
	uint64_t accepted = 0;
	bool ok = true;

	printf("\n[1] durable ingest: %d publishers x %zu alerts, %zu in flight each\n", N_AGENTS,
	       cfg.ingest_per_pub, cfg.window);
	R.ingest_around[0] = limit_around("before");
	pthread_barrier_init(&ready, NULL, N_AGENTS + 1);
	for (size_t i = 0; i < N_AGENTS; i++) {
		pubs[i] = pub_init(agent_id(i), cfg.ingest_per_pub, 1 + (unsigned)i, &ready);
		pthread_create(&th[i], NULL, pub_main, &pubs[i]);
	}
	pthread_barrier_wait(&ready);
	t0 = now_ns();
	cpu_snapshot(&a, broker_pid);
	sa = read_status(data_dir, 0);
	for (size_t i = 0; i < N_AGENTS; i++) {
		pthread_join(th[i], NULL);
		ok = pub_report(&pubs[i]) && ok;
		accepted += pubs[i].accepted;
		if (pubs[i].end_ns > t1)
			t1 = pubs[i].end_ns;
	}
	cpu_snapshot(&b, broker_pid);
	pthread_barrier_destroy(&ready);
	R.ingest_ok = ok;
	R.ingest_per_s = t1 > t0 ? (double)accepted / secs(t1 - t0) : 0;
	printf("  %" PRIu64 " accepted in %.2f s: %.0f alerts/s%s\n", accepted, secs(t1 - t0),
	       R.ingest_per_s, ok ? "" : " (INCOMPLETE)");
	cpu_report("ingest", &a, &b, (double)accepted, "alert");
	R.ingest_around[1] = limit_around("after");
	sb = read_status(data_dir, blo_now_ms());
	status_report(&sa, &sb);
}

static void phase_delivery(void)
{
	pub_t pub;
	sub_t sub = {0};
	pthread_t pth, sth;
	pthread_barrier_t ready;
	atomic_int subscribed = 0, stop = 0;
	cpu_snap_t a, b;
	status_t sa, sb;
	int64_t t0;
	bool ok;

	printf("\n[2] publish -> acked delivery: 1 publisher (%zu in flight), 1 durable subscriber, "
	       "%zu alerts\n",
	       cfg.window, cfg.delivery_n);
	R.delivery_around[0] = limit_around("before");
	sub = (sub_t){.id = console_id(0), .durable = "bench-delivery", .expect = cfg.delivery_n,
		      .subscribed = &subscribed, .stop = &stop};
	if (start_subs(&sub, &sth, 1, &subscribed) != 0) {
		atomic_store(&stop, 1);
		pthread_join(sth, NULL);
		return;
	}
	pthread_barrier_init(&ready, NULL, 2);
	pub = pub_init(agent_id(0), cfg.delivery_n, 10, &ready);
	pthread_create(&pth, NULL, pub_main, &pub);
	pthread_barrier_wait(&ready);
	t0 = now_ns();
	cpu_snapshot(&a, broker_pid);
	sa = read_status(data_dir, 0);
	pthread_join(pth, NULL);
	ok = pub_report(&pub);
	join_subs(&sub, &sth, 1, &stop);
	cpu_snapshot(&b, broker_pid);
	pthread_barrier_destroy(&ready);
	ok = ok && !sub.failed && sub.distinct == cfg.delivery_n;
	if (sub.failed)
		fprintf(stderr, "  subscriber: %s\n", sub.error);
	R.delivery_ok = ok;
	R.delivery_per_s = sub.end_ns > t0 ? (double)sub.distinct / secs(sub.end_ns - t0) : 0;
	R.delivery_pub_per_s = pub.end_ns > t0 ? (double)pub.accepted / secs(pub.end_ns - t0) : 0;
	printf("  %" PRIu64 " of %zu delivered and acked in %.2f s: %.0f alerts/s (publisher acked at "
	       "%.0f/s; %" PRIu64 " redelivered)%s\n",
	       sub.distinct, cfg.delivery_n, secs(sub.end_ns - t0), R.delivery_per_s,
	       R.delivery_pub_per_s, sub.redelivered, ok ? "" : " (INCOMPLETE)");
	cpu_report("delivery", &a, &b, (double)sub.distinct, "alert published and delivered");
	R.delivery_around[1] = limit_around("after");
	sb = read_status(data_dir, blo_now_ms());
	status_report(&sa, &sb);
	free(sub.seen);
}

static void phase_fanout(void)
{
	sub_t *subs = calloc(N_CONSOLES, sizeof(*subs));
	pthread_t *sth = calloc(N_CONSOLES, sizeof(*sth));
	pub_t pub;
	pthread_t pth;
	pthread_barrier_t ready;
	atomic_int subscribed = 0, stop = 0;
	cpu_snap_t a, b;
	status_t sa, sb;
	int64_t t0, t1 = 0;
	uint64_t delivered = 0, missing = 0, redelivered = 0;
	bool ok;

	if (subs == NULL || sth == NULL)
		goto out;
	printf("\n[3] fan-out: 1 publisher, %d durable subscribers (one thread and client each), %zu "
	       "alerts\n",
	       N_CONSOLES, cfg.fanout_n);
	for (size_t i = 0; i < N_CONSOLES; i++)
		subs[i] = (sub_t){.id = console_id(i), .durable = "bench-fanout", .expect = cfg.fanout_n,
				  .subscribed = &subscribed, .stop = &stop};
	if (start_subs(subs, sth, N_CONSOLES, &subscribed) != 0) {
		fprintf(stderr, "  fan-out: subscribers did not all subscribe\n");
		atomic_store(&stop, 1);
		for (size_t i = 0; i < N_CONSOLES; i++)
			pthread_join(sth[i], NULL);
		goto out;
	}
	pthread_barrier_init(&ready, NULL, 2);
	pub = pub_init(agent_id(1), cfg.fanout_n, 20, &ready);
	pthread_create(&pth, NULL, pub_main, &pub);
	pthread_barrier_wait(&ready);
	t0 = now_ns();
	cpu_snapshot(&a, broker_pid);
	sa = read_status(data_dir, 0);
	pthread_join(pth, NULL);
	ok = pub_report(&pub);
	join_subs(subs, sth, N_CONSOLES, &stop);
	cpu_snapshot(&b, broker_pid);
	pthread_barrier_destroy(&ready);
	for (size_t i = 0; i < N_CONSOLES; i++) {
		if (subs[i].failed)
			fprintf(stderr, "  subscriber %s: %s\n", subs[i].id, subs[i].error);
		/* The alerts published are seqs min_seq..max_seq: each
		 * subscriber's base must be min_seq and all of them seen. */
		if (subs[i].base != pub.min_seq)
			ok = false;
		delivered += subs[i].distinct;
		redelivered += subs[i].redelivered;
		missing += cfg.fanout_n - subs[i].distinct;
		if (subs[i].end_ns > t1)
			t1 = subs[i].end_ns;
		if (subs[i].end_ns == 0)
			t1 = now_ns();
	}
	R.fanout_missing = missing;
	R.fanout_lossless = ok && missing == 0 && pub.max_seq - pub.min_seq + 1 == cfg.fanout_n;
	R.fanout_ok = R.fanout_lossless;
	R.fanout_alerts_per_s = t1 > t0 ? (double)cfg.fanout_n / secs(t1 - t0) : 0;
	R.fanout_deliveries_per_s = t1 > t0 ? (double)delivered / secs(t1 - t0) : 0;
	printf("  %" PRIu64 " of %zu deliveries in %.2f s: %.0f alerts/s to all %d, %.0f "
	       "deliveries/s; missing %" PRIu64 ", redelivered %" PRIu64 "\n",
	       delivered, cfg.fanout_n * N_CONSOLES, secs(t1 - t0), R.fanout_alerts_per_s,
	       N_CONSOLES, R.fanout_deliveries_per_s, missing, redelivered);
	cpu_report("fan-out", &a, &b, (double)delivered, "delivery");
	sb = read_status(data_dir, blo_now_ms());
	status_report(&sa, &sb);
out:
	for (size_t i = 0; subs != NULL && i < N_CONSOLES; i++)
		free(subs[i].seen);
	free(subs);
	free(sth);
}

static void phase_latency(void)
{
	size_t n = cfg.latency_n;
	_Atomic int64_t *pub_ns = calloc(n, sizeof(*pub_ns));
	double *lat = malloc(n * sizeof(*lat)), *ack = malloc(n * sizeof(*ack));
	pub_t pub;
	sub_t sub = {0};
	pthread_t pth, sth;
	pthread_barrier_t ready;
	atomic_int subscribed = 0, stop = 0;
	cpu_snap_t a, b;
	status_t sa, sb;
	pcts_t acks;

	if (pub_ns == NULL || lat == NULL || ack == NULL)
		goto out;
	printf("\n[4] latency: %zu alerts at %d/s from 1 publisher to 1 durable subscriber\n", n,
	       cfg.latency_rate);
	/* The disk as it is now, with the other phases' writes behind it. */
	R.paced = measure_paced_commits(work, cfg.latency_rate, n);
	for (size_t i = 0; i < n; i++)
		lat[i] = ack[i] = -1;
	sub = (sub_t){.id = console_id(0), .durable = "bench-latency", .expect = n,
		      .subscribed = &subscribed, .stop = &stop, .pub_ns = pub_ns, .lat_phase = 30,
		      .lat_ms = lat};
	if (start_subs(&sub, &sth, 1, &subscribed) != 0) {
		atomic_store(&stop, 1);
		pthread_join(sth, NULL);
		goto out;
	}
	pthread_barrier_init(&ready, NULL, 2);
	pub = pub_init(agent_id(2), n, 30, &ready);
	pub.pace_per_s = cfg.latency_rate;
	pub.pub_ns = pub_ns;
	pub.ack_ms = ack;
	pthread_create(&pth, NULL, pub_main, &pub);
	pthread_barrier_wait(&ready);
	cpu_snapshot(&a, broker_pid);
	sa = read_status(data_dir, 0);
	pthread_join(pth, NULL);
	pub_report(&pub);
	join_subs(&sub, &sth, 1, &stop);
	cpu_snapshot(&b, broker_pid);
	pthread_barrier_destroy(&ready);
	if (getenv("BLO_LAT_DUMP") != NULL && getenv("BLO_LAT_DUMP")[0] != '\0') {
		FILE *df = fopen(getenv("BLO_LAT_DUMP"), "w");

		if (df == NULL) {
			fprintf(stderr, "BLO_LAT_DUMP %s: %s\n", getenv("BLO_LAT_DUMP"), strerror(errno));
		} else {
			for (size_t i = 0; i < n; i++)
				fprintf(df, "%zu %.3f %.3f\n", i, lat[i], ack[i]);
			fclose(df);
		}
	}
	R.lat = percentiles(lat, n);
	acks = percentiles(ack, n);
	R.lat_ok = R.lat.n == n;
	print_pcts("publish -> PublishAck (seen by the paced publisher)", &acks);
	print_pcts("publish -> delivery", &R.lat);
	cpu_report("latency", &a, &b, (double)R.lat.n, "alert published and delivered");
	sb = read_status(data_dir, blo_now_ms());
	status_report(&sa, &sb);
	if (sa.ok && sb.ok) {
		uint64_t commits[BLO_HIST_BUCKETS], publishes[BLO_HIST_BUCKETS];

		commits_between(&sa, &sb, commits);
		R.lat_slowest_commit = slowest_bucket(commits);
		hist_between(sa.publish_le, sb.publish_le, publishes);
		R.lat_broker_p50 = blo_hist_quantile_bucket(publishes, 0.5);
		R.lat_broker_p99 = blo_hist_quantile_bucket(publishes, 0.99);
	}
out:
	free(sub.seen);
	free((void *)pub_ns);
	free(lat);
	free(ack);
}

/* Fraction of path's pages in the page cache. */
static double resident_fraction(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	double frac = -1;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		long page = sysconf(_SC_PAGESIZE);
		size_t pages = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page;
		void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		unsigned char *vec = malloc(pages);

		if (map != MAP_FAILED && vec != NULL && mincore(map, (size_t)st.st_size, vec) == 0) {
			size_t in = 0;

			for (size_t i = 0; i < pages; i++)
				in += vec[i] & 1;
			frac = (double)in / (double)pages;
		}
		if (map != MAP_FAILED)
			munmap(map, (size_t)st.st_size);
		free(vec);
	}
	close(fd);
	return frac;
}

/* Fills the journal to cfg.restart_records alerts while the broker is
 * stopped. */
static int fill_journal(void)
{
	principal_t p;
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.map_size = (size_t)MAP_SIZE_MB << 20};
	blo_journal_stats_t st;
	blo_journal_entry_t *entries = calloc(1000, sizeof(*entries));
	uint8_t (*ids)[BLO_JOURNAL_ID_BYTES] = calloc(1000, BLO_JOURNAL_ID_BYTES);
	uint8_t *envs[FILL_DISTINCT] = {0};
	size_t lens[FILL_DISTINCT];
	blo_err_t err = {0};
	uint64_t start_count;
	int64_t t0;
	int rc = -1;

	if (entries == NULL || ids == NULL || principal_load(&p, work, agent_id(3)) != 0)
		goto out;
	for (size_t i = 0; i < FILL_DISTINCT; i++)
		if (seal_alert(p.identity, p.me, run_nonce, SERIAL(40, i), NULL, &envs[i], &lens[i]) != 0)
			goto out_p;
	if ((rc = blo_journal_open(&j, data_dir, &opts, &err)) != 0) {
		fprintf(stderr, "journal: %s\n", err.msg);
		goto out_p;
	}
	blo_journal_stats(j, &st);
	start_count = st.count;
	t0 = now_ns();
	for (uint64_t have = st.count, k = 0; have < cfg.restart_records;) {
		size_t n = cfg.restart_records - have < 1000 ? (size_t)(cfg.restart_records - have) : 1000;
		int64_t t = blo_now_ms();

		for (size_t i = 0; i < n; i++, k++) {
			randombytes_buf(ids[i], BLO_JOURNAL_ID_BYTES);
			entries[i] = (blo_journal_entry_t){.id = ids[i],
							   .data = envs[k % FILL_DISTINCT],
							   .len = lens[k % FILL_DISTINCT],
							   .time_ms = t};
		}
		if ((rc = blo_journal_append(j, entries, n, &err)) != 0) {
			fprintf(stderr, "journal append: %s\n", err.msg);
			break;
		}
		have += n;
	}
	R.fill_s = secs(now_ns() - t0);
	blo_journal_stats(j, &st);
	R.stored = st.count;
	printf("  journal filled from its %" PRIu64 " alerts to %" PRIu64 " in %.1f s (%.0f MB used)\n",
	       start_count, st.count,
	       R.fill_s, (double)st.used_bytes / 1e6);
	blo_journal_close(&j);
	{
		int64_t t1 = now_ns();

		if (blo_journal_open(&j, data_dir, &opts, &err) == 0) {
			R.journal_open_s = secs(now_ns() - t1);
			printf("  blo_journal_open of the %" PRIu64 " alerts alone (id index rebuilt): "
			       "%.3f s\n",
			       st.count, R.journal_open_s);
		}
		blo_journal_close(&j);
	}
out_p:
	for (size_t i = 0; i < FILL_DISTINCT; i++)
		free(envs[i]);
	principal_free(&p);
out:
	free(entries);
	free(ids);
	return rc;
}

/* Exec of the broker to its first Welcome. *listen_s: to its port
 * accepting TCP connections. */
static int measure_restart(double *serving_s, double *listen_s)
{
	principal_t p;
	blo_client_opts_t opts = {0};
	blo_client_t *c = NULL;
	blo_err_t err = {0};
	struct sockaddr_in addr = {.sin_family = AF_INET};
	const char *port_p;
	int64_t t0, t_listen;
	int rc = -1;

	if (principal_load(&p, work, "th-committee") != 0)
		return -1;
	port_p = strrchr(p.endpoint, ':');
	addr.sin_port = htons((uint16_t)atoi(port_p != NULL ? port_p + 1 : "0"));
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	opts.endpoint = p.endpoint;
	opts.broker_id = p.broker->id;
	opts.broker_curve_public = p.broker->curve_public;
	opts.identity = p.identity;
	opts.software = "bench-restart";

	t0 = now_ns();
	broker_pid = spawn_broker(bin_dir, broker_config, broker_log);
	/* Probe the port every 0.5 ms rather than rely on libzmq's reconnect
	 * back-off, which would add up to seconds. */
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int status;

		if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			close(fd);
			break;
		}
		if (fd >= 0)
			close(fd);
		if (waitpid(broker_pid, &status, WNOHANG) == broker_pid) {
			fprintf(stderr, "broker exited during start; see %s\n", broker_log);
			broker_pid = -1;
			goto out;
		}
		if (now_ns() - t0 > 60 * (int64_t)1000000000) {
			fprintf(stderr, "broker did not listen within 60 s\n");
			goto out;
		}
		sleep_ns(500000);
	}
	t_listen = now_ns();
	if (blo_client_open(&c, &opts, &err) != 0 || blo_client_wait_ready(c, 30000, &err) != 0) {
		fprintf(stderr, "restart: %s\n", err.msg);
		goto out;
	}
	*serving_s = secs(now_ns() - t0);
	*listen_s = secs(t_listen - t0);
	rc = 0;
out:
	blo_client_close(&c);
	principal_free(&p);
	return rc;
}

static void phase_restart(void)
{
	char mdb[4200];
	int status = 0, fd;

	printf("\n[5] restart with %" PRIu64 " stored alerts\n", cfg.restart_records);
	R.stop_s = stop_broker(&broker_pid, &status);
	printf("  broker stopped by SIGTERM in %.3f s, exit status %d\n", R.stop_s, status);
	if (fill_journal() != 0)
		return;
	if (measure_restart(&R.restart_warm_s, &R.listen_warm_s) != 0)
		return;
	R.restart_warm_ok = true;
	printf("  warm (data.mdb in the page cache): listening after %.3f s, first Welcome after "
	       "%.3f s\n",
	       R.listen_warm_s, R.restart_warm_s);
	stop_broker(&broker_pid, &status);
	snprintf(mdb, sizeof(mdb), "%s/data.mdb", data_dir);
	R.resident_before = resident_fraction(mdb);
	fd = open(mdb, O_RDONLY);
	if (fd >= 0) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	R.resident_after = resident_fraction(mdb);
	if (measure_restart(&R.restart_cold_s, &R.listen_cold_s) != 0)
		return;
	R.restart_cold_ok = true;
	printf("  cold (data.mdb evicted: %.0f%% -> %.0f%% resident): listening after %.3f s, first "
	       "Welcome after %.3f s\n",
	       100 * R.resident_before, 100 * R.resident_after, R.listen_cold_s, R.restart_cold_s);
}

/* ---------------------------------------------------------------- comparison */

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096], full[4200];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s:/usr/sbin:/sbin", path != NULL ? path : "/usr/bin:/bin");
	for (char *dir = strtok_r(buf, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
		snprintf(full, sizeof(full), "%s/%s", dir, prog);
		if (access(full, X_OK) == 0)
			return true;
	}
	return false;
}

/* Runs compare_brokers for c with the workload of [2]; its output (one JSON
 * line, and any messages) goes to WORK/compare-SYSTEM.out. */
static void compare_run(const char *prog, compared_t *c)
{
	char out[4200], count[32], size[32], window[32], line[4096];
	char *argv[] = {(char *)prog, "--system", (char *)c->system, "--count", count, "--size", size,
			"--window", window, NULL};
	FILE *fp;
	int rc;

	snprintf(count, sizeof(count), "%zu", cfg.delivery_n);
	snprintf(size, sizeof(size), "%d", ALERT_BYTES);
	snprintf(window, sizeof(window), "%zu", cfg.window);
	snprintf(out, sizeof(out), "%s/compare-%s.out", work, c->system);
	rc = run_program(argv, out);
	fp = fopen(out, "r");
	while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
		cJSON *o;

		if (line[0] != '{') {
			printf("    %s", line); /* its messages */
			continue;
		}
		o = cJSON_Parse(line);
		if (o != NULL) {
			const cJSON *server = cJSON_GetObjectItemCaseSensitive(o, "server");
			const cJSON *note = cJSON_GetObjectItemCaseSensitive(o, "note");

			c->count = (uint64_t)json_num(o, "count");
			c->delivered = (uint64_t)json_num(o, "delivered");
			c->seconds = json_num(o, "seconds");
			c->per_s = json_num(o, "per_s");
			c->pub_per_s = json_num(o, "publisher_acked_per_s");
			snprintf(c->server, sizeof(c->server), "%s",
				 cJSON_IsString(server) ? server->valuestring : c->program);
			snprintf(c->note, sizeof(c->note), "%s",
				 cJSON_IsString(note) ? note->valuestring : "");
			c->ran = true;
			cJSON_Delete(o);
		}
	}
	if (fp != NULL)
		fclose(fp);
	if (!c->ran) {
		c->why = "compare_brokers failed";
		snprintf(c->skipped, sizeof(c->skipped),
			 "compare_brokers failed (exit %d; its messages, if any, above)", rc);
	}
}

static void comparison(void)
{
	const char *prog = getenv("BLO_COMPARE");
	bool built = prog != NULL && prog[0] != '\0' && access(prog, X_OK) == 0;
	compared_t *systems[] = {&R.jetstream, &R.mosquitto};

	printf("\n[7] JetStream / Mosquitto (not part of CI): the workload of [2] through each, "
	       "alone, after the blonet runs:\n    %zu alerts of %d bytes, 1 publisher with %zu in "
	       "flight, 1 durable subscriber started first (compare_brokers)\n",
	       cfg.delivery_n, ALERT_BYTES, cfg.window);
	for (size_t i = 0; i < sizeof(systems) / sizeof(systems[0]); i++) {
		compared_t *c = systems[i];

		if (!in_path(c->program)) {
			c->why = "server not installed";
			snprintf(c->skipped, sizeof(c->skipped),
				 "%s not installed (as root: bash deploy/deps.sh --bench)", c->program);
		} else if (!built) {
			c->why = "compare_brokers not built";
			snprintf(c->skipped, sizeof(c->skipped),
				 "compare_brokers not built (it needs libnats-dev and libmosquitto-dev: "
				 "as root, bash deploy/deps.sh --bench; then make bench)");
		} else {
			compare_run(prog, c);
		}
		if (!c->ran) {
			printf("  %s: skipped: %s\n", c->name, c->skipped);
			continue;
		}
		printf("  %s (%s): %" PRIu64 " of %" PRIu64 " delivered and acked in %.2f s: %.0f "
		       "alerts/s (publisher acked at %.0f/s)%s\n",
		       c->name, c->server, c->delivered, c->count, c->seconds, c->per_s, c->pub_per_s,
		       c->delivered == c->count ? "" : " (INCOMPLETE)");
		printf("    %.2fx the limit (%.0f/s), %.2fx the blonet broker's [2] (%.0f/s)\n",
		       c->per_s / R.limit, R.limit, R.delivery_per_s > 0 ? c->per_s / R.delivery_per_s : 0,
		       R.delivery_per_s);
		printf("    note: %s\n", c->note);
	}
	printf("  Beside these figures: the blonet broker acknowledges a publish only after a synced "
	       "LMDB commit; JetStream and Mosquitto acknowledge before syncing anything.\n");
}

/* ---------------------------------------------------------------- ceilings */

/* What this machine allows for [1] and [2]. The limit takes the lower of
 * CURVE and verification on every core, as if each had the machine to
 * itself. Here the broker and its clients share the cores, so costs add:
 * every alert costs at least one verification, its 512-byte CURVE message
 * into the broker (encrypted by the publisher, decrypted by the broker) and
 * its synced store (in commits of 64, about the broker's batch under
 * load); a delivery one more CURVE message out. Counting only these, and
 * nothing for acks, parsing, routing or hand-offs between threads, a
 * broker with its clients on these cores reaches at most about
 *   [1] ingest:   cores / (verify + CURVE + store)
 *   [2] delivery: cores / (verify + 2 CURVE + store)
 * per second, verify being the CPU per verification with every core
 * verifying (as in the limit). 0 when a part could not be measured. */
static void ceilings(void)
{
	double verify_us;

	if (R.verify_all_per_s <= 0 || R.curve_cpu_us <= 0 || R.store_cpu_us <= 0)
		return;
	verify_us = R.cores * 1e6 / R.verify_all_per_s;
	R.ceiling_ingest = R.cores * 1e6 / (verify_us + R.curve_cpu_us + R.store_cpu_us);
	R.ceiling_delivery = R.cores * 1e6 / (verify_us + 2 * R.curve_cpu_us + R.store_cpu_us);
	printf("  ceilings with the clients on these %d cores, from %.1f us (verify) + %.1f (CURVE) + "
	       "%.1f (store) per alert: ingest %.0f/s (%.2fx the limit), delivery %.0f/s (%.2fx)\n",
	       R.cores, verify_us, R.curve_cpu_us, R.store_cpu_us, R.ceiling_ingest,
	       R.ceiling_ingest / R.limit, R.ceiling_delivery, R.ceiling_delivery / R.limit);
}

/* The table's line for a ceiling, and whether a target is above it. */
static void print_ceiling(const char *label, double ceiling, double target)
{
	if (ceiling <= 0) {
		printf("%-52s %14s\n", label, "unmeasured");
		return;
	}
	printf("%-52s %12.0f/s %7.2fx   (the %.2fx target is %s it)\n", label, ceiling,
	       ceiling / R.limit, target, target * R.limit > ceiling ? "ABOVE" : "within");
}

static const char *verdict(bool met)
{
	return met ? "met" : "BELOW";
}

/* A throughput's lines: its ratio and verdict against the limit measured
 * around its phase (the mean of the two: the machine while it ran), then
 * against the run's first limit, which is what the ratio was before; with
 * no measurement around it, the first limit alone. */
static void print_throughput(const char *label, double per_s, bool ok, const double a[2],
			     double target)
{
	double l = around(a) > 0 ? around(a) : R.limit;
	char want[16];

	snprintf(want, sizeof(want), ">= %.2fx", target);
	printf("%-52s %12.0f/s %7.2fx %9s  %s\n", label, per_s, per_s / l, want,
	       verdict(ok && per_s >= target * l));
	if (around(a) > 0)
		printf("%-52s %12.0f/s %7s    (verify before it %.0f/s, after it %.0f/s)\n",
		       "  the limit around it, the ratio's base", l, "", a[0], a[1]);
	printf("%-52s %14.2fx   (that limit %.0f/s)\n", "  against the run's first limit",
	       per_s / R.limit, R.limit);
}

/* The share of its ceiling a throughput reached. */
static void print_share(double per_s, double ceiling)
{
	if (ceiling > 0)
		printf("%-52s %14.2f\n", "  of this machine's ceiling for it", per_s / ceiling);
}

/* ---------------------------------------------------------------- table */

/* One line of the table for another server's run of [2]. */
static void print_compared(const compared_t *c, const char *label, const char *acks)
{
	if (!c->ran) {
		printf("%-52s %14s            (%s; see [7])\n", label, "skipped",
		       c->why != NULL ? c->why : "not run");
		return;
	}
	printf("%-52s %12.0f/s %7.2fx %9s  %.2fx blonet's; %s%s\n", label, c->per_s,
	       c->per_s / R.limit, "", R.delivery_per_s > 0 ? c->per_s / R.delivery_per_s : 0, acks,
	       c->delivered == c->count ? "" : " (INCOMPLETE)");
}

static void not_run(const char *label)
{
	printf("%-52s %14s   (--only left it out)\n", label, "not run");
}

static void print_table(void)
{
	double L = R.limit;
	char label[96];

	printf("\n==== bench_broker: %d-byte alerts, %d cores ====\n", ALERT_BYTES, R.cores);
	printf("%-52s %14s %8s %10s %s\n", "figure", "value", "x limit", "target", "");
	printf("%-52s %12.0f/s\n", "raw libzmq CURVE PUSH/PULL", R.curve_per_s);
	printf("%-52s %12.0f/s\n", "Ed25519 verify, 1 core", R.verify_1core_per_s);
	printf("%-52s %12.0f/s\n", "Ed25519 verify, all cores", R.verify_all_per_s);
	printf("%-52s %12.0f/s %7.2fx   (not the limit: no broker sees one alert)\n",
	       "  one alert verified over and over, all cores", R.verify_same_per_s,
	       R.verify_same_per_s / L);
	printf("%-52s %12.0f/s %8s   (the lower: %s)\n", "limit = min(CURVE, verify all cores)", L,
	       "1.00x", L == R.curve_per_s ? "CURVE" : "verify");
	printf("%-52s %12.0f/s %7.2fx   (CURVE %.0f/s, verify %.0f/s)\n",
	       "  the same limit measured again after the runs", R.limit_end, R.limit_end / L,
	       R.curve_end, R.verify_all_end);
	print_ceiling("ceiling for ingest, clients on the same cores", R.ceiling_ingest,
		      INGEST_TARGET);
	print_ceiling("ceiling for delivery, clients on the same cores", R.ceiling_delivery,
		      DELIVERY_TARGET);
	printf("%-52s %11.3f ms   (p99 %.3f ms; after the runs: p50 %.3f, p99 %.3f)\n",
	       "synced journal commit of 1 alert: p50", R.commit.p50, R.commit.p99, R.commit_end.p50,
	       R.commit_end.p99);
	if (!phase_runs(0)) {
		not_run("durable ingest, 4 publishers");
	} else {
		print_throughput("durable ingest, 4 publishers", R.ingest_per_s, R.ingest_ok,
				 R.ingest_around, INGEST_TARGET);
		print_share(R.ingest_per_s, R.ceiling_ingest);
	}
	if (!phase_runs(1)) {
		not_run("publish -> acked delivery, 1 subscriber");
	} else {
		print_throughput("publish -> acked delivery, 1 subscriber", R.delivery_per_s,
				 R.delivery_ok, R.delivery_around, DELIVERY_TARGET);
		print_share(R.delivery_per_s, R.ceiling_delivery);
		print_compared(&R.jetstream, "  JetStream, file store, same workload",
			       "acks before its periodic fsync");
		print_compared(&R.mosquitto, "  Mosquitto, QoS 1, same workload",
			       "acks from memory; periodic snapshot");
	}
	if (!phase_runs(2)) {
		not_run("fan-out to 70");
	} else {
		printf("%-52s %12.0f/s %7.2fx %9s  %s\n", "fan-out to 70: deliveries (no verify in them)",
		       R.fanout_deliveries_per_s, R.fanout_deliveries_per_s / L, "no loss",
		       R.fanout_lossless ? "met (0 lost)" : "BELOW (lost or incomplete)");
		printf("%-52s %12.0f/s %7.2fx\n", "fan-out to 70: alerts delivered to all",
		       R.fanout_alerts_per_s, R.fanout_alerts_per_s / L);
	}
	if (!phase_runs(3)) {
		not_run("latency at 1,000/s");
	} else {
		printf("%-52s %11.3f ms\n", "latency at 1,000/s: p50", R.lat.p50);
		printf("%-52s %11.3f ms %8s %9s  %s\n", "latency at 1,000/s: p99", R.lat.p99, "",
		       "< 3 ms", verdict(R.lat_ok && R.lat.p99 < P99_TARGET_MS));
		if (R.lat_broker_p99 >= 0)
			printf("%-52s %11s ms   (p50 at most %s: status.json publish_ms)\n",
			       "  the broker's own, publish read -> ack, p99 at most",
			       bucket_bound(R.lat_broker_p99), bucket_bound(R.lat_broker_p50));
		if (R.rtt.n > 0)
			printf("%-52s %11.3f ms   (p50 %.3f: libzmq and the kernel, no broker)\n",
			       "  its floor here: CURVE round trip p99", R.rtt.p99, R.rtt.p50);
		printf("%-52s %11.3f ms   (p50 %.3f: a fresh journal; a trickle's acks go before it)\n",
		       "  and: synced journal commit of 1 alert p99", R.commit.p99, R.commit.p50);
		if (R.paced.n > 0)
			printf("%-52s %11.3f ms   (p50 %.3f: the same pace, the journal alone)\n",
			       "  and: the disk at that pace just before, p99", R.paced.p99,
			       R.paced.p50);
		if (R.lat_slowest_commit >= 0)
			printf("%-52s %11s ms   (the disk; publishes wait behind a slow one)\n",
			       "latency at 1,000/s: slowest journal write, at most",
			       bucket_bound(R.lat_slowest_commit));
		printf("%-52s %11.3f ms\n", "latency at 1,000/s: max", R.lat.max);
	}
	if (!phase_runs(4)) {
		not_run("restart");
	} else {
		snprintf(label, sizeof(label), "restart, %" PRIu64 " stored, warm: exec -> Welcome",
			 R.stored);
		printf("%-52s %12.3f s %8s %9s  %s\n", label, R.restart_warm_s, "", "< 1 s",
		       verdict(R.restart_warm_ok && R.restart_warm_s < RESTART_TARGET_S));
		snprintf(label, sizeof(label), "restart, %" PRIu64 " stored, cold: exec -> Welcome",
			 R.stored);
		printf("%-52s %12.3f s %8s %9s  %s\n", label, R.restart_cold_s, "", "< 1 s",
		       verdict(R.restart_cold_ok && R.restart_cold_s < RESTART_TARGET_S));
		printf("%-52s %12.3f s\n", "  of which blo_journal_open (measured alone, warm)",
		       R.journal_open_s);
		printf("%-52s %12.3f s\n", "shutdown on SIGTERM (after the runs)", R.stop_s);
	}
	printf("Figures are measurements on this machine, never pass/fail conditions of the build.\n");
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	char prog[4200];
	const char *tmp = getenv("TMPDIR");
	int rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg.curve_msgs = 50000;
			cfg.verify_s = 0.3;
			cfg.ingest_per_pub = 2000;
			cfg.delivery_n = 3000;
			cfg.fanout_n = 200;
			cfg.latency_n = 500;
			cfg.restart_records = 100000;
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			size_t k = 0;

			i++;
			while (k < N_PHASES && strcmp(argv[i], phase_names[k]) != 0)
				k++;
			if (k == N_PHASES) {
				fprintf(stderr,
					"%s: unknown phase \"%s\" (ingest, delivery, fanout, latency, "
					"restart)\n",
					argv[0], argv[i]);
				return 2;
			}
			only_phases |= 1u << k;
		} else {
			fprintf(stderr, "usage: %s [--quick] [--only PHASE]...\n", argv[0]);
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
	snprintf(prog, sizeof(prog), "%s/blonet-broker", bin_dir);
	if (access(prog, X_OK) != 0) {
		printf("bench_broker: skipped: %s not found; build the programs first (make all)\n", prog);
		return 0;
	}
	snprintf(prog, sizeof(prog), "%s/blonet-provision", bin_dir);
	if (access(prog, X_OK) != 0) {
		printf("bench_broker: skipped: %s not found; build the programs first (make all)\n", prog);
		return 0;
	}
	atexit(cleanup);

	R.cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(work, sizeof(work), "%s/blonet-bench-broker-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(work) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", work, strerror(errno));
		return 1;
	}
	printf("bench_broker: %d-byte alerts on %d cores; limits first, then the broker\n",
	       ALERT_BYTES, R.cores);
	measure_limits(cfg.curve_msgs, cfg.verify_s, R.cores, &R.curve_per_s, &R.curve_cpu_us,
		       &R.verify_1core_per_s, &R.verify_all_per_s, &R.verify_same_per_s);
	R.limit = R.curve_per_s < R.verify_all_per_s ? R.curve_per_s : R.verify_all_per_s;
	if (R.limit <= 0) {
		fprintf(stderr, "could not measure the limits\n");
		goto out;
	}
	R.commit = measure_commit_latency(work);
	if (phase_runs(3))
		R.rtt = measure_curve_rtt(2000, cfg.latency_rate);
	R.store_cpu_us = measure_store_cpu(work);
	ceilings();
	if (provision() != 0)
		goto out;
	broker_pid = spawn_broker(bin_dir, broker_config, broker_log);
	if (broker_pid < 0 || wait_serving(work, "th-committee", 30000) != 0) {
		fprintf(stderr, "the broker did not start; see %s\n", broker_log);
		goto out;
	}
	printf("  deployment in %s; broker pid %d\n", work, (int)broker_pid);

	if (phase_runs(0))
		phase_ingest();
	if (phase_runs(1))
		phase_delivery();
	if (phase_runs(2))
		phase_fanout();
	if (phase_runs(3))
		phase_latency();
	if (phase_runs(4))
		phase_restart();
	if (broker_pid > 0) {
		int status = 0;

		stop_broker(&broker_pid, &status);
	}
	printf("\n[6] the limits again, to show how steady this machine was during the run\n");
	measure_limits(cfg.curve_msgs, cfg.verify_s, R.cores, &R.curve_end, NULL, &R.verify_1core_end,
		       &R.verify_all_end, NULL);
	R.limit_end = R.curve_end < R.verify_all_end ? R.curve_end : R.verify_all_end;
	R.commit_start = R.commit;
	R.commit = measure_commit_latency(work);
	R.commit_end = R.commit;
	R.commit = R.commit_start;
	/* After the blonet phases: the other servers only share the CPU. */
	if (phase_runs(1))
		comparison();
	print_table();
	rc = 0;
out:
	if (broker_pid > 0) {
		int status = 0;

		stop_broker(&broker_pid, &status);
	}
	if (getenv("BLO_KEEP") != NULL || rc != 0) {
		printf("work folder kept: %s\n", work);
	} else {
		nftw(work, rm_one, 32, FTW_DEPTH | FTW_PHYS);
	}
	return rc;
}

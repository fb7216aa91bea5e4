/*
 * bench_broker: the real broker end to end, beside the limits of this
 * machine measured in the same run (DESIGN.md section 10).
 *
 * Limits, with 512-byte messages:
 *   - raw libzmq CURVE PUSH/PULL between two threads, each with its own
 *     context (its own libzmq I/O thread), over TCP on 127.0.0.1;
 *   - Ed25519 verifications per second on one core and on every core
 *     (crypto_sign_verify_detached, one thread per core).
 *   Every accepted alert costs at least one CURVE decryption and one
 *   signature verification: limit = min(CURVE, verify on every core).
 *   Also the latency floor of a durable broker on this disk: single-alert
 *   synced commits into a scratch journal beside the broker's. Limits and
 *   floor are measured again at the end, to show how steady the machine
 *   was (ratios use the first measurement).
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
 *   4. latency: 1,000 alerts/s for 5 s, 1 durable subscriber; latency is
 *      delivery time minus publish time, both on this process's monotonic
 *      clock (the alert id carries its index);
 *   5. restart: the journal is filled to 1,000,000 alerts directly with
 *      blo_journal_append while the broker is stopped (1,000 real signed
 *      envelopes reused under distinct ids: the broker does not verify
 *      stored records on start), then the time from exec of the broker to
 *      the first Welcome, with data.mdb in the page cache and evicted from
 *      it (posix_fadvise DONTNEED on that file only).
 * For each phase the CPU used by each broker thread, by this process (the
 * clients) and by the whole machine is printed, with CPU time and context
 * switches per alert and the broker's synced commits (from status.json),
 * to show what limits it.
 *
 * Figures are printed, never asserted: exit 0 whether targets are met or
 * not; 1 only if the bench itself could not run (provisioning failed, the
 * broker did not start).
 *
 * Usage: bench_broker [--quick]    (--quick: small counts, for a smoke run)
 * Environment: BLO_BIN (folder of the programs; default: this build's, i.e.
 * bin/ or build/SANITIZER/bin), TMPDIR, BLO_KEEP=1 (keep the work folder).
 * Skipped, with a message and exit 0, when the programs are not built.
 */
#include "blo_client.h"
#include "blo_codec.h"
#include "blo_envelope.h"
#include "blo_identity.h"
#include "blo_journal.h"
#include "blo_registry.h"
#include "blo_settings.h"
#include "blo_util.h"

#include <cjson/cJSON.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define ALERT_BYTES 512
#define N_AGENTS 4
#define N_CONSOLES 70
#define MAP_SIZE_MB 4096
#define ACK_BATCH 64
#define STALL_S 60         /* no progress this long: the phase failed */
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
	.latency_n = 5000,
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

/* ---------------------------------------------------------------- time */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double secs(int64_t ns)
{
	return (double)ns / 1e9;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

	if (ns > 0)
		nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- results */

typedef struct {
	size_t n;
	double p50, p90, p99, p999, max;
} pcts_t;

typedef struct {
	double curve_per_s, verify_1core_per_s, verify_all_per_s, limit;
	double curve_end, verify_1core_end, verify_all_end, limit_end;
	int cores;
	double ingest_per_s;
	bool ingest_ok;
	double delivery_per_s, delivery_pub_per_s;
	bool delivery_ok;
	double fanout_alerts_per_s, fanout_deliveries_per_s;
	bool fanout_ok, fanout_lossless;
	uint64_t fanout_missing;
	pcts_t lat, commit, commit_start, commit_end;
	bool lat_ok;
	double stop_s, journal_open_s;
	double fill_s;
	uint64_t stored;
	double restart_warm_s, restart_cold_s, listen_warm_s, listen_cold_s;
	double resident_before, resident_after;
	bool restart_warm_ok, restart_cold_ok;
} results_t;

static results_t R;

/* ---------------------------------------------------------------- CPU use */

#define MAX_THREADS 512

typedef struct {
	int tid;
	char comm[32];
	uint64_t ticks;
} tsample_t;

typedef struct {
	int64_t at_ns;
	tsample_t broker[MAX_THREADS];
	size_t n_broker;
	uint64_t self_ticks;
	uint64_t cpu_busy, cpu_total;
	uint64_t broker_switches, self_switches;
} cpu_snap_t;

/* Voluntary plus involuntary context switches of every thread of pid. */
static uint64_t context_switches(pid_t pid)
{
	char path[256], line[256];
	uint64_t total = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d != NULL && (e = readdir(d)) != NULL) {
		FILE *fp;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
		fp = fopen(path, "r");
		while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
			unsigned long long v;

			if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
			    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
				total += v;
		}
		if (fp != NULL)
			fclose(fp);
	}
	if (d != NULL)
		closedir(d);
	return total;
}

/* utime + stime and the name from a /proc/.../stat file. */
static int read_stat(const char *path, char *comm, size_t comm_size, uint64_t *ticks)
{
	char buf[1024], *open_p, *close_p, *p;
	unsigned long long ut = 0, st = 0;
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (open_p == NULL || close_p == NULL)
		return -1;
	if (comm != NULL) {
		size_t len = (size_t)(close_p - open_p - 1);

		if (len >= comm_size)
			len = comm_size - 1;
		memcpy(comm, open_p + 1, len);
		comm[len] = '\0';
	}
	/* After ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime(14) stime(15). */
	p = close_p + 2;
	for (int field = 3; field < 14 && p != NULL; field++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	if (p == NULL || sscanf(p, "%llu %llu", &ut, &st) != 2)
		return -1;
	*ticks = ut + st;
	return 0;
}

static int cmp_tid(const void *a, const void *b)
{
	return ((const tsample_t *)a)->tid - ((const tsample_t *)b)->tid;
}

static void cpu_snapshot(cpu_snap_t *s)
{
	char path[256];
	DIR *d;
	struct dirent *e;
	FILE *fp;

	memset(s, 0, sizeof(*s));
	s->at_ns = now_ns();
	if (broker_pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/task", (int)broker_pid);
		d = opendir(path);
		while (d != NULL && (e = readdir(d)) != NULL && s->n_broker < MAX_THREADS) {
			tsample_t *t = &s->broker[s->n_broker];

			if (e->d_name[0] == '.')
				continue;
			t->tid = atoi(e->d_name);
			snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)broker_pid, t->tid);
			if (read_stat(path, t->comm, sizeof(t->comm), &t->ticks) == 0)
				s->n_broker++;
		}
		if (d != NULL)
			closedir(d);
		qsort(s->broker, s->n_broker, sizeof(s->broker[0]), cmp_tid);
	}
	read_stat("/proc/self/stat", NULL, 0, &s->self_ticks);
	{
		/* getrusage counts threads that have ended too. */
		struct rusage ru;

		if (getrusage(RUSAGE_SELF, &ru) == 0)
			s->self_switches = (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
	}
	if (broker_pid > 0)
		s->broker_switches = context_switches(broker_pid);
	fp = fopen("/proc/stat", "r");
	if (fp != NULL) {
		unsigned long long v[10] = {0};

		if (fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) >= 8) {
			for (int i = 0; i < 8; i++)
				s->cpu_total += v[i];
			s->cpu_busy = s->cpu_total - v[3] - v[4]; /* minus idle, iowait */
		}
		fclose(fp);
	}
}

/* Prints the CPU each broker thread, this process and the machine used
 * between a and b, as % of one core. The broker's own threads carry the
 * program's name; they are labelled by creation order (main, ZAP handler,
 * journal writer, verify workers: see blo_broker_open). */
static void cpu_report(const char *phase, const cpu_snap_t *a, const cpu_snap_t *b, double items,
		       const char *item)
{
	double hz = (double)sysconf(_SC_CLK_TCK), dt = secs(b->at_ns - a->at_ns);
	double total = 0, busy, self;
	size_t unnamed = 0;

	if (dt <= 0)
		return;
	printf("  cpu during %s (%% of one core):\n    broker threads:", phase);
	for (size_t i = 0; i < b->n_broker; i++) {
		const tsample_t *t = &b->broker[i];
		uint64_t before = 0;
		char label[48];
		double pct;

		for (size_t k = 0; k < a->n_broker; k++)
			if (a->broker[k].tid == t->tid)
				before = a->broker[k].ticks;
		pct = 100.0 * (double)(t->ticks - before) / hz / dt;
		total += pct;
		if (strncmp(t->comm, "ZMQbg", 5) == 0) {
			snprintf(label, sizeof(label), "%s", t->comm);
		} else {
			static const char *const roles[] = {"main/io-loop", "zap", "writer"};

			if (unnamed < 3)
				snprintf(label, sizeof(label), "%s", roles[unnamed]);
			else
				snprintf(label, sizeof(label), "verify-%zu", unnamed - 3);
			unnamed++;
		}
		if (pct >= 0.5)
			printf(" %s %.0f%%", label, pct);
	}
	busy = b->cpu_total > a->cpu_total
		       ? 100.0 * (double)(b->cpu_busy - a->cpu_busy) / (double)(b->cpu_total - a->cpu_total)
		       : 0;
	self = 100.0 * (double)(b->self_ticks - a->self_ticks) / hz / dt;
	printf("\n    broker total %.0f%%, bench process (clients) %.0f%%, machine %.0f%% busy of %ld "
	       "cores\n",
	       total, self, busy, sysconf(_SC_NPROCESSORS_ONLN));
	if (items > 0)
		printf("    per %s: broker %.1f us CPU and %.1f context switches, clients %.1f us CPU and "
		       "%.1f context switches\n",
		       item, total / 100.0 * dt * 1e6 / items,
		       (double)(b->broker_switches - a->broker_switches) / items,
		       self / 100.0 * dt * 1e6 / items,
		       (double)(b->self_switches - a->self_switches) / items);
}

/* ---------------------------------------------------------------- status */

/* The broker's counters from DATA_DIR/status.json, which it rewrites every
 * second. With fresh_after_ns, waits (up to 2 s) for a file written after
 * that time. */
typedef struct {
	double time_ms, commits, accepted, delivered, redelivered;
	bool ok;
} status_t;

static double json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static status_t read_status(int64_t fresh_after_ms)
{
	char path[4200];
	status_t st = {0};
	int64_t give_up = now_ns() + 2 * (int64_t)1000000000;

	snprintf(path, sizeof(path), "%s/status.json", data_dir);
	for (;;) {
		char *text = NULL;
		size_t len = 0;

		if (blo_read_file(path, 1 << 20, &text, &len) == 0) {
			cJSON *root = cJSON_ParseWithLength(text, len);
			const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "counters");

			if (root != NULL && c != NULL) {
				st.time_ms = json_num(root, "time_ms");
				st.commits = json_num(c, "commits");
				st.accepted = json_num(c, "accepted");
				st.delivered = json_num(c, "delivered");
				st.redelivered = json_num(c, "redelivered");
				st.ok = true;
			}
			cJSON_Delete(root);
			free(text);
		}
		if ((st.ok && st.time_ms > (double)fresh_after_ms) || now_ns() > give_up)
			return st;
		sleep_ns(50000000);
	}
}

/* Journal commits (synced transactions) the broker made between a and b. */
static void status_report(const status_t *a, const status_t *b)
{
	double dt = (b->time_ms - a->time_ms) / 1000.0;
	double accepted = b->accepted - a->accepted;
	double commits = b->commits - a->commits;

	if (!a->ok || !b->ok || dt <= 0)
		return;
	printf("    broker counters over %.1f s (status.json): %.0f synced commits (%.0f/s), %.0f "
	       "accepted (%.1f per commit), %.0f delivered, %.0f redelivered\n",
	       dt, commits, commits / dt, accepted, commits > 0 ? accepted / commits : 0,
	       b->delivered - a->delivered, b->redelivered - a->redelivered);
}

/* ---------------------------------------------------------------- limits */

typedef struct {
	char endpoint[256];
	char server_public[41], server_secret[41], client_public[41], client_secret[41];
	size_t n;
	int rc;
} curve_arg_t;

static void *curve_sender(void *arg)
{
	curve_arg_t *a = arg;
	void *ctx = zmq_ctx_new();
	void *push = zmq_socket(ctx, ZMQ_PUSH);
	uint8_t msg[ALERT_BYTES];

	memset(msg, 0x5a, sizeof(msg));
	zmq_setsockopt(push, ZMQ_CURVE_SERVERKEY, a->server_public, 40);
	zmq_setsockopt(push, ZMQ_CURVE_PUBLICKEY, a->client_public, 40);
	zmq_setsockopt(push, ZMQ_CURVE_SECRETKEY, a->client_secret, 40);
	if (zmq_connect(push, a->endpoint) != 0) {
		a->rc = -errno;
	} else {
		for (size_t i = 0; i < a->n; i++) {
			if (zmq_send(push, msg, sizeof(msg), 0) != (int)sizeof(msg)) {
				a->rc = -errno;
				break;
			}
		}
	}
	{
		int linger = 5000;

		zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof(linger));
	}
	zmq_close(push);
	zmq_ctx_term(ctx);
	return NULL;
}

/* Raw CURVE PUSH/PULL of 512-byte messages: messages/s at the receiver,
 * from its 1,000th message to its last (the handshake left out). */
static double measure_curve(void)
{
	curve_arg_t a = {.n = cfg.curve_msgs};
	void *ctx = zmq_ctx_new();
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	int one = 1, timeout = 10000;
	size_t len = sizeof(a.endpoint);
	uint8_t buf[ALERT_BYTES + 16];
	pthread_t th;
	int64_t t_first = 0, t_last = 0;
	size_t got = 0;

	zmq_curve_keypair(a.server_public, a.server_secret);
	zmq_curve_keypair(a.client_public, a.client_secret);
	zmq_setsockopt(pull, ZMQ_CURVE_SERVER, &one, sizeof(one));
	zmq_setsockopt(pull, ZMQ_CURVE_SECRETKEY, a.server_secret, 40);
	zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	if (zmq_bind(pull, "tcp://127.0.0.1:*") != 0) {
		fprintf(stderr, "curve: bind: %s\n", zmq_strerror(errno));
		zmq_close(pull);
		zmq_ctx_term(ctx);
		return 0;
	}
	zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, a.endpoint, &len);
	pthread_create(&th, NULL, curve_sender, &a);
	for (; got < a.n; got++) {
		if (zmq_recv(pull, buf, sizeof(buf), 0) != ALERT_BYTES)
			break;
		if (got == 999)
			t_first = now_ns();
	}
	t_last = now_ns();
	pthread_join(th, NULL);
	zmq_close(pull);
	zmq_ctx_term(ctx);
	if (got < a.n || t_first == 0) {
		fprintf(stderr, "curve: received %zu of %zu messages\n", got, a.n);
		return 0;
	}
	return (double)(got - 1000) / secs(t_last - t_first);
}

typedef struct {
	double seconds;
	pthread_barrier_t *start;
	uint64_t count;
	double elapsed;
} verify_arg_t;

static void *verify_thread(void *arg)
{
	verify_arg_t *a = arg;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t msg[ALERT_BYTES], sig[crypto_sign_BYTES];
	int64_t start, end, now;
	uint64_t n = 0, bad = 0;

	crypto_sign_keypair(pk, sk);
	randombytes_buf(msg, sizeof(msg));
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	pthread_barrier_wait(a->start);
	start = now_ns();
	end = start + (int64_t)(a->seconds * 1e9);
	do {
		for (int i = 0; i < 64; i++) {
			if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
				bad++;
			n++;
		}
		now = now_ns();
	} while (now < end);
	a->count = bad == 0 ? n : 0;
	a->elapsed = secs(now - start);
	return NULL;
}

/* Ed25519 verifications per second with `threads` threads together. */
static double measure_verify(int threads, double seconds)
{
	pthread_t th[256];
	verify_arg_t args[256];
	pthread_barrier_t start;
	double total = 0;

	if (threads > 256)
		threads = 256;
	pthread_barrier_init(&start, NULL, (unsigned)threads);
	for (int i = 0; i < threads; i++) {
		args[i] = (verify_arg_t){.seconds = seconds, .start = &start};
		pthread_create(&th[i], NULL, verify_thread, &args[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += (double)args[i].count / args[i].elapsed;
	}
	pthread_barrier_destroy(&start);
	return total;
}

static void measure_limits(double *curve, double *verify_1, double *verify_all)
{
	*curve = measure_curve();
	printf("  raw CURVE PUSH/PULL: %.0f msg/s\n", *curve);
	*verify_1 = measure_verify(1, cfg.verify_s * 2 / 3);
	*verify_all = measure_verify(R.cores, cfg.verify_s);
	printf("  Ed25519 verify: %.0f/s on 1 core, %.0f/s on %d cores\n", *verify_1, *verify_all,
	       R.cores);
}

/* ---------------------------------------------------------------- processes */

/* Runs argv with stdout and stderr into log; returns its exit status. */
static int run_program(char *const argv[], const char *log)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts the broker (stderr into broker_log); it dies with this process. */
static pid_t spawn_broker(void)
{
	char prog[4096];
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/blonet-broker", bin_dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(broker_log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(prog, prog, "-c", broker_config, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* SIGTERM, then SIGKILL after 30 s. Returns the seconds it took to exit,
 * or -1 if it had to be killed; *status its exit status. */
static double stop_broker(int *status_out)
{
	int64_t t0 = now_ns();
	int status = 0;
	bool killed = false;

	if (broker_pid <= 0)
		return 0;
	kill(broker_pid, SIGTERM);
	for (;;) {
		pid_t w = waitpid(broker_pid, &status, WNOHANG);

		if (w == broker_pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (!killed && now_ns() - t0 > 30 * (int64_t)1000000000) {
			fprintf(stderr, "broker did not stop within 30 s of SIGTERM: SIGKILL\n");
			kill(broker_pid, SIGKILL);
			killed = true;
		}
		sleep_ns(2000000);
	}
	broker_pid = -1;
	if (status_out != NULL)
		*status_out = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return killed ? -1 : secs(now_ns() - t0);
}

static void cleanup(void)
{
	if (broker_pid > 0) {
		kill(broker_pid, SIGKILL);
		waitpid(broker_pid, NULL, 0);
		broker_pid = -1;
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* ---------------------------------------------------------------- deployment */

static char *principal_config(char *buf, size_t size, const char *id)
{
	snprintf(buf, size, "%s/d/%s/config.json", work, id);
	return buf;
}

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
	char topo[4096], out[4096], log[4096], prog[4096];
	FILE *fp;
	int rc;

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
	snprintf(out, sizeof(out), "%s/d", work);
	snprintf(log, sizeof(log), "%s/provision.log", work);
	snprintf(prog, sizeof(prog), "%s/blonet-provision", bin_dir);
	{
		char *argv[] = {prog, topo, "--out", out, NULL};

		rc = run_program(argv, log);
	}
	if (rc != 0) {
		fprintf(stderr, "blonet-provision failed (%d); see %s\n", rc, log);
		return -1;
	}
	snprintf(broker_config, sizeof(broker_config), "%s/d/th-broker/config.json", work);
	snprintf(broker_log, sizeof(broker_log), "%s/broker.log", work);
	{
		blo_broker_settings_t s;
		blo_err_t err = {0};

		rc = blo_broker_settings_load(&s, broker_config, &err);
		if (rc == 0)
			blo_strlcpy(data_dir, s.data_dir, sizeof(data_dir));
		else
			fprintf(stderr, "%s\n", err.msg);
		blo_broker_settings_free(&s);
	}
	return rc;
}

/* A principal's keys and registry entry, to sign as it or to connect as it
 * without blo_client_open_config. */
typedef struct {
	blo_identity_t *identity;
	blo_registry_t *registry;
	const blo_principal_t *me, *broker;
	char endpoint[256];
} principal_t;

static int principal_load(principal_t *p, const char *id)
{
	char path[4096];
	blo_client_settings_t s;
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	blo_err_t err = {0};
	int rc;

	memset(p, 0, sizeof(*p));
	rc = blo_client_settings_load(&s, principal_config(path, sizeof(path), id), &err);
	if (rc == 0)
		rc = blo_settings_authority(s.authority, authority, &err);
	if (rc == 0)
		rc = blo_identity_load(&p->identity, s.identity, &err);
	if (rc == 0)
		rc = blo_registry_load(&p->registry, s.registry, authority, &err);
	if (rc == 0) {
		p->me = blo_registry_find(p->registry, id);
		p->broker = blo_registry_find(p->registry, s.broker.id);
		blo_strlcpy(p->endpoint, s.broker.endpoint, sizeof(p->endpoint));
		if (p->me == NULL || p->broker == NULL)
			rc = blo_err_set(&err, BLO_ENOTFOUND, "%s or its broker not in the registry", id);
	}
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", id, err.msg);
	blo_client_settings_free(&s);
	return rc;
}

static void principal_free(principal_t *p)
{
	blo_identity_destroy(&p->identity);
	blo_registry_destroy(&p->registry);
}

/* ---------------------------------------------------------------- alerts */

/* Serial numbers name alerts: phase << 40 | index, in the last 8 bytes of
 * the id (big-endian); the first 8 are this run's nonce. */
#define SERIAL(phase, i) (((uint64_t)(phase) << 40) | (uint64_t)(i))

static uint64_t serial_of(const uint8_t id[BLO_ID_BYTES])
{
	uint64_t v = 0;

	for (int i = 8; i < 16; i++)
		v = v << 8 | id[i];
	return v;
}

/* Signs one 512-byte TLP:AMBER alert from principal me with the given
 * serial: *env (malloc()ed) and *env_len. */
static int seal_alert(const blo_identity_t *identity, const blo_principal_t *me, uint64_t serial,
		      uint8_t **env, size_t *env_len)
{
	Blonet__Alert a = BLONET__ALERT__INIT;
	Blonet__Origin o = BLONET__ORIGIN__INIT;
	Blonet__Assessment as = BLONET__ASSESSMENT__INIT;
	Blonet__Handling h = BLONET__HANDLING__INIT;
	uint8_t id[BLO_ID_BYTES], bytes[ALERT_BYTES * 2];
	char desc[ALERT_BYTES], country[3], principal[BLO_PRINCIPAL_ID_MAX], site[BLO_SITE_MAX];
	char headline[] = "bench: methamphetamine tablets in a pickup truck";
	char source_ref[] = "";
	blo_err_t err = {0};
	int64_t d = 380;
	size_t size = 0;
	int rc;

	memcpy(id, run_nonce, 8);
	for (int i = 0; i < 8; i++)
		id[8 + i] = (uint8_t)(serial >> (56 - 8 * i));
	blo_strlcpy(country, me->country, sizeof(country));
	blo_strlcpy(principal, me->id, sizeof(principal));
	blo_strlcpy(site, me->site, sizeof(site));
	o.principal = principal;
	o.country = country;
	o.site = site;
	o.agency = me->agency;
	as.category = BLONET__CATEGORY__DRUGS;
	as.severity = BLONET__SEVERITY__SEVERE;
	h.tlp = BLONET__TLP__TLP_AMBER;
	a.id.data = id;
	a.id.len = BLO_ID_BYTES;
	a.type = BLONET__MESSAGE_TYPE__ALERT;
	a.status = BLONET__STATUS__EXERCISE;
	a.observed_ms = a.sent_ms = blo_now_ms();
	a.source_ref = source_ref;
	a.origin = &o;
	a.assessment = &as;
	a.handling = &h;
	a.headline = headline;
	a.description = desc;
	/* Pad the description until the alert is exactly ALERT_BYTES. */
	for (int tries = 0; tries < 8; tries++) {
		memset(desc, 'x', (size_t)d);
		desc[d] = '\0';
		size = protobuf_c_message_get_packed_size(&a.base);
		if (size == ALERT_BYTES)
			break;
		d += (int64_t)ALERT_BYTES - (int64_t)size;
		if (d < 0 || d >= (int64_t)sizeof(desc))
			break;
	}
	if (size != ALERT_BYTES || (rc = blo_alert_validate(&a, &err)) != 0) {
		fprintf(stderr, "bench alert: %zu bytes: %s\n", size, err.msg);
		return BLO_EINVAL;
	}
	protobuf_c_message_pack(&a.base, bytes);
	rc = blo_envelope_seal(identity, bytes, size, env, env_len, &err);
	if (rc != 0)
		fprintf(stderr, "seal: %s\n", err.msg);
	return rc;
}

/* ---------------------------------------------------------------- publisher */

typedef struct {
	const char *id;
	size_t n;
	size_t window;
	int pace_per_s;               /* 0: as fast as the window allows */
	unsigned phase;
	_Atomic int64_t *pub_ns;      /* latency: publish time of alert i, or NULL */
	double *ack_ms;               /* latency: publish -> final ack of alert i */
	pthread_barrier_t *ready;     /* after signing and the Welcome */
	/* out */
	uint64_t accepted, duplicate, rejected, resent;
	uint64_t min_seq, max_seq;
	int64_t end_ns;
	int failed;
	char error[300];
} pub_t;

static void *pub_main(void *arg)
{
	pub_t *p = arg;
	blo_client_t *c = NULL;
	blo_err_t err = {0};
	const blo_principal_t *me;
	uint8_t **envs = calloc(p->n, sizeof(*envs));
	size_t *lens = calloc(p->n, sizeof(*lens));
	size_t sent = 0, done = 0;
	int64_t start, last_progress;
	char path[4096];
	bool waited = false;

	p->min_seq = UINT64_MAX;
	if (envs == NULL || lens == NULL) {
		snprintf(p->error, sizeof(p->error), "out of memory");
		goto fail;
	}
	if (blo_client_open_config(&c, principal_config(path, sizeof(path), p->id), "bench-pub", &err) !=
		    0 ||
	    blo_client_wait_ready(c, 15000, &err) != 0) {
		snprintf(p->error, sizeof(p->error), "%s: %s", p->id, err.msg);
		goto fail;
	}
	me = blo_registry_find(blo_client_registry(c), p->id);
	for (size_t i = 0; i < p->n; i++) {
		if (seal_alert(blo_client_identity(c), me, SERIAL(p->phase, i), &envs[i], &lens[i]) != 0) {
			snprintf(p->error, sizeof(p->error), "%s: cannot sign", p->id);
			goto fail;
		}
	}
	pthread_barrier_wait(p->ready);
	waited = true;
	start = last_progress = now_ns();
	while (done < p->n) {
		Blonet__Frame *f = NULL;
		int64_t now = now_ns(), target = 0;
		int timeout = 100;

		for (;;) {
			if (sent >= p->n || blo_client_pending(c) >= p->window)
				break;
			if (p->pace_per_s > 0) {
				target = start + (int64_t)((double)sent * 1e9 / p->pace_per_s);
				if (now < target)
					break;
			}
			if (p->pub_ns != NULL)
				atomic_store_explicit(&p->pub_ns[sent], now_ns(), memory_order_relaxed);
			if (blo_client_publish(c, envs[sent], lens[sent], NULL, &err) != 0) {
				snprintf(p->error, sizeof(p->error), "publish: %s", err.msg);
				goto fail;
			}
			free(envs[sent]);
			envs[sent] = NULL;
			sent++;
			now = now_ns();
		}
		if (p->pace_per_s > 0 && sent < p->n && blo_client_pending(c) < p->window) {
			target = start + (int64_t)((double)sent * 1e9 / p->pace_per_s);
			timeout = (int)((target - now) / 1000000);
		}
		if (blo_client_next(c, timeout, &f, &err) != 0) {
			snprintf(p->error, sizeof(p->error), "next: %s", err.msg);
			goto fail;
		}
		if (f == NULL) {
			if (p->pace_per_s > 0 && sent < p->n) {
				int64_t left = target - now_ns();

				sleep_ns(left < 200000 ? left : 200000);
			}
			if (now_ns() - last_progress > STALL_S * (int64_t)1000000000) {
				snprintf(p->error, sizeof(p->error),
					 "%s: no ack for %d s (%zu of %zu acknowledged)", p->id, STALL_S,
					 done, p->n);
				goto fail;
			}
			continue;
		}
		if (f->body_case == BLONET__FRAME__BODY_PUBLISH_ACK &&
		    blo_client_ack_is_final(f->publish_ack)) {
			const Blonet__PublishAck *ack = f->publish_ack;

			done++;
			last_progress = p->end_ns = now_ns();
			if (p->ack_ms != NULL && ack->id.len == BLO_ID_BYTES) {
				uint64_t i = serial_of(ack->id.data) & ((UINT64_C(1) << 40) - 1);

				if (i < p->n)
					p->ack_ms[i] = (double)(p->end_ns - atomic_load_explicit(
										   &p->pub_ns[i],
										   memory_order_relaxed)) /
						       1e6;
			}
			if (ack->status == BLONET__PUBLISH_STATUS__ACCEPTED) {
				p->accepted++;
				if (ack->seq < p->min_seq)
					p->min_seq = ack->seq;
				if (ack->seq > p->max_seq)
					p->max_seq = ack->seq;
			} else if (ack->status == BLONET__PUBLISH_STATUS__DUPLICATE) {
				p->duplicate++;
			} else {
				if (p->rejected++ == 0)
					snprintf(p->error, sizeof(p->error), "rejected: %s", ack->text);
			}
		}
		blo_message_free((ProtobufCMessage **)&f);
	}
	{
		blo_client_stats_t st;

		blo_client_stats(c, &st);
		p->resent = st.resent;
	}
	goto out;
fail:
	p->failed = 1;
	if (!waited)
		pthread_barrier_wait(p->ready);
out:
	for (size_t i = 0; envs != NULL && i < p->n; i++)
		free(envs[i]);
	free(envs);
	free(lens);
	blo_client_close(&c);
	return NULL;
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
	    blo_client_open_config(&c, principal_config(path, sizeof(path), s->id), "bench-sub", &err) !=
		    0 ||
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
	return (pub_t){.id = id, .n = n, .window = cfg.window, .phase = phase, .ready = ready};
}

static bool pub_report(const pub_t *p)
{
	if (p->failed || p->rejected > 0)
		fprintf(stderr, "  publisher %s: %s\n", p->id, p->error);
	if (p->resent > 0)
		printf("  note: publisher %s re-sent %" PRIu64 " publishes (acks later than 3 s)\n",
		       p->id, p->resent);
	return !p->failed && p->accepted == p->n;
}

/* ---------------------------------------------------------------- phases */

static int wait_serving(int timeout_ms)
{
	principal_t p;
	blo_client_opts_t opts = {0};
	blo_client_t *c = NULL;
	blo_err_t err = {0};
	int rc;

	if (principal_load(&p, "th-committee") != 0)
		return -1;
	opts.endpoint = p.endpoint;
	opts.broker_id = p.broker->id;
	opts.broker_curve_public = p.broker->curve_public;
	opts.identity = p.identity;
	opts.software = "bench";
	rc = blo_client_open(&c, &opts, &err);
	if (rc == 0)
		rc = blo_client_wait_ready(c, timeout_ms, &err);
	if (rc != 0)
		fprintf(stderr, "broker not serving: %s\n", err.msg);
	blo_client_close(&c);
	principal_free(&p);
	return rc;
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
	pthread_barrier_init(&ready, NULL, N_AGENTS + 1);
	for (size_t i = 0; i < N_AGENTS; i++) {
		pubs[i] = pub_init(agent_id(i), cfg.ingest_per_pub, 1 + (unsigned)i, &ready);
		pthread_create(&th[i], NULL, pub_main, &pubs[i]);
	}
	pthread_barrier_wait(&ready);
	t0 = now_ns();
	cpu_snapshot(&a);
	sa = read_status(0);
	for (size_t i = 0; i < N_AGENTS; i++) {
		pthread_join(th[i], NULL);
		ok = pub_report(&pubs[i]) && ok;
		accepted += pubs[i].accepted;
		if (pubs[i].end_ns > t1)
			t1 = pubs[i].end_ns;
	}
	cpu_snapshot(&b);
	pthread_barrier_destroy(&ready);
	R.ingest_ok = ok;
	R.ingest_per_s = t1 > t0 ? (double)accepted / secs(t1 - t0) : 0;
	printf("  %" PRIu64 " accepted in %.2f s: %.0f alerts/s%s\n", accepted, secs(t1 - t0),
	       R.ingest_per_s, ok ? "" : " (INCOMPLETE)");
	cpu_report("ingest", &a, &b, (double)accepted, "alert");
	sb = read_status(blo_now_ms());
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
	cpu_snapshot(&a);
	sa = read_status(0);
	pthread_join(pth, NULL);
	ok = pub_report(&pub);
	join_subs(&sub, &sth, 1, &stop);
	cpu_snapshot(&b);
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
	sb = read_status(blo_now_ms());
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
	cpu_snapshot(&a);
	sa = read_status(0);
	pthread_join(pth, NULL);
	ok = pub_report(&pub);
	join_subs(subs, sth, N_CONSOLES, &stop);
	cpu_snapshot(&b);
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
	sb = read_status(blo_now_ms());
	status_report(&sa, &sb);
out:
	for (size_t i = 0; subs != NULL && i < N_CONSOLES; i++)
		free(subs[i].seen);
	free(subs);
	free(sth);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentiles of the values >= 0 of v[0..n) (negative: no sample). */
static pcts_t percentiles(const double *v, size_t n)
{
	double *sorted = malloc((n > 0 ? n : 1) * sizeof(*sorted));
	pcts_t p = {0};

	if (sorted == NULL)
		return p;
	for (size_t i = 0; i < n; i++)
		if (v[i] >= 0)
			sorted[p.n++] = v[i];
	if (p.n > 0) {
		double last = (double)(p.n - 1);

		qsort(sorted, p.n, sizeof(*sorted), cmp_double);
		p.p50 = sorted[(size_t)(0.50 * last)];
		p.p90 = sorted[(size_t)ceil(0.90 * last)];
		p.p99 = sorted[(size_t)ceil(0.99 * last)];
		p.p999 = sorted[(size_t)ceil(0.999 * last)];
		p.max = sorted[p.n - 1];
	}
	free(sorted);
	return p;
}

static void print_pcts(const char *what, const pcts_t *p)
{
	printf("  %s: %zu samples, p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
	       what, p->n, p->p50, p->p90, p->p99, p->p999, p->max);
}

/* The latency floor of a durable broker on this disk: single-entry synced
 * journal commits in a scratch journal on the same file system as the
 * broker's. A publish is acknowledged, and delivered, only after one. */
static void measure_commit_latency(void)
{
	char dir[4200];
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.map_size = (size_t)64 << 20};
	blo_err_t err = {0};
	enum { N = 300 };
	double ms[N];
	uint8_t data[ALERT_BYTES + 70], id[BLO_JOURNAL_ID_BYTES];

	snprintf(dir, sizeof(dir), "%s/commit-probe", work);
	if (mkdir(dir, 0700) != 0 || blo_journal_open(&j, dir, &opts, &err) != 0) {
		fprintf(stderr, "commit probe: %s\n", err.msg);
		return;
	}
	randombytes_buf(data, sizeof(data));
	for (int i = 0; i < N; i++) {
		blo_journal_entry_t e = {.id = id, .data = data, .len = sizeof(data),
					 .time_ms = blo_now_ms()};
		int64_t t0 = now_ns();

		randombytes_buf(id, sizeof(id));
		if (blo_journal_append(j, &e, 1, &err) != 0) {
			fprintf(stderr, "commit probe: %s\n", err.msg);
			break;
		}
		ms[i] = (double)(now_ns() - t0) / 1e6;
	}
	blo_journal_close(&j);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	R.commit = percentiles(ms, N);
	print_pcts("synced journal commit of 1 alert (the latency floor)", &R.commit);
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
	cpu_snapshot(&a);
	sa = read_status(0);
	pthread_join(pth, NULL);
	pub_report(&pub);
	join_subs(&sub, &sth, 1, &stop);
	cpu_snapshot(&b);
	pthread_barrier_destroy(&ready);
	R.lat = percentiles(lat, n);
	acks = percentiles(ack, n);
	R.lat_ok = R.lat.n == n;
	print_pcts("publish -> PublishAck (seen by the paced publisher, which naps <= 0.2 ms)", &acks);
	print_pcts("publish -> delivery", &R.lat);
	cpu_report("latency", &a, &b, (double)R.lat.n, "alert published and delivered");
	sb = read_status(blo_now_ms());
	status_report(&sa, &sb);
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

	if (entries == NULL || ids == NULL || principal_load(&p, agent_id(3)) != 0)
		goto out;
	for (size_t i = 0; i < FILL_DISTINCT; i++)
		if (seal_alert(p.identity, p.me, SERIAL(40, i), &envs[i], &lens[i]) != 0)
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

	if (principal_load(&p, "th-committee") != 0)
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
	broker_pid = spawn_broker();
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
	R.stop_s = stop_broker(&status);
	printf("  broker stopped by SIGTERM in %.3f s, exit status %d\n", R.stop_s, status);
	if (fill_journal() != 0)
		return;
	if (measure_restart(&R.restart_warm_s, &R.listen_warm_s) != 0)
		return;
	R.restart_warm_ok = true;
	printf("  warm (data.mdb in the page cache): listening after %.3f s, first Welcome after "
	       "%.3f s\n",
	       R.listen_warm_s, R.restart_warm_s);
	stop_broker(&status);
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

static void comparison(void)
{
	bool nats = in_path("nats-server"), mosq = in_path("mosquitto");

	printf("\nJetStream / Mosquitto comparison (not part of CI):\n");
	printf("  skipped: nats-server %s, mosquitto %s; this bench has no NATS or MQTT client of "
	       "its own to drive them with the same workload.\n",
	       nats ? "installed" : "not installed", mosq ? "installed" : "not installed");
	printf("  Note for any comparison: both acknowledge before anything is synced (Debian's "
	       "nats-server 2.9 has no sync_interval; Mosquitto persists by periodic snapshot), "
	       "while the blonet broker acknowledges only after a synced LMDB commit.\n");
}

/* ---------------------------------------------------------------- table */

static const char *verdict(bool met)
{
	return met ? "met" : "BELOW";
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
	printf("%-52s %12.0f/s %8s   (the lower: %s)\n", "limit = min(CURVE, verify all cores)", L,
	       "1.00x", L == R.curve_per_s ? "CURVE" : "verify");
	printf("%-52s %12.0f/s %7.2fx   (CURVE %.0f/s, verify %.0f/s)\n",
	       "  the same limit measured again after the runs", R.limit_end, R.limit_end / L,
	       R.curve_end, R.verify_all_end);
	printf("%-52s %11.3f ms   (p99 %.3f ms; after the runs: p50 %.3f, p99 %.3f)\n",
	       "synced journal commit of 1 alert: p50", R.commit.p50, R.commit.p99, R.commit_end.p50,
	       R.commit_end.p99);
	printf("%-52s %12.0f/s %7.2fx %9s  %s\n", "durable ingest, 4 publishers", R.ingest_per_s,
	       R.ingest_per_s / L, ">= 0.70x", verdict(R.ingest_ok && R.ingest_per_s >= INGEST_TARGET * L));
	printf("%-52s %12.0f/s %7.2fx %9s  %s\n", "publish -> acked delivery, 1 subscriber",
	       R.delivery_per_s, R.delivery_per_s / L, ">= 0.50x",
	       verdict(R.delivery_ok && R.delivery_per_s >= DELIVERY_TARGET * L));
	printf("%-52s %12.0f/s %7.2fx %9s  %s\n", "fan-out to 70: deliveries (no verify in them)",
	       R.fanout_deliveries_per_s,
	       R.fanout_deliveries_per_s / L, "no loss",
	       R.fanout_lossless ? "met (0 lost)" : "BELOW (lost or incomplete)");
	printf("%-52s %12.0f/s %7.2fx\n", "fan-out to 70: alerts delivered to all",
	       R.fanout_alerts_per_s, R.fanout_alerts_per_s / L);
	printf("%-52s %11.3f ms\n", "latency at 1,000/s: p50", R.lat.p50);
	printf("%-52s %11.3f ms %8s %9s  %s\n", "latency at 1,000/s: p99", R.lat.p99, "",
	       "< 3 ms", verdict(R.lat_ok && R.lat.p99 < P99_TARGET_MS));
	printf("%-52s %11.3f ms\n", "latency at 1,000/s: max", R.lat.max);
	snprintf(label, sizeof(label), "restart, %" PRIu64 " stored, warm: exec -> Welcome", R.stored);
	printf("%-52s %12.3f s %8s %9s  %s\n", label, R.restart_warm_s, "", "< 1 s",
	       verdict(R.restart_warm_ok && R.restart_warm_s < RESTART_TARGET_S));
	snprintf(label, sizeof(label), "restart, %" PRIu64 " stored, cold: exec -> Welcome", R.stored);
	printf("%-52s %12.3f s %8s %9s  %s\n", label, R.restart_cold_s, "", "< 1 s",
	       verdict(R.restart_cold_ok && R.restart_cold_s < RESTART_TARGET_S));
	printf("%-52s %12.3f s\n", "  of which blo_journal_open (measured alone, warm)",
	       R.journal_open_s);
	printf("%-52s %12.3f s\n", "shutdown on SIGTERM (after the runs)", R.stop_s);
	printf("Figures are measurements on this machine, never pass/fail conditions of the build.\n");
}

/* ---------------------------------------------------------------- main */

/* Where the programs are: BLO_BIN; else next to this build's folder
 * (build/SAN/bench/../bin for a sanitizer build, whose programs live
 * there); else the plain build's bin/ at the top of the tree. */
static const char *find_bin_dir(const char *argv0)
{
	static char dir[4096];
	const char *env = getenv("BLO_BIN"), *slash = strrchr(argv0, '/');
	char base[4096], probe[4200];

	if (env != NULL && env[0] != '\0')
		return env;
	if (slash != NULL) {
		snprintf(base, sizeof(base), "%.*s", (int)(slash - argv0), argv0);
		snprintf(dir, sizeof(dir), "%s/../bin", base);
		snprintf(probe, sizeof(probe), "%s/blonet-broker", dir);
		if (access(probe, X_OK) == 0)
			return dir;
		snprintf(dir, sizeof(dir), "%s/../../../bin", base);
		snprintf(probe, sizeof(probe), "%s/blonet-broker", dir);
		if (access(probe, X_OK) == 0)
			return dir;
	}
	return "bin";
}

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
	measure_limits(&R.curve_per_s, &R.verify_1core_per_s, &R.verify_all_per_s);
	R.limit = R.curve_per_s < R.verify_all_per_s ? R.curve_per_s : R.verify_all_per_s;
	if (R.limit <= 0) {
		fprintf(stderr, "could not measure the limits\n");
		goto out;
	}
	measure_commit_latency();
	if (provision() != 0)
		goto out;
	broker_pid = spawn_broker();
	if (broker_pid < 0 || wait_serving(30000) != 0) {
		fprintf(stderr, "the broker did not start; see %s\n", broker_log);
		goto out;
	}
	printf("  deployment in %s; broker pid %d\n", work, (int)broker_pid);

	phase_ingest();
	phase_delivery();
	phase_fanout();
	phase_latency();
	phase_restart();
	if (broker_pid > 0) {
		int status = 0;

		stop_broker(&status);
	}
	printf("\n[6] the limits again, to show how steady this machine was during the run\n");
	measure_limits(&R.curve_end, &R.verify_1core_end, &R.verify_all_end);
	R.limit_end = R.curve_end < R.verify_all_end ? R.curve_end : R.verify_all_end;
	R.commit_start = R.commit;
	measure_commit_latency();
	R.commit_end = R.commit;
	R.commit = R.commit_start;
	print_table();
	comparison();
	rc = 0;
out:
	if (broker_pid > 0) {
		int status = 0;

		stop_broker(&status);
	}
	if (getenv("BLO_KEEP") != NULL || rc != 0) {
		printf("work folder kept: %s\n", work);
	} else {
		nftw(work, rm_one, 32, FTW_DEPTH | FTW_PHYS);
	}
	return rc;
}

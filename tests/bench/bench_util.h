/*
 * bench_util.h: what the benchmarks that drive real brokers share, written
 * once: clocks, the limits of this machine (raw libzmq CURVE, Ed25519
 * verify, a synced journal commit, the CPU of CURVE and of a synced store
 * per alert), CPU use per thread from /proc, the
 * broker's status.json, running the programs (blonet-provision,
 * blonet-broker) as child processes, a provisioned principal's keys, signed
 * 512-byte bench alerts, and a publisher thread on lib/blo_client.
 *
 * Header only: each bench is one translation unit (the Makefile builds
 * tests/bench/bench_X.c alone into build/.../bench/bench_X), so every
 * function here is static; BENCH_FN marks them unused-if-unused so that a
 * bench may take only what it needs under -Werror.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include "blo_client.h"
#include "blo_codec.h"
#include "blo_envelope.h"
#include "blo_identity.h"
#include "blo_journal.h"
#include "blo_registry.h"
#include "blo_settings.h"
#include "blo_util.h"

#include <cjson/cJSON.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define BENCH_FN static __attribute__((unused))

#define ALERT_BYTES 512
#define STALL_S 60         /* no progress this long: the phase failed */

/* ---------------------------------------------------------------- time */

BENCH_FN int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

BENCH_FN double secs(int64_t ns)
{
	return (double)ns / 1e9;
}

BENCH_FN void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

	if (ns > 0)
		nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- percentiles */

typedef struct {
	size_t n;
	double p50, p90, p99, p999, max;
} pcts_t;

BENCH_FN int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentiles of the values >= 0 of v[0..n) (negative: no sample). */
BENCH_FN pcts_t percentiles(const double *v, size_t n)
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

BENCH_FN void print_pcts(const char *what, const pcts_t *p)
{
	printf("  %s: %zu samples, p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
	       what, p->n, p->p50, p->p90, p->p99, p->p999, p->max);
}

/* ---------------------------------------------------------------- CPU use */

#define MAX_THREADS 512

typedef struct {
	int tid;
	char comm[32];
	uint64_t ticks;
} tsample_t;

/* One broker process's threads, this process and the whole machine at
 * one moment. */
typedef struct {
	int64_t at_ns;
	tsample_t broker[MAX_THREADS];
	size_t n_broker;
	uint64_t self_ticks;
	uint64_t cpu_busy, cpu_total;
	uint64_t broker_switches, self_switches;
} cpu_snap_t;

/* Voluntary plus involuntary context switches of every thread of pid. */
BENCH_FN uint64_t context_switches(pid_t pid)
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
BENCH_FN int read_stat(const char *path, char *comm, size_t comm_size, uint64_t *ticks)
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

BENCH_FN int cmp_tid(const void *a, const void *b)
{
	return ((const tsample_t *)a)->tid - ((const tsample_t *)b)->tid;
}

/* The threads of broker_pid (none if <= 0), this process and the machine. */
BENCH_FN void cpu_snapshot(cpu_snap_t *s, pid_t broker_pid)
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

/* Prints " label N%" for each broker thread that used at least 0.5% of a
 * core between a and b, and returns the broker's total in % of one core.
 * The broker's own threads carry the program's name; they are labelled by
 * creation order (main, ZAP handler, journal writer, verify workers: see
 * blo_broker_open); libzmq's I/O threads by their own names. */
BENCH_FN double cpu_print_threads(const cpu_snap_t *a, const cpu_snap_t *b)
{
	double hz = (double)sysconf(_SC_CLK_TCK), dt = secs(b->at_ns - a->at_ns);
	double total = 0;

	if (dt <= 0)
		return 0;
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
		/* The broker names its threads blo-ROLE; the main thread is its
		 * I/O loop, libzmq's are ZMQbg/... */
		if (strncmp(t->comm, "blo-", 4) == 0)
			snprintf(label, sizeof(label), "%s", t->comm + 4);
		else if (strncmp(t->comm, "ZMQbg", 5) == 0)
			snprintf(label, sizeof(label), "%s", t->comm);
		else
			snprintf(label, sizeof(label), "main/io-loop");
		if (pct >= 0.5)
			printf(" %s %.0f%%", label, pct);
	}
	return total;
}

/* This process's CPU between a and b, in % of one core; and the machine's
 * busy share in % of all its cores. */
BENCH_FN double cpu_self_pct(const cpu_snap_t *a, const cpu_snap_t *b)
{
	double hz = (double)sysconf(_SC_CLK_TCK), dt = secs(b->at_ns - a->at_ns);

	return dt > 0 ? 100.0 * (double)(b->self_ticks - a->self_ticks) / hz / dt : 0;
}

BENCH_FN double cpu_machine_pct(const cpu_snap_t *a, const cpu_snap_t *b)
{
	return b->cpu_total > a->cpu_total
		       ? 100.0 * (double)(b->cpu_busy - a->cpu_busy) / (double)(b->cpu_total - a->cpu_total)
		       : 0;
}

/* Prints the CPU each broker thread, this process and the machine used
 * between a and b, as % of one core. */
BENCH_FN void cpu_report(const char *phase, const cpu_snap_t *a, const cpu_snap_t *b, double items,
			 const char *item)
{
	double dt = secs(b->at_ns - a->at_ns);
	double total, busy, self;

	if (dt <= 0)
		return;
	printf("  cpu during %s (%% of one core):\n    broker threads:", phase);
	total = cpu_print_threads(a, b);
	busy = cpu_machine_pct(a, b);
	self = cpu_self_pct(a, b);
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

BENCH_FN double json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* DATA_DIR/status.json of a broker, parsed (cJSON_Delete it), or NULL if it
 * is not there (yet) or does not parse. The broker rewrites it whole every
 * second. */
BENCH_FN cJSON *status_load(const char *data_dir)
{
	char path[4200];
	char *text = NULL;
	size_t len = 0;
	cJSON *root = NULL;

	snprintf(path, sizeof(path), "%s/status.json", data_dir);
	if (blo_read_file(path, 1 << 20, &text, &len) == 0) {
		root = cJSON_ParseWithLength(text, len);
		free(text);
	}
	return root;
}

/* The upper bound of blo_hist bucket i, as text ("+Inf" for the last). */
BENCH_FN const char *bucket_bound(int i)
{
	static char text[BLO_HIST_BUCKETS][16];

	if (i < 0 || i >= BLO_HIST_BUCKETS)
		return "?";
	return blo_hist_bound_name(i, text[i], sizeof(text[i]));
}

/* The broker's counters from DATA_DIR/status.json. With fresh_after_ms,
 * waits (up to 2 s) for a file written after that time. */
typedef struct {
	double time_ms, commits, accepted, delivered, redelivered;
	/* commit_ms.le: the journal's writes to disk of at most each bucket's
	 * bound, cumulative (blo_hist buckets; the last is "+Inf") */
	double commit_le[BLO_HIST_BUCKETS];
	/* publish_ms.le: the same for publishes from read to answer */
	double publish_le[BLO_HIST_BUCKETS];
	bool ok;
} status_t;

/* The cumulative buckets of status.json's blo_hist name ("commit_ms",
 * "publish_ms"); 0 where absent. */
BENCH_FN void status_hist_le(const cJSON *root, const char *name, double le[BLO_HIST_BUCKETS])
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(root, name), "le");

	for (int i = 0; i < BLO_HIST_BUCKETS; i++) {
		char bound[16];

		le[i] = json_num(o, blo_hist_bound_name(i, bound, sizeof(bound)));
	}
}

BENCH_FN status_t read_status(const char *data_dir, int64_t fresh_after_ms)
{
	status_t st = {0};
	int64_t give_up = now_ns() + 2 * (int64_t)1000000000;

	for (;;) {
		cJSON *root = status_load(data_dir);
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "counters");

		if (root != NULL && c != NULL) {
			st.time_ms = json_num(root, "time_ms");
			st.commits = json_num(c, "commits");
			st.accepted = json_num(c, "accepted");
			st.delivered = json_num(c, "delivered");
			st.redelivered = json_num(c, "redelivered");
			status_hist_le(root, "commit_ms", st.commit_le);
			status_hist_le(root, "publish_ms", st.publish_le);
			st.ok = true;
		}
		cJSON_Delete(root);
		if ((st.ok && st.time_ms > (double)fresh_after_ms) || now_ns() > give_up)
			return st;
		sleep_ns(50000000);
	}
}

/* What a status.json blo_hist counted between two readings of its
 * cumulative buckets a and b, per bucket (buckets that double from 64 us). */
BENCH_FN void hist_between(const double a[BLO_HIST_BUCKETS], const double b[BLO_HIST_BUCKETS],
			   uint64_t n[BLO_HIST_BUCKETS])
{
	for (int i = 0; i < BLO_HIST_BUCKETS; i++) {
		double d = (b[i] - (i > 0 ? b[i - 1] : 0)) - (a[i] - (i > 0 ? a[i - 1] : 0));

		n[i] = d > 0 ? (uint64_t)d : 0;
	}
}

/* The journal's writes to disk (commits and syncs) between a and b
 * (status.json's commit_ms), per blo_hist bucket. */
BENCH_FN void commits_between(const status_t *a, const status_t *b, uint64_t n[BLO_HIST_BUCKETS])
{
	hist_between(a->commit_le, b->commit_le, n);
}

/* The bucket of the slowest write counted in n; -1: none. */
BENCH_FN int slowest_bucket(const uint64_t n[BLO_HIST_BUCKETS])
{
	return blo_hist_quantile_bucket(n, 1.0);
}

/* How long the journal's writes to disk between a and b took: the bound of
 * the bucket that holds the median, the p99 and the slowest, and how many
 * took over 4.096 ms. What an ack waits for: a stall of the disk shows
 * here. */
BENCH_FN void commit_times_report(const status_t *a, const status_t *b)
{
	uint64_t n[BLO_HIST_BUCKETS], over4 = 0;

	commits_between(a, b, n);
	if (slowest_bucket(n) < 0)
		return;
	for (int i = 0; i < BLO_HIST_BUCKETS; i++)
		if (blo_hist_bound_ms(i) < 0 || blo_hist_bound_ms(i) > 4.096)
			over4 += n[i];
	printf("    its journal's commits and syncs (status.json commit_ms): p50 <= %s ms, "
	       "p99 <= %s ms, slowest <= %s ms; %" PRIu64 " over 4.096 ms\n",
	       bucket_bound(blo_hist_quantile_bucket(n, 0.5)),
	       bucket_bound(blo_hist_quantile_bucket(n, 0.99)), bucket_bound(slowest_bucket(n)),
	       over4);
}

/* How long the broker took over the publishes it answered between a and
 * b, from when its I/O loop read each to its answer (verification, the
 * queue to the writer, the commit and its sync). */
BENCH_FN void publish_times_report(const status_t *a, const status_t *b)
{
	uint64_t n[BLO_HIST_BUCKETS];

	hist_between(a->publish_le, b->publish_le, n);
	if (slowest_bucket(n) < 0)
		return;
	printf("    its publishes from read to answer (status.json publish_ms): p50 <= %s ms, "
	       "p99 <= %s ms, slowest <= %s ms\n",
	       bucket_bound(blo_hist_quantile_bucket(n, 0.5)),
	       bucket_bound(blo_hist_quantile_bucket(n, 0.99)), bucket_bound(slowest_bucket(n)));
}

/* Journal commits the broker made between a and b, and how long they and
 * its publishes took. */
BENCH_FN void status_report(const status_t *a, const status_t *b)
{
	double dt = (b->time_ms - a->time_ms) / 1000.0;
	double accepted = b->accepted - a->accepted;
	double commits = b->commits - a->commits;

	if (!a->ok || !b->ok || dt <= 0)
		return;
	printf("    broker counters over %.1f s (status.json): %.0f commits (%.0f/s), %.0f "
	       "accepted (%.1f per commit), %.0f delivered, %.0f redelivered\n",
	       dt, commits, commits / dt, accepted, commits > 0 ? accepted / commits : 0,
	       b->delivered - a->delivered, b->redelivered - a->redelivered);
	commit_times_report(a, b);
	publish_times_report(a, b);
}

/* ---------------------------------------------------------------- limits */

typedef struct {
	char endpoint[256];
	char server_public[41], server_secret[41], client_public[41], client_secret[41];
	size_t n;
	int rc;
} curve_arg_t;

BENCH_FN void *curve_sender(void *arg)
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

/* CPU time so far, user and system, in seconds: of this process, every
 * thread (RUSAGE_SELF), or of the calling thread (RUSAGE_THREAD). */
BENCH_FN double cpu_time_s(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Raw CURVE PUSH/PULL of n 512-byte messages between two threads, each
 * with its own context (its own libzmq I/O thread), over TCP on 127.0.0.1:
 * messages/s at the receiver, from its 1,000th message to its last (the
 * handshake left out). 0 if it could not be measured. *cpu_us (may be
 * NULL): the CPU both ends spent per message over the same span, in
 * microseconds (this process's four threads: sender, receiver and their
 * I/O threads). */
BENCH_FN double measure_curve(size_t n, double *cpu_us)
{
	curve_arg_t a = {.n = n};
	void *ctx = zmq_ctx_new();
	void *pull = zmq_socket(ctx, ZMQ_PULL);
	int one = 1, timeout = 10000;
	size_t len = sizeof(a.endpoint);
	uint8_t buf[ALERT_BYTES + 16];
	pthread_t th;
	int64_t t_first = 0, t_last = 0;
	double cpu_first = 0, cpu_last;
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
		if (got == 999) {
			t_first = now_ns();
			cpu_first = cpu_time_s(RUSAGE_SELF);
		}
	}
	t_last = now_ns();
	cpu_last = cpu_time_s(RUSAGE_SELF);
	pthread_join(th, NULL);
	zmq_close(pull);
	zmq_ctx_term(ctx);
	if (got < a.n || t_first == 0) {
		fprintf(stderr, "curve: received %zu of %zu messages\n", got, a.n);
		return 0;
	}
	if (cpu_us != NULL)
		*cpu_us = (cpu_last - cpu_first) * 1e6 / (double)(got - 1000);
	return (double)(got - 1000) / secs(t_last - t_first);
}

/* The echo end of measure_curve_rtt: sends every message that reaches the
 * bound CURVE server ROUTER arg straight back, until one of 0 bytes or 10 s
 * of silence. (The socket was made and bound by the caller; pthread_create
 * hands it over with a full barrier, as libzmq requires.) */
BENCH_FN void *curve_echo(void *arg)
{
	void *router = arg;
	uint8_t rid[256], msg[ALERT_BYTES + 16];
	int rlen, len;

	while ((rlen = zmq_recv(router, rid, sizeof(rid), 0)) > 0 &&
	       (len = zmq_recv(router, msg, sizeof(msg), 0)) > 0) {
		zmq_send(router, rid, (size_t)rlen, ZMQ_SNDMORE);
		zmq_send(router, msg, (size_t)len, 0);
	}
	return NULL;
}

/* The transport's part of a publish's latency on this machine: n paced
 * round trips of a 512-byte message, rate a second, from a CURVE DEALER to
 * a CURVE ROUTER that sends it straight back, each end in its own context
 * (its own libzmq I/O thread, as a client and a broker have) over TCP on
 * 127.0.0.1. Publish -> delivery crosses the same hops: client thread, its
 * I/O thread, the broker's I/O thread and loop thread, then the same back
 * out to the subscriber. The first 100 round trips (the handshake among
 * them) are left out. Printed and returned (n 0 if it could not be
 * measured). */
BENCH_FN pcts_t measure_curve_rtt(size_t n, int rate)
{
	char server_public[41], server_secret[41], client_public[41], client_secret[41];
	char endpoint[256];
	void *sctx = zmq_ctx_new(), *router = zmq_socket(sctx, ZMQ_ROUTER);
	void *ctx = zmq_ctx_new(), *dealer = zmq_socket(ctx, ZMQ_DEALER);
	int one = 1, timeout = 10000, linger = 0;
	size_t elen = sizeof(endpoint), got = 0;
	uint8_t msg[ALERT_BYTES], buf[ALERT_BYTES + 16];
	double *ms = calloc(n, sizeof(*ms));
	pcts_t p = {0};
	pthread_t th;
	int64_t start;

	memset(msg, 0x5a, sizeof(msg));
	zmq_curve_keypair(server_public, server_secret);
	zmq_curve_keypair(client_public, client_secret);
	zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof(one));
	zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, server_secret, 40);
	zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof(linger));
	if (ms == NULL || zmq_bind(router, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &elen) != 0) {
		fprintf(stderr, "curve round trip: cannot bind: %s\n", zmq_strerror(errno));
		zmq_close(router);
		zmq_close(dealer);
		zmq_ctx_term(sctx);
		zmq_ctx_term(ctx);
		free(ms);
		return p;
	}
	pthread_create(&th, NULL, curve_echo, router);
	zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, server_public, 40);
	zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, client_public, 40);
	zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, client_secret, 40);
	zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_connect(dealer, endpoint);
	start = now_ns();
	for (size_t i = 0; i < n + 100; i++) {
		int64_t t0;

		sleep_ns(start + (int64_t)((double)i * 1e9 / rate) - now_ns());
		t0 = now_ns();
		if (zmq_send(dealer, msg, sizeof(msg), 0) != (int)sizeof(msg) ||
		    zmq_recv(dealer, buf, sizeof(buf), 0) != ALERT_BYTES)
			break;
		if (i >= 100)
			ms[got++] = (double)(now_ns() - t0) / 1e6;
	}
	zmq_send(dealer, "", 0, 0); /* the echo's stop */
	pthread_join(th, NULL);
	zmq_close(router);
	zmq_close(dealer);
	zmq_ctx_term(sctx);
	zmq_ctx_term(ctx);
	if (got == n) {
		p = percentiles(ms, n);
		print_pcts("CURVE round trip at the latency run's pace (the transport's part)", &p);
	} else {
		fprintf(stderr, "curve round trip: %zu of %zu answered\n", got, n);
	}
	free(ms);
	return p;
}

/* Alerts each verify thread goes round: distinct signatures, as a broker
 * sees them. One signature verified over and over runs some 3 to 6% faster
 * here (the variable-time scalar multiplication's branches are learnt, the
 * key and message stay in L1), a rate no broker of real alerts can reach;
 * it is measured for reference only. */
#define VERIFY_SET 256
#define VERIFY_KEYS 4 /* signers among them, as the ingest's 4 publishers */

typedef struct {
	double seconds;
	bool same; /* verify one alert over and over */
	pthread_barrier_t *start;
	uint64_t count;
	double elapsed;
} verify_arg_t;

typedef struct {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t msg[ALERT_BYTES];
	uint8_t sig[crypto_sign_BYTES];
} verify_item_t;

BENCH_FN void *verify_thread(void *arg)
{
	verify_arg_t *a = arg;
	uint8_t pk[VERIFY_KEYS][crypto_sign_PUBLICKEYBYTES], sk[VERIFY_KEYS][crypto_sign_SECRETKEYBYTES];
	verify_item_t *set = malloc(VERIFY_SET * sizeof(*set));
	size_t next = 0, step = a->same ? 0 : 1;
	int64_t start, end, now;
	uint64_t n = 0, bad = 0;

	if (set == NULL) {
		pthread_barrier_wait(a->start);
		a->count = 0;
		a->elapsed = 1;
		return NULL;
	}
	for (size_t k = 0; k < VERIFY_KEYS; k++)
		crypto_sign_keypair(pk[k], sk[k]);
	for (size_t i = 0; i < VERIFY_SET; i++) {
		memcpy(set[i].pk, pk[i % VERIFY_KEYS], sizeof(set[i].pk));
		randombytes_buf(set[i].msg, sizeof(set[i].msg));
		crypto_sign_detached(set[i].sig, NULL, set[i].msg, sizeof(set[i].msg),
				     sk[i % VERIFY_KEYS]);
	}
	pthread_barrier_wait(a->start);
	start = now_ns();
	end = start + (int64_t)(a->seconds * 1e9);
	do {
		for (int i = 0; i < 64; i++) {
			const verify_item_t *it = &set[next];

			if (crypto_sign_verify_detached(it->sig, it->msg, sizeof(it->msg), it->pk) != 0)
				bad++;
			n++;
			next = (next + step) % VERIFY_SET;
		}
		now = now_ns();
	} while (now < end);
	a->count = bad == 0 ? n : 0;
	a->elapsed = secs(now - start);
	free(set);
	return NULL;
}

/* Ed25519 verifications per second with `threads` threads together, of
 * distinct alerts (or of one alert over and over: `same`). */
BENCH_FN double measure_verify(int threads, double seconds, bool same)
{
	pthread_t th[256];
	verify_arg_t args[256];
	pthread_barrier_t start;
	double total = 0;

	if (threads > 256)
		threads = 256;
	pthread_barrier_init(&start, NULL, (unsigned)threads);
	for (int i = 0; i < threads; i++) {
		args[i] = (verify_arg_t){.seconds = seconds, .same = same, .start = &start};
		pthread_create(&th[i], NULL, verify_thread, &args[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += (double)args[i].count / args[i].elapsed;
	}
	pthread_barrier_destroy(&start);
	return total;
}

/* The raw CURVE rate (curve_msgs messages; curve_cpu_us, may be NULL: the
 * CPU per message, as measure_curve) and Ed25519 verifications of distinct
 * alerts on one core (for verify_s * 2/3 s) and on every core (verify_s),
 * printed; verify_same, unless NULL: every core verifying one alert over
 * and over (for verify_s * 2/3 s), the rate a bench of one signature would
 * report. */
BENCH_FN void measure_limits(size_t curve_msgs, double verify_s, int cores, double *curve,
			     double *curve_cpu_us, double *verify_1, double *verify_all,
			     double *verify_same)
{
	double cpu_us = 0;

	*curve = measure_curve(curve_msgs, &cpu_us);
	printf("  raw CURVE PUSH/PULL: %.0f msg/s, %.1f us of CPU per message (both ends)\n", *curve,
	       cpu_us);
	if (curve_cpu_us != NULL)
		*curve_cpu_us = cpu_us;
	*verify_1 = measure_verify(1, verify_s * 2 / 3, false);
	*verify_all = measure_verify(cores, verify_s, false);
	printf("  Ed25519 verify of %d distinct alerts: %.0f/s on 1 core, %.0f/s on %d cores\n",
	       VERIFY_SET, *verify_1, *verify_all, cores);
	if (verify_same != NULL) {
		*verify_same = measure_verify(cores, verify_s * 2 / 3, true);
		printf("  Ed25519 verify of one alert over and over: %.0f/s on %d cores (%.3fx; "
		       "not the limit: no broker sees that)\n",
		       *verify_same, cores, *verify_all > 0 ? *verify_same / *verify_all : 0);
	}
}

/* ---------------------------------------------------------------- processes */

BENCH_FN int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Runs argv with stdout and stderr into log; returns its exit status. */
BENCH_FN int run_program(char *const argv[], const char *log)
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

/* Starts bin_dir/blonet-broker -c config (stdout and stderr appended to
 * log); it dies with this process (call it from the main thread: the
 * death signal follows the thread that forked). Returns its pid or -1. */
BENCH_FN pid_t spawn_broker(const char *bin_dir, const char *config, const char *log)
{
	char prog[4096];
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/blonet-broker", bin_dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(prog, prog, "-c", config, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* SIGTERM to *pid, then SIGKILL after 30 s; *pid becomes -1. Returns the
 * seconds it took to exit, or -1 if it had to be killed; *status_out (may
 * be NULL) its exit status. */
BENCH_FN double stop_broker(pid_t *pid, int *status_out)
{
	int64_t t0 = now_ns();
	int status = 0;
	bool killed = false;

	if (*pid <= 0)
		return 0;
	kill(*pid, SIGTERM);
	for (;;) {
		pid_t w = waitpid(*pid, &status, WNOHANG);

		if (w == *pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (!killed && now_ns() - t0 > 30 * (int64_t)1000000000) {
			fprintf(stderr, "broker did not stop within 30 s of SIGTERM: SIGKILL\n");
			kill(*pid, SIGKILL);
			killed = true;
		}
		sleep_ns(2000000);
	}
	*pid = -1;
	if (status_out != NULL)
		*status_out = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return killed ? -1 : secs(now_ns() - t0);
}

/* SIGKILL for a child that is still there (at exit). */
BENCH_FN void kill_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = -1;
	}
}

/* Where the programs are: BLO_BIN; else next to this build's folder
 * (build/SAN/bench/../bin for a sanitizer build, whose programs live
 * there); else the plain build's bin/ at the top of the tree. */
BENCH_FN const char *find_bin_dir(const char *argv0)
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

/* ---------------------------------------------------------------- deployment */

/* WORK/d/ID/config.json: where provision_run puts a principal's config. */
BENCH_FN char *principal_config(char *buf, size_t size, const char *work, const char *id)
{
	snprintf(buf, size, "%s/d/%s/config.json", work, id);
	return buf;
}

/* bin_dir/blonet-provision TOPOLOGY --out WORK/d, its output into
 * WORK/provision.log. Returns 0 or -1 (with a message). */
BENCH_FN int provision_run(const char *bin_dir, const char *work, const char *topology)
{
	char out[4200], log[4200], prog[4200];
	int rc;

	snprintf(out, sizeof(out), "%s/d", work);
	snprintf(log, sizeof(log), "%s/provision.log", work);
	snprintf(prog, sizeof(prog), "%s/blonet-provision", bin_dir);
	{
		char *argv[] = {prog, (char *)topology, "--out", out, NULL};

		rc = run_program(argv, log);
	}
	if (rc != 0) {
		fprintf(stderr, "blonet-provision failed (%d); see %s\n", rc, log);
		return -1;
	}
	return 0;
}

/* The data folder a broker config names (absolute: the loader resolves it
 * against the config's folder). */
BENCH_FN int broker_data_dir(const char *config, char *out, size_t size)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	int rc = blo_broker_settings_load(&s, config, &err);

	if (rc == 0)
		blo_strlcpy(out, s.data_dir, size);
	else
		fprintf(stderr, "%s\n", err.msg);
	blo_broker_settings_free(&s);
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

/* Loads principal id of the deployment provisioned into WORK/d. */
BENCH_FN int principal_load(principal_t *p, const char *work, const char *id)
{
	char path[4096];
	blo_client_settings_t s;
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	blo_err_t err = {0};
	int rc;

	memset(p, 0, sizeof(*p));
	rc = blo_client_settings_load(&s, principal_config(path, sizeof(path), work, id), &err);
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

BENCH_FN void principal_free(principal_t *p)
{
	blo_identity_destroy(&p->identity);
	blo_registry_destroy(&p->registry);
}

/* Waits until the broker of client principal id (of WORK/d) welcomes it. */
BENCH_FN int wait_serving(const char *work, const char *id, int timeout_ms)
{
	principal_t p;
	blo_client_opts_t opts = {0};
	blo_client_t *c = NULL;
	blo_err_t err = {0};
	int rc;

	if (principal_load(&p, work, id) != 0)
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

/* ---------------------------------------------------------------- alerts */

/* Serial numbers name alerts: phase << 40 | index, in the last 8 bytes of
 * the id (big-endian); the first 8 are the run's nonce. */
#define SERIAL(phase, i) (((uint64_t)(phase) << 40) | (uint64_t)(i))

BENCH_FN uint64_t serial_of(const uint8_t id[BLO_ID_BYTES])
{
	uint64_t v = 0;

	for (int i = 8; i < 16; i++)
		v = v << 8 | id[i];
	return v;
}

/* Signs one 512-byte TLP:AMBER alert from principal me with the given
 * serial under the run's 8-byte nonce: *env (malloc()ed) and *env_len.
 * releasable_to: a country the alert is released to besides the origin's,
 * or NULL for none. */
BENCH_FN int seal_alert(const blo_identity_t *identity, const blo_principal_t *me,
			const uint8_t nonce[8], uint64_t serial, const char *releasable_to,
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
	char release[3];
	char *release_list[1] = {release};
	blo_err_t err = {0};
	int64_t d = 380;
	size_t size = 0;
	int rc;

	memcpy(id, nonce, 8);
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
	if (releasable_to != NULL) {
		blo_strlcpy(release, releasable_to, sizeof(release));
		h.n_releasable_to = 1;
		h.releasable_to = release_list;
	}
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

/* A publisher thread (pub_main): connects as principal id of WORK/d, signs
 * its n alerts (serials SERIAL(phase, 0..n)), waits at the barrier `ready`
 * with the other threads and the caller, then publishes them keeping up to
 * `window` unacknowledged, until every one has a final ack. */
typedef struct {
	const char *work;
	const char *id;
	const uint8_t *nonce;         /* 8 bytes: the run's */
	const char *releasable_to;    /* a country besides the origin's, or NULL */
	size_t n;
	size_t window;
	int pace_per_s;               /* 0: as fast as the window allows */
	unsigned phase;
	_Atomic int64_t *pub_ns;      /* latency: publish time of alert i, or NULL */
	double *ack_ms;               /* latency: publish -> final ack of alert i */
	pthread_barrier_t *ready;     /* after signing and the Welcome */
	/* out */
	_Atomic uint64_t acked;       /* final acks so far (progress, read while it runs) */
	uint64_t accepted, duplicate, rejected, resent;
	uint64_t min_seq, max_seq;
	int64_t end_ns;
	int failed;
	char error[300];
} pub_t;

BENCH_FN void *pub_main(void *arg)
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
	if (blo_client_open_config(&c, principal_config(path, sizeof(path), p->work, p->id),
				   "bench-pub", &err) != 0 ||
	    blo_client_wait_ready(c, 15000, &err) != 0) {
		snprintf(p->error, sizeof(p->error), "%s: %s", p->id, err.msg);
		goto fail;
	}
	me = blo_registry_find(blo_client_registry(c), p->id);
	for (size_t i = 0; i < p->n; i++) {
		if (seal_alert(blo_client_identity(c), me, p->nonce, SERIAL(p->phase, i),
			       p->releasable_to, &envs[i], &lens[i]) != 0) {
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
			/* Wait for acks until the next send is due, rounded up to
			 * whole milliseconds (the poll's unit): a send may go up
			 * to 1 ms late (its time is taken when it goes, and the
			 * schedule catches up), but the publisher wakes only for
			 * an ack or a send, not every 0.2 ms to nap on the cores
			 * it shares with the broker. */
			target = start + (int64_t)((double)sent * 1e9 / p->pace_per_s);
			timeout = target > now ? (int)((target - now + 999999) / 1000000) : 0;
		}
		if (blo_client_next(c, timeout, &f, &err) != 0) {
			snprintf(p->error, sizeof(p->error), "next: %s", err.msg);
			goto fail;
		}
		if (f == NULL) {
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
			atomic_store_explicit(&p->acked, done, memory_order_relaxed);
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

/* Prints what went wrong with a publisher; true if all its alerts were
 * accepted. */
BENCH_FN bool pub_report(const pub_t *p)
{
	if (p->failed || p->rejected > 0)
		fprintf(stderr, "  publisher %s: %s\n", p->id, p->error);
	if (p->resent > 0)
		printf("  note: publisher %s re-sent %" PRIu64 " publishes (acks later than 3 s)\n",
		       p->id, p->resent);
	return !p->failed && p->accepted == p->n;
}

/* ---------------------------------------------------------------- journal probe */

/* The latency floor of a durable broker on this disk: single-entry synced
 * journal commits in a scratch journal WORK/commit-probe, on the same file
 * system as the brokers'. A publish is acknowledged, and a forward too,
 * only after one. Printed and returned. */
BENCH_FN pcts_t measure_commit_latency(const char *work)
{
	char dir[4200];
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.map_size = (size_t)64 << 20};
	blo_err_t err = {0};
	enum { N = 300 };
	double ms[N];
	uint8_t data[ALERT_BYTES + 70], id[BLO_JOURNAL_ID_BYTES];
	pcts_t p = {0};

	snprintf(dir, sizeof(dir), "%s/commit-probe", work);
	if (mkdir(dir, 0700) != 0 || blo_journal_open(&j, dir, &opts, &err) != 0) {
		fprintf(stderr, "commit probe: %s\n", err.msg);
		return p;
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
	p = percentiles(ms, N);
	print_pcts("synced journal commit of 1 alert (the latency floor)", &p);
	return p;
}

/* The disk's part of a latency run: what a durable queue alone shows at
 * rate alerts/s for n alerts on this file system. One thread stamps the
 * arrivals at that pace; a writer thread takes whatever has arrived and
 * commits it, each entry with its accept audit record as the broker writes
 * them, in one transaction (group commit), into a scratch journal
 * WORK/paced-probe, as the broker does: a batch of at most PACED_LOGGED
 * entries logged (blo_journal's write-ahead log, BROKER's 8 MiB), a larger
 * one synced. An alert's latency is from its arrival to the point the
 * broker answers it: the log's sync of a logged batch (the callback), the
 * end of the synced commit of another; no network, no signature, one
 * handoff. A broker cannot answer sooner on this disk at this moment.
 * Printed with the number of commits over 4 ms (the whole commit) and
 * returned (n 0: failed). */
#define PACED_LOGGED 32 /* the broker's LOGGED_MAX */
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t n, arrived;
	int64_t *at;
	int rate;
	bool stop; /* the writer failed: no more arrivals */
} paced_queue_t;

BENCH_FN void *paced_arrivals(void *arg)
{
	paced_queue_t *q = arg;
	int64_t start = now_ns();

	for (size_t i = 0; i < q->n; i++) {
		int64_t wait = start + (int64_t)((double)i * 1e9 / q->rate) - now_ns();

		if (wait > 0)
			sleep_ns(wait);
		pthread_mutex_lock(&q->mu);
		if (q->stop) {
			pthread_mutex_unlock(&q->mu);
			break;
		}
		q->at[i] = now_ns();
		q->arrived = i + 1;
		pthread_cond_signal(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
	return NULL;
}

BENCH_FN void paced_logged(blo_journal_batch_t *batch, void *arg)
{
	(void)batch;
	*(int64_t *)arg = now_ns();
}

BENCH_FN pcts_t measure_paced_commits(const char *work, int rate, size_t n)
{
	enum { MAX_BATCH = 1024 };
	char dir[4200];
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.map_size = (size_t)512 << 20, .wal_size = (size_t)8 << 20};
	blo_err_t err = {0};
	static uint8_t data[ALERT_BYTES + 70], ids[MAX_BATCH][BLO_JOURNAL_ID_BYTES];
	static blo_journal_entry_t e[MAX_BATCH];
	static blo_audit_record_t audit[MAX_BATCH];
	paced_queue_t q = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .n = n,
			   .rate = rate};
	double *ms = malloc(n * sizeof(*ms));
	size_t done = 0, commits = 0, slow = 0;
	double slowest = 0;
	pthread_t th;
	pcts_t p = {0};

	q.at = calloc(n, sizeof(*q.at));
	snprintf(dir, sizeof(dir), "%s/paced-probe", work);
	if (ms == NULL || q.at == NULL || mkdir(dir, 0700) != 0 ||
	    blo_journal_open(&j, dir, &opts, &err) != 0) {
		fprintf(stderr, "paced commit probe: %s\n", err.msg[0] ? err.msg : strerror(errno));
		goto out;
	}
	randombytes_buf(data, sizeof(data));
	if (pthread_create(&th, NULL, paced_arrivals, &q) != 0) {
		fprintf(stderr, "paced commit probe: cannot start its arrivals thread\n");
		goto out;
	}
	while (done < n) {
		size_t upto, k = 0;
		int64_t t0, t1, answered = 0;

		pthread_mutex_lock(&q.mu);
		while (q.arrived == done)
			pthread_cond_wait(&q.cv, &q.mu);
		upto = q.arrived;
		pthread_mutex_unlock(&q.mu);
		if (upto - done > MAX_BATCH)
			upto = done + MAX_BATCH;
		randombytes_buf(ids, (upto - done) * BLO_JOURNAL_ID_BYTES);
		for (size_t i = done; i < upto; i++, k++) {
			e[k] = (blo_journal_entry_t){.id = ids[k], .data = data, .len = sizeof(data),
						     .time_ms = blo_now_ms()};
			audit[k] = (blo_audit_record_t){.event = BLO_AUDIT_ACCEPT, .time_ms = e[k].time_ms,
							.principal = "th-agent-1", .entry_index = k};
		}
		t0 = now_ns();
		if (blo_journal_commit(j,
				       &(blo_journal_batch_t){.entries = e, .n_entries = k,
							      .audit = audit, .n_audit = k,
							      .logged = k <= PACED_LOGGED ? paced_logged
											  : NULL,
							      .logged_arg = &answered},
				       &err) != 0) {
			fprintf(stderr, "paced commit probe: %s\n", err.msg);
			pthread_mutex_lock(&q.mu);
			q.stop = true;
			pthread_mutex_unlock(&q.mu);
			break;
		}
		t1 = now_ns();
		commits++;
		if (secs(t1 - t0) * 1e3 > 4.0)
			slow++;
		if (secs(t1 - t0) * 1e3 > slowest)
			slowest = secs(t1 - t0) * 1e3;
		for (size_t i = done; i < upto; i++)
			ms[i] = (double)((answered != 0 ? answered : t1) - q.at[i]) / 1e6;
		done = upto;
	}
	pthread_join(th, NULL);
	if (done == n) {
		p = percentiles(ms, n);
		print_pcts("group commits alone at the latency run's pace (the disk's part)", &p);
		printf("    %zu commits (%.2f alerts each), %zu over 4 ms, slowest %.3f ms\n", commits,
		       (double)n / (double)commits, slow, slowest);
	}
out:
	blo_journal_close(&j);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(ms);
	free(q.at);
	return p;
}

/* The CPU a durable broker spends per alert to store it: synced commits of
 * STORE_BATCH entries, each with its accept audit record (the chain hash
 * included), into a scratch journal WORK/store-probe, on the calling
 * thread (the kernel's part of writing and syncing too, as far as it runs
 * on this thread). Microseconds per alert, printed; 0 if it failed. */
#define STORE_BATCH 64
BENCH_FN double measure_store_cpu(const char *work)
{
	enum { COMMITS = 200 };
	char dir[4200];
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.map_size = (size_t)256 << 20};
	blo_err_t err = {0};
	static uint8_t data[ALERT_BYTES + 70], ids[STORE_BATCH][BLO_JOURNAL_ID_BYTES];
	blo_journal_entry_t e[STORE_BATCH];
	blo_audit_record_t audit[STORE_BATCH];
	int64_t t0;
	double cpu0, cpu, wall;
	int c = 0;

	snprintf(dir, sizeof(dir), "%s/store-probe", work);
	if (mkdir(dir, 0700) != 0 || blo_journal_open(&j, dir, &opts, &err) != 0) {
		fprintf(stderr, "store probe: %s\n", err.msg);
		return 0;
	}
	randombytes_buf(data, sizeof(data));
	cpu0 = cpu_time_s(RUSAGE_THREAD);
	t0 = now_ns();
	for (; c < COMMITS; c++) {
		blo_journal_batch_t batch = {.entries = e, .n_entries = STORE_BATCH, .audit = audit,
					     .n_audit = STORE_BATCH};

		randombytes_buf(ids, sizeof(ids));
		for (int i = 0; i < STORE_BATCH; i++) {
			e[i] = (blo_journal_entry_t){.id = ids[i], .data = data, .len = sizeof(data),
						     .time_ms = blo_now_ms()};
			audit[i] = (blo_audit_record_t){.event = BLO_AUDIT_ACCEPT,
							.time_ms = e[i].time_ms,
							.principal = "th-agent-1",
							.entry_index = i};
		}
		if (blo_journal_commit(j, &batch, &err) != 0) {
			fprintf(stderr, "store probe: %s\n", err.msg);
			break;
		}
	}
	wall = secs(now_ns() - t0);
	cpu = cpu_time_s(RUSAGE_THREAD) - cpu0;
	blo_journal_close(&j);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	if (c < COMMITS)
		return 0;
	cpu = cpu * 1e6 / (COMMITS * STORE_BATCH);
	printf("  synced journal commits of %d alerts with their audit records: %.1f us of CPU per "
	       "alert, %.3f ms per commit\n",
	       STORE_BATCH, cpu, wall * 1e3 / COMMITS);
	return cpu;
}

#endif

/*
 * compare_brokers: bench_broker's phase [2] (publish -> acked delivery: one
 * publisher keeping up to W publishes unacknowledged, one durable subscriber
 * started before it) run through NATS JetStream or Mosquitto, so that
 * bench_broker can print their figures beside the blonet broker's.
 *
 * It starts the server itself: a child process on 127.0.0.1 and a port it
 * picks, in a fresh temporary folder; it stops exactly that child (SIGTERM,
 * then SIGKILL) and removes the folder. Not built under tests/bench/bench_*.c
 * on purpose: it needs libnats and libmosquitto, which only make bench
 * installs (deploy/deps.sh --bench), and it is not part of CI.
 *
 *   jetstream: a stream with file storage on "bench.alerts"; the publisher
 *     publishes asynchronously with at most W publish acks outstanding; the
 *     subscriber is a durable push consumer with explicit acks (at most W
 *     unacknowledged), acking each message.
 *   mosquitto: QoS 1; the publisher keeps at most W PUBACKs outstanding; the
 *     subscriber has a fixed client id and clean_session false; the broker
 *     has persistence on in the temporary folder, W messages in flight to a
 *     client and no limit on queued messages (its default of 1,000 would
 *     drop QoS 1 messages to a subscriber that falls behind).
 * Each payload is BYTES long and starts with its index (8 bytes, big-endian);
 * the subscriber counts distinct indexes until it has all N or nothing has
 * arrived for 30 s. Time runs from the publisher's first send to the
 * subscriber's last new message.
 *
 * Usage: compare_brokers --system jetstream|mosquitto --count N --size BYTES
 *                        --window W
 * Prints one JSON line: system, count, delivered, seconds, per_s,
 * publisher_acked_per_s, server (name and version) and note (what the server
 * has done with a message when it acknowledges it). Exit 0 when all N were
 * delivered, 1 when not, 2 when the run could not be set up (a message on
 * stderr). Environment: TMPDIR.
 */
#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <nats/nats.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QUIET_S 30           /* the subscriber gives up after this long without a message */
#define START_S 30           /* the server must accept connections within this */
#define STOP_S 5             /* SIGTERM, then SIGKILL after this */
#define INDEX_BYTES 8

#define EXIT_ALL 0
#define EXIT_SHORT 1
#define EXIT_SETUP 2

#define JS_STREAM "BENCH"
#define JS_SUBJECT "bench.alerts"
#define JS_DURABLE "bench-sub"
#define MQTT_TOPIC "bench/alerts"
#define MQTT_SUB_ID "bench-sub"
#define MQTT_PUB_ID "bench-pub"

#define NOTE_JETSTREAM "file store; acknowledges a publish before its periodic fsync " \
		       "(nats-server 2.9 has no sync_interval option)"
#define NOTE_MOSQUITTO "QoS 1; acknowledges from memory: persistence is a periodic " \
		       "snapshot (autosave_interval, 1800 s by default), never a sync per message"

/* ---------------------------------------------------------------- time */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- the run */

typedef struct {
	size_t n, size, window;
	/* subscriber: seen is written by the client library's one delivery
	 * thread of the subscription; the counters are read by main. */
	uint8_t *seen;
	_Atomic uint64_t distinct, redelivered, outside;
	_Atomic int64_t last_new_ns, last_any_ns;
	/* publisher: acks, under mu (signalled on each) */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	uint64_t acked, failed_acks;
	int64_t last_ack_ns;
	char ack_error[200];
	/* mosquitto setup steps, under mu */
	int sub_connack, pub_connack; /* -1 until CONNACK, then its code */
	bool suback, subscribed;
} run_t;

/* One delivered payload: counts it by the index it carries. */
static void record_delivery(run_t *r, const void *data, size_t len)
{
	const uint8_t *p = data;
	int64_t t = now_ns();
	uint64_t i = 0;

	atomic_store_explicit(&r->last_any_ns, t, memory_order_relaxed);
	if (len < INDEX_BYTES) {
		atomic_fetch_add(&r->outside, 1);
		return;
	}
	for (int k = 0; k < INDEX_BYTES; k++)
		i = i << 8 | p[k];
	if (i >= r->n) {
		atomic_fetch_add(&r->outside, 1);
	} else if (r->seen[i]) {
		atomic_fetch_add(&r->redelivered, 1);
	} else {
		r->seen[i] = 1;
		atomic_store_explicit(&r->last_new_ns, t, memory_order_relaxed);
		atomic_fetch_add(&r->distinct, 1);
	}
}

/* One publish acknowledged (ok) or refused. */
static void record_ack(run_t *r, bool ok, const char *error)
{
	pthread_mutex_lock(&r->mu);
	if (ok) {
		r->acked++;
		r->last_ack_ns = now_ns();
	} else if (r->failed_acks++ == 0) {
		snprintf(r->ack_error, sizeof(r->ack_error), "%s", error);
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

static void payload_set_index(uint8_t *payload, uint64_t i)
{
	for (int k = 0; k < INDEX_BYTES; k++)
		payload[k] = (uint8_t)(i >> (8 * (INDEX_BYTES - 1 - k)));
}

/* Waits until the subscriber has all n, or nothing has arrived for QUIET_S
 * (counting from `since` until the first message). */
static void wait_subscriber(run_t *r, int64_t since)
{
	while (atomic_load(&r->distinct) < r->n) {
		int64_t last = atomic_load_explicit(&r->last_any_ns, memory_order_relaxed);

		if (now_ns() - (last > since ? last : since) > QUIET_S * (int64_t)1000000000) {
			fprintf(stderr, "compare_brokers: nothing delivered for %d s; %" PRIu64
				" of %zu delivered\n",
				QUIET_S, atomic_load(&r->distinct), r->n);
			return;
		}
		sleep_ms(2);
	}
}

/* ---------------------------------------------------------------- the server */

typedef struct {
	char dir[4096];       /* the temporary folder, "" once removed */
	char log[4200];
	char program[4096];
	char version[64];     /* "nats-server 2.9.10" */
	int port;
	pid_t pid;
} server_t;

/* Finds prog on PATH or in /usr/sbin, /sbin (off an ordinary user's PATH). */
static bool find_program(const char *prog, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char buf[4096];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s:/usr/sbin:/sbin", path != NULL ? path : "/usr/bin:/bin");
	for (char *dir = strtok_r(buf, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, size, "%s/%s", dir, prog);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

/* A port free on 127.0.0.1 now: bound with port 0, read back, closed. The
 * server binds it a moment later. Returns 0 on failure. */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;

	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool accepts_connections(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* "NAME X.Y.Z" from the first dotted version number that `program arg`
 * prints (either stream). */
static void program_version(const char *program, const char *arg, const char *name, char *out,
			    size_t size)
{
	char buf[512] = {0};
	size_t have = 0;
	int fds[2];
	pid_t pid;

	snprintf(out, size, "%s (version unknown)", name);
	if (pipe2(fds, O_CLOEXEC) != 0)
		return;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execl(program, program, arg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (pid > 0 && have < sizeof(buf) - 1) {
		ssize_t got = read(fds[0], buf + have, sizeof(buf) - 1 - have);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
	}
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	for (const char *p = buf; *p != '\0'; p++) {
		unsigned a, b, c;

		if (*p >= '0' && *p <= '9' && (p == buf || p[-1] < '0' || p[-1] > '9') &&
		    sscanf(p, "%u.%u.%u", &a, &b, &c) == 3) {
			snprintf(out, size, "%s %u.%u.%u", name, a, b, c);
			return;
		}
	}
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Stops the server by its PID (SIGTERM, SIGKILL after STOP_S) and removes
 * its folder. */
static void server_stop(server_t *s)
{
	if (s->pid > 0) {
		int64_t t0 = now_ns();
		bool killed = false;

		kill(s->pid, SIGTERM);
		for (;;) {
			pid_t w = waitpid(s->pid, NULL, WNOHANG);

			if (w == s->pid || (w < 0 && errno != EINTR))
				break;
			if (!killed && now_ns() - t0 > STOP_S * (int64_t)1000000000) {
				fprintf(stderr, "compare_brokers: %s did not stop within %d s of "
						"SIGTERM: SIGKILL\n",
					s->version, STOP_S);
				kill(s->pid, SIGKILL);
				killed = true;
			}
			sleep_ms(5);
		}
		s->pid = -1;
	}
	if (s->dir[0] != '\0') {
		nftw(s->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
		s->dir[0] = '\0';
	}
}

/* Prints the end of the server's log to stderr (it did not start). */
static void server_log_tail(const server_t *s)
{
	char buf[2048];
	FILE *fp = fopen(s->log, "r");
	long size;
	size_t got;

	if (fp == NULL)
		return;
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	fseek(fp, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	got = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[got] = '\0';
	fclose(fp);
	fprintf(stderr, "--- %s\n%s--- end of %s\n", s->log, buf, s->log);
}

/* Runs argv (the server, with its output into s->log) as a child and waits
 * until s->port accepts connections. */
static int server_start(server_t *s, char *const argv[])
{
	int64_t t0 = now_ns();
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "compare_brokers: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* The server must not outlive this program. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd < 0 || null < 0)
			_exit(127);
		dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	s->pid = pid;
	while (!accepts_connections(s->port)) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			s->pid = -1;
			fprintf(stderr, "compare_brokers: %s exited during start (status %d)\n",
				s->version,
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			server_log_tail(s);
			return -1;
		}
		if (now_ns() - t0 > START_S * (int64_t)1000000000) {
			fprintf(stderr, "compare_brokers: %s did not accept connections on port %d "
					"within %d s\n",
				s->version, s->port, START_S);
			server_log_tail(s);
			return -1;
		}
		sleep_ms(10);
	}
	return 0;
}

/* The temporary folder, the server's version and a free port. */
static int server_prepare(server_t *s, const char *program, const char *version_arg)
{
	const char *tmp = getenv("TMPDIR");

	memset(s, 0, sizeof(*s));
	s->pid = -1;
	if (!find_program(program, s->program, sizeof(s->program))) {
		fprintf(stderr, "compare_brokers: %s is not installed\n", program);
		return -1;
	}
	program_version(s->program, version_arg, program, s->version, sizeof(s->version));
	snprintf(s->dir, sizeof(s->dir), "%s/blonet-compare-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(s->dir) == NULL) {
		fprintf(stderr, "compare_brokers: mkdtemp %s: %s\n", s->dir, strerror(errno));
		s->dir[0] = '\0';
		return -1;
	}
	snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
	s->port = free_port();
	if (s->port == 0) {
		fprintf(stderr, "compare_brokers: no free port on 127.0.0.1\n");
		return -1;
	}
	return 0;
}

/* Writes text into DIR/name; path receives the file's path. */
static int write_file(const char *dir, const char *name, const char *text, char *path, size_t size)
{
	FILE *fp;

	snprintf(path, size, "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (fp == NULL || fputs(text, fp) == EOF) {
		fprintf(stderr, "compare_brokers: %s: %s\n", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	return fclose(fp) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- JetStream */

static void js_on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)nc;
	(void)sub;
	record_delivery(closure, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
	natsMsg_Ack(msg, NULL);
	natsMsg_Destroy(msg);
}

static void js_on_pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	(void)js;
	record_ack(closure, pa != NULL && pae == NULL,
		   pae != NULL && pae->ErrText != NULL ? pae->ErrText : "publish refused");
	natsMsg_Destroy(msg);
}

static void nats_report(const char *what, natsStatus st)
{
	const char *text = nats_GetLastError(NULL);

	fprintf(stderr, "compare_brokers: %s: %s%s%s\n", what, natsStatus_GetText(st),
		text != NULL && text[0] != '\0' ? ": " : "", text != NULL ? text : "");
}

/* Publishes the n payloads and waits for their acks; *t0 is set at the
 * first send. Returns -1 if publishing failed (the run goes on to count
 * what was delivered). */
static int js_publish(run_t *r, jsCtx *js, int64_t *t0)
{
	uint8_t *payload = malloc(r->size);
	jsPubOptions po;
	int rc = -1;

	if (payload == NULL)
		return -1;
	memset(payload, 'x', r->size);
	*t0 = now_ns();
	for (size_t i = 0; i < r->n; i++) {
		int64_t stalled_since = now_ns();
		natsStatus st;

		payload_set_index(payload, i);
		/* With W outstanding the call waits up to StallWait and then
		 * times out without sending: try again until QUIET_S. */
		while ((st = js_PublishAsync(js, JS_SUBJECT, payload, (int)r->size, NULL)) ==
		       NATS_TIMEOUT) {
			if (now_ns() - stalled_since > QUIET_S * (int64_t)1000000000)
				break;
		}
		if (st != NATS_OK) {
			nats_report("js_PublishAsync", st);
			goto out;
		}
	}
	jsPubOptions_Init(&po);
	po.MaxWait = QUIET_S * 1000;
	if (js_PublishAsyncComplete(js, &po) != NATS_OK) {
		fprintf(stderr, "compare_brokers: publish acks still missing after %d s\n", QUIET_S);
		goto out;
	}
	rc = 0;
out:
	free(payload);
	return rc;
}

static int run_jetstream(run_t *r, server_t *s, int64_t *t0)
{
	char conf[8192], conf_path[4200], url[64];
	char *argv[] = {s->program, "-c", conf_path, NULL};
	natsConnection *sub_nc = NULL, *pub_nc = NULL;
	natsSubscription *sub = NULL;
	jsCtx *sub_js = NULL, *pub_js = NULL;
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	jsSubOptions so;
	jsOptions jo;
	jsErrCode jerr = 0;
	const char *subjects[] = {JS_SUBJECT};
	natsStatus st;
	int64_t deadline;
	int rc = EXIT_SETUP;

	snprintf(conf, sizeof(conf),
		 "listen: \"127.0.0.1:%d\"\n"
		 "jetstream {\n  store_dir: \"%s/jetstream\"\n}\n",
		 s->port, s->dir);
	if (write_file(s->dir, "nats.conf", conf, conf_path, sizeof(conf_path)) != 0 ||
	    server_start(s, argv) != 0)
		return EXIT_SETUP;
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", s->port);
	if ((st = natsConnection_ConnectTo(&sub_nc, url)) != NATS_OK ||
	    (st = natsConnection_ConnectTo(&pub_nc, url)) != NATS_OK) {
		nats_report(url, st);
		goto out;
	}
	if ((st = natsConnection_JetStream(&sub_js, sub_nc, NULL)) != NATS_OK) {
		nats_report("JetStream context", st);
		goto out;
	}
	jsStreamConfig_Init(&sc);
	sc.Name = JS_STREAM;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	/* JetStream may be a moment behind the client port. */
	deadline = now_ns() + START_S * (int64_t)1000000000;
	while ((st = js_AddStream(&si, sub_js, &sc, NULL, &jerr)) != NATS_OK && now_ns() < deadline)
		sleep_ms(50);
	jsStreamInfo_Destroy(si);
	if (st != NATS_OK) {
		nats_report("js_AddStream", st);
		goto out;
	}
	/* The durable subscriber first. */
	jsSubOptions_Init(&so);
	so.Stream = JS_STREAM;
	so.ManualAck = true;
	so.Config.Durable = JS_DURABLE;
	so.Config.DeliverPolicy = js_DeliverAll;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.MaxAckPending = (int64_t)r->window;
	if ((st = js_Subscribe(&sub, sub_js, JS_SUBJECT, js_on_message, r, NULL, &so, &jerr)) !=
	    NATS_OK) {
		nats_report("js_Subscribe", st);
		goto out;
	}
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = (int64_t)r->window;
	jo.PublishAsync.AckHandler = js_on_pub_ack;
	jo.PublishAsync.AckHandlerClosure = r;
	jo.PublishAsync.StallWait = 1000;
	if ((st = natsConnection_JetStream(&pub_js, pub_nc, &jo)) != NATS_OK) {
		nats_report("JetStream context", st);
		goto out;
	}
	js_publish(r, pub_js, t0);
	wait_subscriber(r, *t0);
	rc = atomic_load(&r->distinct) == r->n ? EXIT_ALL : EXIT_SHORT;
out:
	/* Destroying the subscription keeps the durable consumer (libnats
	 * >= 3.4); the server goes with it all anyway. */
	natsSubscription_Destroy(sub);
	jsCtx_Destroy(pub_js);
	jsCtx_Destroy(sub_js);
	natsConnection_Destroy(pub_nc);
	natsConnection_Destroy(sub_nc);
	return rc;
}

/* ---------------------------------------------------------------- Mosquitto */

static void mq_on_sub_connect(struct mosquitto *m, void *closure, int code)
{
	run_t *r = closure;

	(void)m;
	pthread_mutex_lock(&r->mu);
	r->sub_connack = code;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

static void mq_on_pub_connect(struct mosquitto *m, void *closure, int code)
{
	run_t *r = closure;

	(void)m;
	pthread_mutex_lock(&r->mu);
	r->pub_connack = code;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

static void mq_on_subscribe(struct mosquitto *m, void *closure, int mid, int n_qos,
			    const int *granted)
{
	run_t *r = closure;

	(void)m;
	(void)mid;
	pthread_mutex_lock(&r->mu);
	r->suback = true;
	r->subscribed = n_qos == 1 && granted[0] == 1;
	if (!r->subscribed)
		fprintf(stderr, "compare_brokers: subscription refused (granted QoS %d)\n",
			n_qos > 0 ? granted[0] : -1);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

static void mq_on_message(struct mosquitto *m, void *closure, const struct mosquitto_message *msg)
{
	(void)m;
	/* libmosquitto sends the PUBACK for a QoS 1 message itself. */
	record_delivery(closure, msg->payload, (size_t)msg->payloadlen);
}

static void mq_on_publish(struct mosquitto *m, void *closure, int mid)
{
	(void)m;
	(void)mid;
	record_ack(closure, true, NULL);
}

/* Waits under r->mu until *flag leaves -1 or timeout_s passes. */
static int mq_wait_connack(run_t *r, const int *flag, int timeout_s)
{
	struct timespec until;
	int code;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_s;
	pthread_mutex_lock(&r->mu);
	while (*flag == -1 && pthread_cond_timedwait(&r->cond, &r->mu, &until) == 0)
		;
	code = *flag;
	pthread_mutex_unlock(&r->mu);
	return code;
}

/* A client on 127.0.0.1:port with its network loop on its own thread. */
static struct mosquitto *mq_client(run_t *r, const char *id, bool clean_session, int port,
				   void (*on_connect)(struct mosquitto *, void *, int))
{
	struct mosquitto *m = mosquitto_new(id, clean_session, r);
	int rc;

	if (m == NULL) {
		fprintf(stderr, "compare_brokers: mosquitto_new: %s\n", strerror(errno));
		return NULL;
	}
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, (int)r->window);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, mq_on_subscribe);
	mosquitto_message_callback_set(m, mq_on_message);
	mosquitto_publish_callback_set(m, mq_on_publish);
	if ((rc = mosquitto_connect(m, "127.0.0.1", port, 60)) != MOSQ_ERR_SUCCESS ||
	    (rc = mosquitto_loop_start(m)) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "compare_brokers: %s: connect to 127.0.0.1:%d: %s\n", id, port,
			mosquitto_strerror(rc));
		mosquitto_destroy(m);
		return NULL;
	}
	return m;
}

static void mq_close(struct mosquitto **m)
{
	if (*m == NULL)
		return;
	mosquitto_disconnect(*m);
	mosquitto_loop_stop(*m, false);
	mosquitto_destroy(*m);
	*m = NULL;
}

/* Publishes the n payloads keeping at most W unacknowledged, then waits for
 * the last acks; *t0 is set at the first send. */
static int mq_publish(run_t *r, struct mosquitto *m, int64_t *t0)
{
	uint8_t *payload = malloc(r->size);
	int rc = -1;

	if (payload == NULL)
		return -1;
	memset(payload, 'x', r->size);
	*t0 = now_ns();
	for (size_t i = 0; i <= r->n; i++) {
		/* Room in the window for publish i (i == n: all acked). */
		uint64_t room = i < r->n ? r->window - 1 : 0;
		int64_t waiting_since = now_ns();
		uint64_t last_acked;
		int err;

		pthread_mutex_lock(&r->mu);
		last_acked = r->acked;
		while (i - r->acked > room && r->failed_acks == 0) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&r->cond, &r->mu, &until);
			if (r->acked != last_acked) {
				last_acked = r->acked;
				waiting_since = now_ns();
			} else if (now_ns() - waiting_since > QUIET_S * (int64_t)1000000000) {
				break;
			}
		}
		if (i - r->acked > room) {
			pthread_mutex_unlock(&r->mu);
			fprintf(stderr, "compare_brokers: no PUBACK for %d s (%" PRIu64
					" of %zu acknowledged)\n",
				QUIET_S, r->acked, i);
			goto out;
		}
		pthread_mutex_unlock(&r->mu);
		if (i == r->n)
			break;
		payload_set_index(payload, i);
		err = mosquitto_publish(m, NULL, MQTT_TOPIC, (int)r->size, payload, 1, false);
		if (err != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "compare_brokers: mosquitto_publish: %s\n",
				mosquitto_strerror(err));
			goto out;
		}
	}
	rc = 0;
out:
	free(payload);
	return rc;
}

static int run_mosquitto(run_t *r, server_t *s, int64_t *t0)
{
	char conf[8192], conf_path[4200];
	char *argv[] = {s->program, "-c", conf_path, NULL};
	struct passwd *pw = getpwuid(geteuid());
	struct mosquitto *sub = NULL, *pub = NULL;
	int rc = EXIT_SETUP, err;

	/* Run as root, mosquitto would drop to its own user, which cannot
	 * write into this program's 0700 temporary folder: stay the user
	 * we are (the setting does nothing for anyone else). */
	snprintf(conf, sizeof(conf),
		 "listener %d 127.0.0.1\n"
		 "allow_anonymous true\n"
		 "persistence true\n"
		 "persistence_location %s/\n"
		 "max_inflight_messages %zu\n"
		 "max_queued_messages 0\n"
		 "set_tcp_nodelay true\n"
		 "log_dest stderr\n"
		 "%s%s\n",
		 s->port, s->dir, r->window, pw != NULL ? "user " : "#",
		 pw != NULL ? pw->pw_name : "");
	if (write_file(s->dir, "mosquitto.conf", conf, conf_path, sizeof(conf_path)) != 0 ||
	    server_start(s, argv) != 0)
		return EXIT_SETUP;
	r->sub_connack = r->pub_connack = -1;
	/* The durable subscriber first. */
	sub = mq_client(r, MQTT_SUB_ID, false, s->port, mq_on_sub_connect);
	if (sub == NULL)
		goto out;
	if ((err = mq_wait_connack(r, &r->sub_connack, START_S)) != 0) {
		fprintf(stderr, "compare_brokers: subscriber: CONNACK %d\n", err);
		goto out;
	}
	if ((err = mosquitto_subscribe(sub, NULL, MQTT_TOPIC, 1)) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "compare_brokers: mosquitto_subscribe: %s\n", mosquitto_strerror(err));
		goto out;
	}
	{
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += START_S;
		pthread_mutex_lock(&r->mu);
		while (!r->suback && pthread_cond_timedwait(&r->cond, &r->mu, &until) == 0)
			;
		err = r->suback;
		pthread_mutex_unlock(&r->mu);
		if (!err)
			fprintf(stderr, "compare_brokers: no SUBACK within %d s\n", START_S);
		if (!r->subscribed)
			goto out;
	}
	pub = mq_client(r, MQTT_PUB_ID, true, s->port, mq_on_pub_connect);
	if (pub == NULL)
		goto out;
	if ((err = mq_wait_connack(r, &r->pub_connack, START_S)) != 0) {
		fprintf(stderr, "compare_brokers: publisher: CONNACK %d\n", err);
		goto out;
	}
	mq_publish(r, pub, t0);
	wait_subscriber(r, *t0);
	rc = atomic_load(&r->distinct) == r->n ? EXIT_ALL : EXIT_SHORT;
out:
	mq_close(&pub);
	mq_close(&sub);
	return rc;
}

/* ---------------------------------------------------------------- main */

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s --system jetstream|mosquitto --count N --size BYTES --window W\n",
		argv0);
	return EXIT_SETUP;
}

/* A positive integer argument. */
static bool parse_size(const char *text, size_t min, size_t max, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max)
		return false;
	*out = (size_t)v;
	return true;
}

static double round_to(double v, double unit)
{
	return (double)(int64_t)(v / unit + 0.5) * unit;
}

static void print_result(const char *system, const run_t *r, const server_t *s, int64_t t0)
{
	uint64_t delivered = atomic_load(&r->distinct);
	int64_t last_new = atomic_load(&r->last_new_ns);
	double seconds = delivered > 0 && last_new > t0 ? (double)(last_new - t0) / 1e9 : 0;
	double acked_s = r->acked > 0 && r->last_ack_ns > t0 ? (double)(r->last_ack_ns - t0) / 1e9 : 0;
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "system", system);
	cJSON_AddNumberToObject(o, "count", (double)r->n);
	cJSON_AddNumberToObject(o, "delivered", (double)delivered);
	cJSON_AddNumberToObject(o, "seconds", round_to(seconds, 0.001));
	cJSON_AddNumberToObject(o, "per_s", seconds > 0 ? round_to((double)delivered / seconds, 0.1) : 0);
	cJSON_AddNumberToObject(o, "publisher_acked_per_s",
				acked_s > 0 ? round_to((double)r->acked / acked_s, 0.1) : 0);
	cJSON_AddStringToObject(o, "server", s->version);
	cJSON_AddStringToObject(o, "note", strcmp(system, "jetstream") == 0 ? NOTE_JETSTREAM
									  : NOTE_MOSQUITTO);
	text = cJSON_PrintUnformatted(o);
	if (text != NULL)
		printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(o);
	if (r->failed_acks > 0)
		fprintf(stderr, "compare_brokers: %" PRIu64 " publishes refused: %s\n", r->failed_acks,
			r->ack_error);
	if (atomic_load(&r->redelivered) > 0 || atomic_load(&r->outside) > 0)
		fprintf(stderr, "compare_brokers: %" PRIu64 " redelivered, %" PRIu64
				" not of this run\n",
			(uint64_t)atomic_load(&r->redelivered), (uint64_t)atomic_load(&r->outside));
}

int main(int argc, char **argv)
{
	const char *system = NULL;
	size_t n = 0, size = 0, window = 0;
	server_t s = {.pid = -1};
	run_t r = {0};
	int64_t t0 = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (value == NULL)
			return usage(argv[0]);
		if (strcmp(argv[i], "--system") == 0 &&
		    (strcmp(value, "jetstream") == 0 || strcmp(value, "mosquitto") == 0))
			system = value;
		else if (strcmp(argv[i], "--count") == 0 && parse_size(value, 1, 100000000, &n))
			;
		else if (strcmp(argv[i], "--size") == 0 && parse_size(value, INDEX_BYTES, 1 << 20, &size))
			;
		else if (strcmp(argv[i], "--window") == 0 && parse_size(value, 1, 65535, &window))
			;
		else
			return usage(argv[0]);
		i++;
	}
	if (system == NULL || n == 0 || size == 0 || window == 0)
		return usage(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	r.n = n;
	r.size = size;
	r.window = window;
	r.seen = calloc(n, 1);
	if (r.seen == NULL) {
		fprintf(stderr, "compare_brokers: out of memory\n");
		return EXIT_SETUP;
	}
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cond, NULL);
	if (strcmp(system, "jetstream") == 0) {
		rc = server_prepare(&s, "nats-server", "--version") == 0 ? run_jetstream(&r, &s, &t0)
									 : EXIT_SETUP;
		/* Library threads and memory: after every object is destroyed. */
		nats_CloseAndWait(STOP_S * 1000);
	} else {
		mosquitto_lib_init();
		rc = server_prepare(&s, "mosquitto", "-h") == 0 ? run_mosquitto(&r, &s, &t0)
								: EXIT_SETUP;
		mosquitto_lib_cleanup();
	}
	server_stop(&s);
	if (rc != EXIT_SETUP)
		print_result(system, &r, &s, t0);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.mu);
	free(r.seen);
	return rc;
}

/*
 * auth_flood: the authentication-abuse helper of tests/fault/fault_auth.sh.
 * Prints one JSON line of what it did and what came back.
 *
 *   auth_flood refuse -c CONFIG -n N [--batch B]
 *       N DEALER connections, in turn with an unknown CURVE key, no security
 *       (NULL), PLAIN with CONFIG's id, and CONFIG's own key but a wrong
 *       server key. Each sends a Hello, a Subscribe and a Publish of a
 *       properly signed alert once its connection is up (libzmq queues them
 *       until a handshake succeeds). Counts, per mode, the handshakes libzmq
 *       reports as succeeded or failed and every message received (must be
 *       none). No reconnection: one handshake per connection.
 *   auth_flood hello -c CONFIG -n N --seconds S [--hold-ms H] [--concurrency C]
 *       N well-formed CURVE HELLO commands (RFC 26), each on a new TCP
 *       connection from a fresh short-term key, spread evenly over S
 *       seconds; each connection reads the server's WELCOME and is then
 *       held open H ms (never sending INITIATE) before it is closed, with at
 *       most C open at once.
 */
#include "test_client.h"

#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>

#ifndef ZMQ_EVENT_HANDSHAKE_SUCCEEDED
#define ZMQ_EVENT_HANDSHAKE_SUCCEEDED 0x1000
#endif


/* ---------------------------------------------------------------- refuse */

enum mode { M_UNKNOWN, M_NULL, M_PLAIN, M_WRONGKEY, M_COUNT };
static const char *const mode_name[M_COUNT] = {"unknown_key", "null", "plain", "wrong_server_key"};

typedef struct {
	uint64_t connections, succeeded, failed_auth, failed_protocol, failed_other, undecided,
		received;
} tally_t;

/* The three frames every abuser sends: Hello, Subscribe, Publish. */
static int make_frames(tc_setup_t *st, uint8_t *out[3], size_t len[3])
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Hello h = BLONET__HELLO__INIT;
	Blonet__Subscribe sub = BLONET__SUBSCRIBE__INIT;
	Blonet__Publish p = BLONET__PUBLISH__INIT;
	tc_alert_t t;
	const blo_principal_t *me = blo_registry_find(st->registry, st->s.id);
	uint8_t *env = NULL;
	size_t elen = 0;
	int rc;

	if (me == NULL)
		return 2;
	h.protocol = 1;
	h.software = "auth_flood";
	f.body_case = BLONET__FRAME__BODY_HELLO;
	f.hello = &h;
	f.correlation = 1;
	if (blo_message_serialize(&f.base, BLO_FRAME_MAX_BYTES, &out[0], &len[0], NULL) != 0)
		return 2;
	sub.durable = "abuser";
	sub.start = BLONET__START_AT__START_EARLIEST;
	f.body_case = BLONET__FRAME__BODY_SUBSCRIBE;
	f.subscribe = &sub;
	f.correlation = 2;
	if (blo_message_serialize(&f.base, BLO_FRAME_MAX_BYTES, &out[1], &len[1], NULL) != 0)
		return 2;
	tc_alert_init(&t, me->id, me->country, me->agency, BLONET__TLP__TLP_GREEN, NULL,
		      "auth_flood: an unauthenticated publish that must never be stored");
	rc = tc_seal(&t.a, st->identity, NULL, &env, &elen, NULL);
	if (rc == 0) {
		p.envelope.data = env;
		p.envelope.len = elen;
		f.body_case = BLONET__FRAME__BODY_PUBLISH;
		f.publish = &p;
		f.correlation = 3;
		rc = blo_message_serialize(&f.base, BLO_FRAME_MAX_BYTES, &out[2], &len[2], NULL);
	}
	free(env);
	return rc == 0 ? 0 : 2;
}

/* Reads the monitor's events; returns the first decisive one or 0. */
static int read_event(void *mon)
{
	int decisive = 0;

	for (;;) {
		zmq_msg_t m;
		uint16_t ev = 0;
		int more = 0;
		size_t ml = sizeof(more);

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return decisive;
		}
		if (zmq_msg_size(&m) >= 2)
			memcpy(&ev, zmq_msg_data(&m), 2);
		zmq_getsockopt(mon, ZMQ_RCVMORE, &more, &ml);
		zmq_msg_close(&m);
		if (more) {
			zmq_msg_init(&m);
			zmq_msg_recv(&m, mon, 0);
			zmq_msg_close(&m);
		}
		if (decisive == 0 &&
		    (ev & (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
			   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
			   ZMQ_EVENT_DISCONNECTED)))
			decisive = ev;
	}
}

static int cmd_refuse(tc_setup_t *st, long n, long batch, int wait_ms)
{
	void *ctx = zmq_ctx_new();
	tally_t t[M_COUNT] = {0};
	uint8_t *frames[3] = {0};
	size_t flen[3] = {0};
	uint64_t total_received = 0, total_succeeded = 0;
	double t0 = tc_now_s();

	if (make_frames(st, frames, flen) != 0) {
		fprintf(stderr, "auth_flood: cannot build frames\n");
		return 2;
	}
	if (batch > 200)
		batch = 200;
	zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4096);
	for (long done = 0; done < n; done += batch) {
		long b = n - done < batch ? n - done : batch;
		void *socks[200], *mons[200];
		int decided[200] = {0};
		enum mode modes[200];

		for (long k = 0; k < b; k++) {
			enum mode m = (enum mode)((done + k) % M_COUNT);
			void *s = tc_dealer(ctx);
			int ivl = 600000;
			char ep[64];
			blo_err_t err = {0};

			modes[k] = m;
			zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
			if (m == M_UNKNOWN) {
				blo_curve_client_setup(s, st->identity, st->broker->curve_public,
						       BLO_FRAME_MAX_BYTES, &err);
				tc_random_curve_key(s);
			} else if (m == M_PLAIN) {
				zmq_setsockopt(s, ZMQ_PLAIN_USERNAME, st->s.id, strlen(st->s.id));
				zmq_setsockopt(s, ZMQ_PLAIN_PASSWORD, "x", 1);
			} else if (m == M_WRONGKEY) {
				uint8_t wrong[32], sec[32];

				crypto_box_keypair(wrong, sec);
				blo_curve_client_setup(s, st->identity, wrong, BLO_FRAME_MAX_BYTES, &err);
			}
			/* Never reuse a name: one still bound by a closing
			 * monitor would take our reader, and the new monitor's
			 * first event would block libzmq's I/O thread. */
			snprintf(ep, sizeof(ep), "inproc://af-mon-%ld", done + k);
			mons[k] = tc_monitor(ctx, s, ep, ZMQ_EVENT_ALL);
			zmq_connect(s, st->s.broker.endpoint);
			/* Queued until a handshake succeeds: never, we expect. */
			for (int f = 0; f < 3; f++)
				zmq_send(s, frames[f], flen[f], ZMQ_DONTWAIT);
			socks[k] = s;
			t[m].connections++;
		}
		/* Wait until each has a verdict, then a little longer for any
		 * message that might still arrive. */
		for (double end = tc_now_s() + wait_ms / 1000.0, quiet_until = 0; tc_now_s() < end;) {
			zmq_pollitem_t items[400];
			long open = 0;

			for (long k = 0; k < b; k++) {
				items[2 * k] = (zmq_pollitem_t){.socket = mons[k], .events = ZMQ_POLLIN};
				items[2 * k + 1] = (zmq_pollitem_t){.socket = socks[k], .events = ZMQ_POLLIN};
				open += !decided[k];
			}
			if (open == 0 && quiet_until == 0)
				quiet_until = tc_now_s() + 0.3;
			if (quiet_until != 0 && tc_now_s() >= quiet_until)
				break;
			zmq_poll(items, (int)(2 * b), 50);
			for (long k = 0; k < b; k++) {
				if (items[2 * k].revents & ZMQ_POLLIN) {
					int ev = read_event(mons[k]);

					if (ev != 0 && !decided[k]) {
						tally_t *tt = &t[modes[k]];

						decided[k] = 1;
						if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
							tt->succeeded++;
							total_succeeded++;
						} else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
							tt->failed_auth++;
						} else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
							tt->failed_protocol++;
						} else {
							tt->failed_other++;
						}
					}
				}
				if (items[2 * k + 1].revents & ZMQ_POLLIN) {
					zmq_msg_t m;

					zmq_msg_init(&m);
					while (zmq_msg_recv(&m, socks[k], ZMQ_DONTWAIT) >= 0) {
						t[modes[k]].received++;
						total_received++;
					}
					zmq_msg_close(&m);
				}
			}
		}
		for (long k = 0; k < b; k++) {
			if (!decided[k])
				t[modes[k]].undecided++;
			zmq_socket_monitor(socks[k], NULL, 0);
			zmq_close(socks[k]);
			zmq_close(mons[k]);
		}
	}
	zmq_ctx_term(ctx);
	printf("{\"flood\":\"refuse\",\"connections\":%ld,\"seconds\":%.3f,\"modes\":{", n, tc_now_s() - t0);
	for (int m = 0; m < M_COUNT; m++)
		printf("%s\"%s\":{\"connections\":%llu,\"handshake_succeeded\":%llu,\"failed_auth\":%llu,"
		       "\"failed_protocol\":%llu,\"failed_other\":%llu,\"no_verdict\":%llu,\"received\":%llu}",
		       m ? "," : "", mode_name[m], (unsigned long long)t[m].connections,
		       (unsigned long long)t[m].succeeded, (unsigned long long)t[m].failed_auth,
		       (unsigned long long)t[m].failed_protocol, (unsigned long long)t[m].failed_other,
		       (unsigned long long)t[m].undecided, (unsigned long long)t[m].received);
	printf("},\"handshakes_succeeded\":%llu,\"messages_received\":%llu}\n",
	       (unsigned long long)total_succeeded, (unsigned long long)total_received);
	for (int f = 0; f < 3; f++)
		free(frames[f]);
	return total_succeeded == 0 && total_received == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- hello */


typedef struct {
	int fd;
	double opened, welcomed;
	size_t got;
	uint8_t buf[512];
	bool closed_by_server;
} conn_t;

static int cmd_hello(tc_setup_t *st, long n, double seconds, int hold_ms, int concurrency)
{
	struct sockaddr_in sa;
	conn_t *c = calloc((size_t)concurrency, sizeof(*c));
	uint64_t sent = 0, welcomes = 0, connect_failed = 0, closed_by_server = 0,
		 closed_before_welcome = 0, capped = 0, max_open = 0;
	double t0 = tc_now_s(), t_last = t0, welcome_ms_sum = 0, welcome_ms_max = 0;
	long started = 0;
	size_t open = 0;

	if (c == NULL || tc_parse_endpoint(st->s.broker.endpoint, &sa) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < concurrency; i++)
		c[i].fd = -1;
	while (started < n || open > 0) {
		double now = tc_now_s();
		struct pollfd p[4096];
		int idx[4096], np = 0;

		/* Start those due by now (an even spread over the seconds). */
		while (started < n && now >= t0 + seconds * (double)started / (double)n) {
			int slot = -1;
			uint8_t out[266];
			int fd;

			for (int i = 0; i < concurrency; i++)
				if (c[i].fd < 0) {
					slot = i;
					break;
				}
			if (slot < 0) {
				capped++;
				break; /* at the cap: wait for one to close */
			}
			started++;
			fd = tc_tcp_connect(&sa);
			if (fd < 0) {
				connect_failed++;
				continue;
			}
			/* The client's greeting and a HELLO: 64 + 202 bytes. */
			tc_greeting(out);
			tc_curve_hello(out + 64, st->broker->curve_public);
			if (write(fd, out, sizeof(out)) != (ssize_t)sizeof(out)) {
				close(fd);
				connect_failed++;
				continue;
			}
			sent++;
			t_last = tc_now_s();
			memset(&c[slot], 0, sizeof(c[slot]));
			c[slot].fd = fd;
			c[slot].opened = tc_now_s();
			open++;
			if (open > max_open)
				max_open = open;
		}
		for (int i = 0; i < concurrency; i++) {
			if (c[i].fd < 0)
				continue;
			if (c[i].welcomed > 0 && now - c[i].welcomed >= hold_ms / 1000.0) {
				close(c[i].fd);
				c[i].fd = -1;
				open--;
				continue;
			}
			if (now - c[i].opened > 10.0) { /* no WELCOME in 10 s */
				close(c[i].fd);
				c[i].fd = -1;
				open--;
				continue;
			}
			p[np] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
			idx[np++] = i;
		}
		if (poll(p, (nfds_t)np, 5) <= 0)
			continue;
		for (int k = 0; k < np; k++) {
			conn_t *cc = &c[idx[k]];
			ssize_t got;

			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(cc->fd, cc->buf + cc->got, sizeof(cc->buf) - cc->got);
			if (got <= 0) {
				if (cc->welcomed > 0)
					closed_by_server++;
				else
					closed_before_welcome++;
				close(cc->fd);
				cc->fd = -1;
				open--;
				continue;
			}
			cc->got += (size_t)got;
			if (cc->got == sizeof(cc->buf))
				cc->got = 0;
			/* The server's greeting (64) and its WELCOME command. */
			if (cc->welcomed == 0 && cc->got >= 64 + 10 &&
			    memcmp(cc->buf + 64 + 2, "\x07WELCOME", 8) == 0) {
				double ms = (tc_now_s() - cc->opened) * 1000;

				cc->welcomed = tc_now_s();
				welcomes++;
				welcome_ms_sum += ms;
				if (ms > welcome_ms_max)
					welcome_ms_max = ms;
			}
		}
	}
	printf("{\"flood\":\"hello\",\"hellos\":%llu,\"seconds\":%.3f,\"rate_per_s\":%.0f,\"welcomes\":%llu,"
	       "\"welcome_ms_avg\":%.1f,\"welcome_ms_max\":%.1f,\"connect_failed\":%llu,"
	       "\"closed_by_server_while_held\":%llu,\"closed_before_welcome\":%llu,\"max_open\":%llu,"
	       "\"cap_waits\":%llu,\"hold_ms\":%d}\n",
	       (unsigned long long)sent, tc_now_s() - t0, t_last > t0 ? (double)sent / (t_last - t0) : 0.0,
	       (unsigned long long)welcomes, welcomes ? welcome_ms_sum / (double)welcomes : 0.0,
	       welcome_ms_max, (unsigned long long)connect_failed,
	       (unsigned long long)closed_by_server, (unsigned long long)closed_before_welcome,
	       (unsigned long long)max_open, (unsigned long long)capped, hold_ms);
	free(c);
	return sent == (uint64_t)n && welcomes == sent ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},      {"batch", required_argument, NULL, 'b'},
		{"seconds", required_argument, NULL, 's'},     {"hold-ms", required_argument, NULL, 'H'},
		{"concurrency", required_argument, NULL, 'C'}, {"wait", required_argument, NULL, 'w'},
		{0},
	};
	const char *config = NULL, *cmd;
	long n = 100, batch = 100;
	double seconds = 60;
	int hold_ms = 1000, concurrency = 1000, wait_ms = 3000, opt, rc;
	tc_setup_t st = {0};

	while ((opt = getopt_long(argc, argv, "c:n:b:s:H:C:w:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'n': n = atol(optarg); break;
		case 'b': batch = atol(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'H': hold_ms = atoi(optarg); break;
		case 'C': concurrency = atoi(optarg); break;
		case 'w': wait_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (config == NULL || optind != argc - 1 || concurrency < 1 || concurrency > 4000 ||
	    batch < 1) {
		fprintf(stderr, "usage: auth_flood refuse|hello -c CONFIG ...\n");
		return 2;
	}
	cmd = argv[optind];
	if (sodium_init() < 0)
		return 2;
	if ((rc = tc_load(&st, "auth_flood", config, NULL)) != 0)
		return rc;
	if (strcmp(cmd, "refuse") == 0)
		rc = cmd_refuse(&st, n, batch, wait_ms);
	else if (strcmp(cmd, "hello") == 0)
		rc = cmd_hello(&st, n, seconds, hold_ms, concurrency);
	else
		rc = 2;
	tc_unload(&st);
	return rc;
}

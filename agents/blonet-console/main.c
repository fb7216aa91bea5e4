/*
 * blonet-console: the BLO alert console. An officer keeps it open all day:
 * full screen (ncurses, when built with ncursesw), a plain line mode, or
 * --json (one JSON line per event) for scripts and tests. The model, the
 * store, the commands and every text shown live in lib/blo_console*.
 */
#include "blonet.h"
#include "blo_console.h"
#include "blo_console_cmd.h"
#include "blo_console_text.h"
#include "blo_console_view.h"
#include "tui.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A year: an officer can look back over the last one; older conversations
 * are in the committee's aggregates and the agencies' own records. */
#define DEFAULT_KEEP_DAYS 365

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: blonet-console -c CONFIG [--json | --line] [options]\n"
		"  The alert console of a BLO: subscribes durably as the console principal\n"
		"  of CONFIG, keeps every message in its own store (DATA_DIR/console) and\n"
		"  lets the officer read, filter, acknowledge, answer RFIs and send RFIs\n"
		"  and bulletins to a counterpart BLO.\n"
		"  (default)          full screen when on a terminal, else --line\n"
		"  --line             one text line per event; commands on standard input\n"
		"  --json             one JSON line per event; commands (text or JSON) on\n"
		"                     standard input (type help)\n"
		"  --list             print the stored messages, newest first, and exit\n"
		"                     (with --unread, --category C, --severity S, --crossing SITE)\n"
		"  --offline          read the store only, never connect\n"
		"  --durable NAME     durable subscription name (default console)\n"
		"  --counterpart SITE default BLO for RFIs and bulletins\n"
		"  --exercise         RFIs and bulletins are sent with status EXERCISE\n"
		"  --count N          (line, json) exit after N received messages\n"
		"  --timeout S        (line, json) exit after S seconds without a message\n"
		"  --width N          cells for list rows and details in line mode (120)\n"
		"  --keep-days N      keep a conversation (a message with its replies) for N\n"
		"                     days after its newest message arrived, then prune it\n"
		"                     (at start and hourly; default %d; 0: keep everything)\n"
		"  --store-mb N       the store's size limit in MB (default %d)\n"
		"A restarted --line or --json console first prints what it stored but had\n"
		"not printed, then goes on: nothing is printed twice, nothing is missed.\n"
		"Pruned messages are gone from the store, but their ids are remembered for\n"
		"%d days after they arrived (longer than brokers keep them), so a late\n"
		"redelivery is never shown again. A store at its size limit stores nothing\n"
		"more and says so; the broker keeps what was not stored and delivers it\n"
		"once there is room (after pruning, or with a higher --store-mb).\n"
		"Full screen: %s.\n",
		DEFAULT_KEEP_DAYS, BLO_CONSOLE_STORE_DEFAULT_MB, BLO_CONSOLE_REMEMBER_DAYS,
		tui_available() ? "built in" : "not built in (needs ncursesw at build time)");
}

typedef struct {
	bool json;
	const char *cursor;  /* "json" or "line" */
	uint64_t emitted;    /* highest local sequence printed */
	uint64_t received;   /* messages printed as received */
	int64_t last_activity;
} stream_t;

static void print_line(char *s)
{
	if (s == NULL)
		return;
	fputs(s, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	free(s);
}

static void stream_event(blo_console_t *c, const blo_console_event_t *ev, void *arg)
{
	stream_t *st = arg;
	const blo_console_item_t *it = blo_console_item(c, ev->item);

	if (ev->kind == BLO_CONSOLE_EV_RECEIVED || ev->kind == BLO_CONSOLE_EV_SENT) {
		if (it == NULL || it->local_seq <= st->emitted)
			return;
		st->emitted = it->local_seq;
		if (ev->kind == BLO_CONSOLE_EV_RECEIVED) {
			st->received++;
			st->last_activity = blo_mono_ms();
		}
	}
	print_line(blo_console_view_event(c, ev, st->json));
}

/* Prints what the store holds beyond the cursor: what a previous run
 * stored but could not print. */
static void replay(blo_console_t *c, stream_t *st)
{
	for (size_t i = 0; i < blo_console_count(c); i++) {
		const blo_console_item_t *it = blo_console_item(c, i);
		blo_console_event_t ev = {.item = i};

		if (it->local_seq <= st->emitted)
			continue;
		ev.kind = (it->flags & BLO_CONSOLE_MINE) ? BLO_CONSOLE_EV_SENT : BLO_CONSOLE_EV_RECEIVED;
		stream_event(c, &ev, st);
	}
}

/* Reads what standard input has and runs each complete line. */
static bool read_commands(blo_console_t *c, stream_t *st, char **buf, size_t *len, int width,
			  bool *quit)
{
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
	char chunk[4096];
	ssize_t got;

	if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLIN | POLLHUP)))
		return true;
	got = read(STDIN_FILENO, chunk, sizeof(chunk));
	if (got <= 0)
		return got < 0 && errno == EINTR; /* end of input: stop reading it */
	{
		char *grown = realloc(*buf, *len + (size_t)got + 1);

		if (grown == NULL)
			return false;
		*buf = grown;
	}
	memcpy(*buf + *len, chunk, (size_t)got);
	*len += (size_t)got;
	(*buf)[*len] = '\0';
	for (;;) {
		char *nl = memchr(*buf, '\n', *len);
		size_t used;

		if (nl == NULL)
			break;
		*nl = '\0';
		if (nl > *buf && nl[-1] == '\r')
			nl[-1] = '\0';
		if ((*buf)[0] != '\0')
			print_line(blo_console_cmd_run(c, *buf, st->json, width, quit));
		used = (size_t)(nl - *buf) + 1;
		memmove(*buf, nl + 1, *len - used + 1);
		*len -= used;
		if (*quit)
			break;
	}
	return true;
}

/* Prints err on standard error, but the same error (a full store, refusing
 * every delivery) at most once a minute. */
static void report_error(const blo_err_t *err)
{
	static char last[sizeof(err->msg)];
	static int64_t last_ms;
	int64_t now = blo_mono_ms();

	if (strcmp(last, err->msg) == 0 && now - last_ms < 60000)
		return;
	snprintf(last, sizeof(last), "%s", err->msg);
	last_ms = now;
	fprintf(stderr, "blonet-console: %s\n", err->msg);
}

static int run_stream(blo_console_t *c, bool json, uint64_t count, int timeout_s, int width)
{
	stream_t st = {.json = json, .cursor = json ? "json" : "line"};
	char *buf = NULL;
	size_t len = 0;
	bool stdin_open = true, quit = false;
	blo_err_t err = {0};
	int rc = 0;
	uint64_t saved;

	blo_console_cursor_get(c, st.cursor, &st.emitted);
	saved = st.emitted;
	st.last_activity = blo_mono_ms();
	blo_console_set_listener(c, stream_event, &st);
	replay(c, &st);
	while (!stop_requested && !quit) {
		if (count > 0 && st.received >= count)
			break;
		if (timeout_s >= 0 && blo_mono_ms() - st.last_activity > (int64_t)timeout_s * 1000)
			break;
		if ((rc = blo_console_poll(c, 100, &err)) != 0) {
			report_error(&err);
			if (rc == BLO_EPERM)
				break;
			rc = 0;
		}
		if (st.emitted != saved &&
		    blo_console_cursor_set(c, st.cursor, st.emitted, &err) == 0)
			saved = st.emitted;
		if (stdin_open)
			stdin_open = read_commands(c, &st, &buf, &len, width, &quit);
	}
	/* Wait a moment for the broker's answers to what was just sent. */
	for (int i = 0; i < 10 && quit; i++)
		blo_console_poll(c, 50, NULL);
	if (st.emitted != saved)
		blo_console_cursor_set(c, st.cursor, st.emitted, NULL);
	blo_console_set_listener(c, NULL, NULL);
	free(buf);
	return rc == BLO_EPERM ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_LINE, OPT_LIST, OPT_OFFLINE, OPT_DURABLE, OPT_COUNTERPART,
	       OPT_EXERCISE, OPT_COUNT, OPT_TIMEOUT, OPT_WIDTH, OPT_UNREAD, OPT_CATEGORY,
	       OPT_SEVERITY, OPT_CROSSING, OPT_KEEP_DAYS, OPT_STORE_MB };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, OPT_JSON},
		{"line", no_argument, NULL, OPT_LINE},
		{"list", no_argument, NULL, OPT_LIST},
		{"offline", no_argument, NULL, OPT_OFFLINE},
		{"durable", required_argument, NULL, OPT_DURABLE},
		{"counterpart", required_argument, NULL, OPT_COUNTERPART},
		{"exercise", no_argument, NULL, OPT_EXERCISE},
		{"count", required_argument, NULL, OPT_COUNT},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"width", required_argument, NULL, OPT_WIDTH},
		{"unread", no_argument, NULL, OPT_UNREAD},
		{"category", required_argument, NULL, OPT_CATEGORY},
		{"severity", required_argument, NULL, OPT_SEVERITY},
		{"crossing", required_argument, NULL, OPT_CROSSING},
		{"keep-days", required_argument, NULL, OPT_KEEP_DAYS},
		{"store-mb", required_argument, NULL, OPT_STORE_MB},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	blo_console_opts_t opts = {.keep_days = DEFAULT_KEEP_DAYS};
	char *end;
	bool json = false, line = false, list = false;
	uint64_t count = 0;
	int timeout_s = -1, width = 120, opt, exit_code = 2;
	cJSON *filter = cJSON_CreateObject();
	blo_console_t *console = NULL;
	blo_err_t err = {0};
	struct sigaction sa;

	if (filter == NULL)
		return 2;
	cJSON_AddStringToObject(filter, "cmd", "list");
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': opts.config = optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_LINE: line = true; break;
		case OPT_LIST: list = true; break;
		case OPT_OFFLINE: opts.offline = true; break;
		case OPT_DURABLE: opts.durable = optarg; break;
		case OPT_COUNTERPART: opts.counterpart = optarg; break;
		case OPT_EXERCISE: opts.status = BLONET__STATUS__EXERCISE; break;
		case OPT_COUNT: count = strtoull(optarg, NULL, 10); break;
		case OPT_TIMEOUT: timeout_s = atoi(optarg); break;
		case OPT_WIDTH: width = atoi(optarg); break;
		case OPT_UNREAD: cJSON_AddBoolToObject(filter, "unread", true); break;
		case OPT_CATEGORY: cJSON_AddStringToObject(filter, "category", optarg); break;
		case OPT_SEVERITY: cJSON_AddStringToObject(filter, "severity", optarg); break;
		case OPT_CROSSING: cJSON_AddStringToObject(filter, "crossing", optarg); break;
		case OPT_KEEP_DAYS:
			opts.keep_days = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || opts.keep_days < 0 || opts.keep_days > 36500) {
				fprintf(stderr, "blonet-console: --keep-days %s: give whole days, 0 to 36500\n", optarg);
				cJSON_Delete(filter);
				return 2;
			}
			break;
		case OPT_STORE_MB:
			opts.store_mb = strtoull(optarg, &end, 10);
			if (*end != '\0' || end == optarg || opts.store_mb < BLO_CONSOLE_STORE_MIN_MB) {
				fprintf(stderr, "blonet-console: --store-mb %s: give a size in MB, at least %d\n",
					optarg, BLO_CONSOLE_STORE_MIN_MB);
				cJSON_Delete(filter);
				return 2;
			}
			break;
		case 'h': usage(stdout); cJSON_Delete(filter); return 0;
		default: usage(stderr); cJSON_Delete(filter); return 2;
		}
	}
	if (opts.config == NULL || optind != argc || (json && line)) {
		usage(stderr);
		cJSON_Delete(filter);
		return 2;
	}
	if (!blo_console_text_init())
		fprintf(stderr, "blonet-console: no UTF-8 locale: text in other scripts may show wrongly\n");
	blo_log_init("blonet-console", BLO_LOG_WARN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (list)
		opts.offline = true;
	if (blo_console_open(&console, &opts, &err) != 0) {
		fprintf(stderr, "blonet-console: %s\n", err.msg);
		goto out;
	}
	if (list) {
		char *text = cJSON_PrintUnformatted(filter);
		bool quit;

		print_line(text != NULL ? blo_console_cmd_run(console, text, json, width, &quit) : NULL);
		free(text);
		exit_code = 0;
	} else if (json || line || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		exit_code = run_stream(console, json, count, timeout_s, width);
	} else {
		exit_code = tui_run(console, &stop_requested);
	}
out:
	cJSON_Delete(filter);
	blo_console_close(&console);
	return exit_code;
}

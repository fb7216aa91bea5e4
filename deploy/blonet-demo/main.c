/*
 * blonet-demo: a whole deployment on this machine, end to end. Provisions a
 * topology into a fresh folder, starts its national brokers (meshed on
 * loopback), its committees and BLO consoles, runs every agency adapter on
 * sample records made for its crossing, plays the officers (each console
 * acknowledges the alerts addressed to its BLO from across the border, one
 * side of each pair asks its counterpart a
 * request for information and answers the ones it gets), stops everything it
 * started, and prints an account of what happened, checked against the
 * brokers' journals and the committees' reports.
 */
#include "demo.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADAPTERS_AT_ONCE 4

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: blonet-demo [--topology FILE] [--rules-dir DIR] [options]\n"
		"  Runs a deployment end to end on this machine and prints what happened.\n"
		"  --topology FILE   the deployment (default: deploy/topologies/mekong-mini.json\n"
		"                    of the source tree this program was built in)\n"
		"  --rules-dir DIR   the adapters' rules, one rules-CC.json per country\n"
		"                    (default: agents/formats beside that topology's tree)\n"
		"  --dir DIR         work here (made; must be empty or absent) instead of a\n"
		"                    new folder under $TMPDIR\n"
		"  --records N       sample records per agency at each BLO (8)\n"
		"  --timeout S       give the deployment S seconds to deliver (90)\n"
		"  --account FILE    also write the account's figures as JSON to FILE\n"
		"  --bin DIR         the blonet programs (default: this program's folder)\n"
		"  --clean           remove the work folder at the end (default: keep it,\n"
		"                    it holds the committees' reports and every log)\n"
		"  -v, --verbose     print each step as it happens\n"
		"Exit status: 0 when every alert was delivered and acknowledged as the\n"
		"account says, 1 when something was not, 2 on a usage or setup error.\n");
}

/* ---------------------------------------------------------------- helpers */

static void say(demo_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(demo_t *d, const char *fmt, ...)
{
	va_list ap;

	printf("[%5.1fs] ", (double)(blo_now_ms() - d->started_ms) / 1000.0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "blonet-demo: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

cJSON *demo_read_json(const char *path, bool complain)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *j = NULL;
	int rc = blo_read_file(path, 64u << 20, &text, &len);

	if (rc == 0)
		j = cJSON_ParseWithLength(text, len);
	if (j == NULL && complain)
		fprintf(stderr, "blonet-demo: %s: %s\n", path,
			rc != 0 ? blo_strerror(rc) : "not valid JSON");
	free(text);
	return j;
}

const char *demo_json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

double demo_json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int demo_run_tool(demo_t *d, const char *prog, const char *const *args, const char *out_path,
		  const char *err_path, int timeout_ms)
{
	char path[PATH_MAX];
	char *argv[16];
	size_t n = 0;
	demo_proc_t p;
	int code;

	snprintf(path, sizeof(path), "%s/%s", d->bin_dir, prog);
	argv[n++] = path;
	for (; args[n - 1] != NULL && n < 15; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	if (demo_proc_start(&p, prog, argv, out_path != NULL ? out_path : "/dev/null", err_path,
			    false) != 0) {
		fprintf(stderr, "blonet-demo: cannot start %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!demo_proc_wait(&p, timeout_ms)) {
		fprintf(stderr, "blonet-demo: %s did not finish in %d s; stopped\n", prog,
			timeout_ms / 1000);
		demo_proc_stop(&p, SIGKILL, 1000);
		demo_proc_release(&p);
		return -1;
	}
	code = demo_proc_exit_code(&p);
	demo_proc_release(&p);
	return code;
}

static int node_init(demo_t *d, demo_node_t *n, const blo_principal_t *pr)
{
	n->pr = pr;
	snprintf(n->dir, sizeof(n->dir), "%s/%s", d->deploy, pr->id);
	snprintf(n->config, sizeof(n->config), "%s/config.json", n->dir);
	snprintf(n->log, sizeof(n->log), "%s/%s.log", d->logs, pr->id);
	n->proc.in_fd = n->proc.out_fd = -1;
	if (!file_exists(n->config)) {
		fprintf(stderr, "blonet-demo: %s: no config for %s\n", n->config, pr->id);
		return -1;
	}
	return 0;
}

/* Starts BIN/prog for a node with args after "-c CONFIG". */
static int node_start(demo_t *d, demo_node_t *n, const char *prog, const char *const *args,
		      const char *out_path, bool pipes)
{
	char path[PATH_MAX];
	char *argv[24];
	size_t k = 0;

	snprintf(path, sizeof(path), "%s/%s", d->bin_dir, prog);
	argv[k++] = path;
	argv[k++] = "-c";
	argv[k++] = n->config;
	for (size_t i = 0; args != NULL && args[i] != NULL && k < 23; i++)
		argv[k++] = (char *)args[i];
	argv[k] = NULL;
	if (demo_proc_start(&n->proc, n->pr->id, argv, pipes ? NULL : out_path, n->log, pipes) != 0) {
		fprintf(stderr, "blonet-demo: cannot start %s for %s: %s\n", path, n->pr->id,
			strerror(errno));
		return -1;
	}
	if (d->verbose)
		say(d, "started %s as %s (pid %d)", prog, n->pr->id, (int)n->proc.pid);
	return 0;
}

/* ---------------------------------------------------------------- setup */

static const demo_rules_t *rules_of(const demo_t *d, const char *country)
{
	for (size_t i = 0; i < d->n_rules; i++)
		if (strcmp(d->rules[i].country, country) == 0)
			return &d->rules[i];
	return NULL;
}

/* The crossing entry of site in its country's rules, or NULL. */
static const cJSON *crossing_of(const demo_t *d, const char *country, const char *site)
{
	const demo_rules_t *r = rules_of(d, country);
	const cJSON *x;

	if (r == NULL)
		return NULL;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(r->json, "crossings"))
		if (strcmp(demo_json_str(x, "site"), site) == 0)
			return x;
	return NULL;
}

static int load_rules(demo_t *d, const char *country)
{
	demo_rules_t *r;
	char lower[3] = {(char)(country[0] | 0x20), (char)(country[1] | 0x20), '\0'};

	if (rules_of(d, country) != NULL)
		return 0;
	r = &d->rules[d->n_rules];
	snprintf(r->country, sizeof(r->country), "%s", country);
	snprintf(r->path, sizeof(r->path), "%s/rules-%s.json", d->rules_dir, lower);
	if ((r->json = demo_read_json(r->path, true)) == NULL)
		return -1;
	d->n_rules++;
	return 0;
}

static const char *agency_command(Blonet__AgencyKind agency)
{
	switch (agency) {
	case BLONET__AGENCY_KIND__CUSTOMS: return "customs";
	case BLONET__AGENCY_KIND__IMMIGRATION: return "immigration";
	case BLONET__AGENCY_KIND__NARCOTICS_POLICE: return "narcotics";
	default: return NULL;
	}
}

static const char *agency_file(const char *command)
{
	if (strcmp(command, "customs") == 0)
		return "customs.jsonl";
	if (strcmp(command, "immigration") == 0)
		return "immigration.csv";
	return "narcotics.jsonl";
}

static int load_deployment(demo_t *d)
{
	char path[PATH_MAX];
	blo_broker_settings_t s = {0};
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	blo_err_t err = {0};
	size_t n;
	int rc = -1;

	/* The trust anchor, as every process gets it: from a config (the
	 * registry lists the brokers first). */
	snprintf(path, sizeof(path), "%s/registry.json", d->deploy);
	{
		char first[PATH_MAX];
		cJSON *reg = demo_read_json(path, true);
		const cJSON *entries = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(reg, "registry"), "principals");
		const cJSON *first_entry = cJSON_GetArrayItem(entries, 0);

		snprintf(first, sizeof(first), "%s/%s/config.json", d->deploy,
			 demo_json_str(first_entry, "id"));
		cJSON_Delete(reg);
		if (blo_broker_settings_load(&s, first, &err) != 0 ||
		    blo_settings_authority(s.authority, authority, &err) != 0 ||
		    blo_registry_load(&d->reg, path, authority, &err) != 0) {
			fprintf(stderr, "blonet-demo: %s\n", err.msg);
			goto out;
		}
	}
	n = blo_registry_count(d->reg);
	d->brokers = calloc(n, sizeof(*d->brokers));
	d->agents = calloc(n, sizeof(*d->agents));
	d->consoles = calloc(n, sizeof(*d->consoles));
	d->committees = calloc(n, sizeof(*d->committees));
	d->rules = calloc(n, sizeof(*d->rules));
	if (!d->brokers || !d->agents || !d->consoles || !d->committees || !d->rules) {
		fprintf(stderr, "blonet-demo: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const blo_principal_t *pr = blo_registry_at(d->reg, i);

		if (pr->revoked)
			continue;
		switch (pr->role) {
		case BLO_ROLE_BROKER: {
			demo_broker_t *b = &d->brokers[d->n_brokers];
			blo_broker_settings_t bs = {0};

			if (d->n_brokers == 64) {
				fprintf(stderr, "blonet-demo: more than 64 brokers\n");
				goto out;
			}
			if (node_init(d, &b->node, pr) != 0)
				goto out;
			if (blo_broker_settings_load(&bs, b->node.config, &err) != 0) {
				fprintf(stderr, "blonet-demo: %s\n", err.msg);
				blo_broker_settings_free(&bs);
				goto out;
			}
			snprintf(b->data_dir, sizeof(b->data_dir), "%s", bs.data_dir);
			b->n_peers = bs.peers.n;
			blo_broker_settings_free(&bs);
			d->n_brokers++;
			break;
		}
		case BLO_ROLE_AGENT: {
			demo_agent_t *a = &d->agents[d->n_agents];

			a->agency = agency_command(pr->agency);
			if (a->agency == NULL)
				break; /* an agency with no adapter here */
			if (node_init(d, &a->node, pr) != 0 || load_rules(d, pr->country) != 0)
				goto out;
			if (crossing_of(d, pr->country, pr->site) == NULL) {
				fprintf(stderr, "blonet-demo: %s: no crossing %s for %s\n",
					rules_of(d, pr->country)->path, pr->site, pr->id);
				goto out;
			}
			a->file = agency_file(a->agency);
			snprintf(a->input, sizeof(a->input), "%s/%s/%s", d->samples, pr->site, a->file);
			snprintf(a->summary, sizeof(a->summary), "%s/%s.summary.jsonl", d->logs, pr->id);
			snprintf(a->rejects, sizeof(a->rejects), "%s/%s.rejects.jsonl", d->logs, pr->id);
			d->n_agents++;
			break;
		}
		case BLO_ROLE_CONSOLE: {
			demo_console_t *c = &d->consoles[d->n_consoles];
			const cJSON *x;

			if (node_init(d, &c->node, pr) != 0)
				goto out;
			if (load_rules(d, pr->country) == 0 &&
			    (x = crossing_of(d, pr->country, pr->site)) != NULL) {
				snprintf(c->crossing, sizeof(c->crossing), "%s", demo_json_str(x, "name"));
				snprintf(c->counterpart, sizeof(c->counterpart), "%s",
					 demo_json_str(x, "counterpart"));
				snprintf(c->counterpart_country, sizeof(c->counterpart_country), "%s",
					 demo_json_str(x, "counterpart_country"));
			}
			d->n_consoles++;
			break;
		}
		case BLO_ROLE_COMMITTEE: {
			demo_committee_t *m = &d->committees[d->n_committees];
			const demo_rules_t *r;

			if (node_init(d, &m->node, pr) != 0)
				goto out;
			snprintf(m->report_dir, sizeof(m->report_dir), "%s/%s", d->reports, pr->id);
			if (load_rules(d, pr->country) == 0 && (r = rules_of(d, pr->country)) != NULL)
				m->week_offset_min = (int)demo_json_num(r->json, "utc_offset_minutes");
			d->n_committees++;
			break;
		}
		default:
			break;
		}
	}
	if (d->n_brokers == 0 || d->n_agents == 0) {
		fprintf(stderr, "blonet-demo: %s has no broker or no agent to run\n", d->topology);
		goto out;
	}
	rc = 0;
out:
	blo_broker_settings_free(&s);
	return rc;
}

static int make_samples(demo_t *d)
{
	int64_t now = blo_now_ms();
	size_t made = 0;

	/* One set of files per site, shared by its three agents. */
	for (size_t i = 0; i < d->n_agents; i++) {
		const blo_principal_t *pr = d->agents[i].node.pr;
		char dir[PATH_MAX];
		blo_err_t err = {0};
		uint64_t seed = 2025;

		snprintf(dir, sizeof(dir), "%s/%s", d->samples, pr->site);
		if (file_exists(dir))
			continue;
		if (make_dir(dir) != 0)
			return -1;
		for (const char *s = pr->site; *s != '\0'; s++)
			seed = seed * 131 + (unsigned char)*s;
		if (blo_samples_write(rules_of(d, pr->country)->path, pr->site, d->records, 1, 1, seed,
				      now, 28, dir, &err) != 0) {
			fprintf(stderr, "blonet-demo: samples for %s: %s\n", pr->site, err.msg);
			return -1;
		}
		made++;
	}
	say(d, "wrote %u customs, immigration and narcotics records for each of %zu BLOs "
	       "(one of each agency's deliberately malformed)", d->records, made);
	return 0;
}

/* ---------------------------------------------------------------- consoles */

static void console_command(demo_t *d, demo_console_t *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void console_command(demo_t *d, demo_console_t *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (d->verbose)
		say(d, "%s: %s", c->node.pr->id, line);
	if (demo_proc_write(&c->node.proc, line) != 0)
		c->errors++;
}

/* Whether the alert names this BLO (its site or its console) as an
 * addressee: what the officer there is expected to acknowledge. */
static bool addressed_to(const cJSON *alert, const blo_principal_t *me)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(alert, "handling"), "addressed_to");
	const cJSON *x;

	cJSON_ArrayForEach(x, to)
		if (cJSON_IsString(x) &&
		    (strcmp(x->valuestring, me->site) == 0 || strcmp(x->valuestring, me->id) == 0))
			return true;
	return false;
}

static void console_received(demo_t *d, demo_console_t *c, const cJSON *ev)
{
	const char *type = demo_json_str(ev, "type"), *id = demo_json_str(ev, "id");
	const cJSON *alert = cJSON_GetObjectItemCaseSensitive(ev, "alert");
	const cJSON *origin = cJSON_GetObjectItemCaseSensitive(alert, "origin");
	const cJSON *reply = cJSON_GetObjectItemCaseSensitive(ev, "in_reply_to");
	const char *site = demo_json_str(origin, "site"), *country = demo_json_str(origin, "country");
	bool foreign = country[0] != '\0' && strcmp(country, c->node.pr->country) != 0;
	bool ours_replied = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ours"));

	if (strcmp(type, "ALERT") == 0) {
		c->alerts++;
		demo_counts_add(&c->from, site[0] != '\0' ? site : "(no site)", 1);
		if (foreign && addressed_to(alert, c->node.pr)) {
			console_command(d, c, "ack %s received", id);
			c->acks_sent++;
		}
	} else if (strcmp(type, "ACK") == 0 && ours_replied) {
		c->acks_received++;
		demo_times_add(&c->ack_ms, (int64_t)demo_json_num(reply, "took_ms"));
		demo_counts_add(&c->ack_from, site, 1);
	} else if (strcmp(type, "RFI") == 0 && foreign) {
		c->rfis_received++;
		console_command(d, c,
				"respond %s %s: nothing on record at %s for that vehicle in the "
				"last 30 days; we will flag it at our gate",
				id, c->node.pr->site, c->crossing[0] ? c->crossing : c->node.pr->site);
		c->responses_sent++;
	} else if (strcmp(type, "RESPONSE") == 0 && ours_replied && c->rfi_sent) {
		c->rfi_answered = true;
		c->rfi_took_ms = (int64_t)demo_json_num(reply, "took_ms");
	}
}

static void console_line(demo_proc_t *p, const char *line, void *arg)
{
	demo_t *d = arg;
	demo_console_t *c = NULL;
	cJSON *ev;
	const char *event;

	for (size_t i = 0; i < d->n_consoles && c == NULL; i++)
		if (&d->consoles[i].node.proc == p)
			c = &d->consoles[i];
	if (c == NULL || (ev = cJSON_Parse(line)) == NULL)
		return;
	c->last_event_ms = blo_now_ms();
	event = demo_json_str(ev, "event");
	if (strcmp(event, "link") == 0) {
		c->link_up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "up"));
	} else if (strcmp(event, "received") == 0) {
		console_received(d, c, ev);
	} else if (strcmp(event, "published") == 0) {
		const char *status = demo_json_str(ev, "status");

		if (strcmp(status, "accepted") != 0 && strcmp(status, "duplicate") != 0 &&
		    strcmp(status, "pending") != 0) {
			c->refused++;
			snprintf(c->last_refusal, sizeof(c->last_refusal), "%s %s: %s",
				 demo_json_str(ev, "type"), status, demo_json_str(ev, "reason"));
		}
	} else if (strcmp(event, "result") == 0) {
		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ev, "ok"))) {
			c->errors++;
			fprintf(stderr, "blonet-demo: %s: %s: %s\n", c->node.pr->id,
				demo_json_str(ev, "cmd"), demo_json_str(ev, "error"));
		}
	} else if (strcmp(event, "error") == 0) {
		c->errors++;
		fprintf(stderr, "blonet-demo: %s: %s\n", c->node.pr->id, demo_json_str(ev, "text"));
	}
	cJSON_Delete(ev);
}

/* ---------------------------------------------------------------- running */

/* Starts waiting adapters, up to ADAPTERS_AT_ONCE running; collects the
 * ones that finished. Returns how many are not finished. */
static size_t adapters_step(demo_t *d)
{
	size_t running = 0, left = 0;

	for (size_t i = 0; i < d->n_agents; i++) {
		demo_agent_t *a = &d->agents[i];

		if (a->started && !a->finished && demo_proc_reap(&a->node.proc)) {
			a->finished = true;
			a->exit_code = demo_proc_exit_code(&a->node.proc);
			demo_proc_release(&a->node.proc);
		}
		if (a->started && !a->finished)
			running++;
	}
	for (size_t i = 0; i < d->n_agents; i++) {
		demo_agent_t *a = &d->agents[i];
		const char *args[] = {"--rules", rules_of(d, a->node.pr->country)->path, "--json",
				      "--rejects", a->rejects, "--ack-timeout", "60", a->input, NULL};

		if (!a->started && running < ADAPTERS_AT_ONCE) {
			/* blonet-adapter AGENCY -c CONFIG ...: the agency comes first. */
			char path[PATH_MAX];
			char *argv[16];
			size_t k = 0;

			snprintf(path, sizeof(path), "%s/blonet-adapter", d->bin_dir);
			argv[k++] = path;
			argv[k++] = (char *)a->agency;
			argv[k++] = "-c";
			argv[k++] = a->node.config;
			for (size_t j = 0; args[j] != NULL; j++)
				argv[k++] = (char *)args[j];
			argv[k] = NULL;
			a->started = true;
			if (demo_proc_start(&a->node.proc, a->node.pr->id, argv, a->summary,
					    a->node.log, false) != 0) {
				fprintf(stderr, "blonet-demo: cannot start %s: %s\n", path,
					strerror(errno));
				a->finished = true;
				a->exit_code = -1;
			} else {
				running++;
			}
		}
		if (!a->finished)
			left++;
	}
	return left;
}

/* Reads the consoles for up to ms, and runs the adapters' queue. Returns -1
 * if a broker, console or committee died, or the demo was interrupted. */
static int pump(demo_t *d, int ms)
{
	struct pollfd pf[4096];
	size_t n = 0;

	for (size_t i = 0; i < d->n_consoles && n < 4096; i++) {
		if (d->consoles[i].node.proc.out_fd >= 0) {
			pf[n].fd = d->consoles[i].node.proc.out_fd;
			pf[n].events = POLLIN;
			n++;
		}
	}
	if (poll(pf, n, ms) < 0 && errno != EINTR)
		return -1;
	for (size_t i = 0; i < d->n_consoles; i++)
		demo_proc_read(&d->consoles[i].node.proc, console_line, d);
	adapters_step(d);
	if (interrupted) {
		fprintf(stderr, "blonet-demo: interrupted\n");
		return -1;
	}
	for (size_t i = 0; i < d->n_brokers; i++) {
		if (demo_proc_reap(&d->brokers[i].node.proc)) {
			fprintf(stderr, "blonet-demo: broker %s exited (%d); see %s\n",
				d->brokers[i].node.pr->id, demo_proc_exit_code(&d->brokers[i].node.proc),
				d->brokers[i].node.log);
			return -1;
		}
	}
	for (size_t i = 0; i < d->n_consoles; i++) {
		if (demo_proc_reap(&d->consoles[i].node.proc)) {
			fprintf(stderr, "blonet-demo: console %s exited (%d); see %s\n",
				d->consoles[i].node.pr->id,
				demo_proc_exit_code(&d->consoles[i].node.proc), d->consoles[i].node.log);
			return -1;
		}
	}
	for (size_t i = 0; i < d->n_committees; i++) {
		if (demo_proc_reap(&d->committees[i].node.proc)) {
			fprintf(stderr, "blonet-demo: committee %s exited (%d); see %s\n",
				d->committees[i].node.pr->id,
				demo_proc_exit_code(&d->committees[i].node.proc),
				d->committees[i].node.log);
			return -1;
		}
	}
	return 0;
}

/* Reads a broker's status.json: whether every peer is connected, and the
 * records still to forward (backlog and in flight) over all its peers. */
static bool broker_status(const demo_broker_t *b, bool *all_connected, size_t *pending)
{
	char path[PATH_MAX];
	cJSON *st, *peer;
	size_t connected = 0;

	snprintf(path, sizeof(path), "%s/status.json", b->data_dir);
	if ((st = demo_read_json(path, false)) == NULL)
		return false;
	*pending = 0;
	cJSON_ArrayForEach(peer, cJSON_GetObjectItemCaseSensitive(st, "peers")) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(peer, "connected")))
			connected++;
		*pending += (size_t)demo_json_num(peer, "backlog") + (size_t)demo_json_num(peer, "in_flight");
	}
	*all_connected = connected == b->n_peers;
	cJSON_Delete(st);
	return true;
}

static int start_brokers(demo_t *d)
{
	int64_t deadline;
	size_t links = 0;

	for (size_t i = 0; i < d->n_brokers; i++) {
		if (node_start(d, &d->brokers[i].node, "blonet-broker", NULL, "/dev/null", false) != 0)
			return -1;
		links += d->brokers[i].n_peers;
	}
	deadline = blo_now_ms() + 30000;
	for (;;) {
		size_t up = 0, pending;
		bool connected;

		for (size_t i = 0; i < d->n_brokers; i++)
			if (broker_status(&d->brokers[i], &connected, &pending) && connected)
				up++;
		if (up == d->n_brokers)
			break;
		if (pump(d, 100) != 0)
			return -1;
		if (blo_now_ms() > deadline) {
			fprintf(stderr, "blonet-demo: the mesh did not come up in 30 s (%zu of %zu "
					"brokers linked to every peer); see %s\n", up, d->n_brokers, d->logs);
			return -1;
		}
	}
	say(d, "%zu national brokers up, %zu mesh links connected (CurveZMQ, keys from the "
	       "signed registry)", d->n_brokers, links / 2);
	return 0;
}

static int start_clients(demo_t *d)
{
	int64_t deadline = blo_now_ms() + 20000;
	size_t up;

	for (size_t i = 0; i < d->n_committees; i++) {
		demo_committee_t *m = &d->committees[i];
		char offset[16];
		const char *args[] = {"--report-dir", m->report_dir, "--week-offset", offset, NULL};

		snprintf(offset, sizeof(offset), "%d", m->week_offset_min);
		if (node_start(d, &m->node, "blonet-committee", args, "/dev/null", false) != 0)
			return -1;
	}
	for (size_t i = 0; i < d->n_consoles; i++) {
		demo_console_t *c = &d->consoles[i];
		const char *with_cp[] = {"--json", "--exercise", "--counterpart", c->counterpart, NULL};
		const char *without[] = {"--json", "--exercise", NULL};

		if (node_start(d, &c->node, "blonet-console",
			       c->counterpart[0] != '\0' ? with_cp : without, NULL, true) != 0)
			return -1;
	}
	do {
		if (pump(d, 100) != 0)
			return -1;
		up = 0;
		for (size_t i = 0; i < d->n_consoles; i++)
			up += d->consoles[i].link_up;
	} while (up < d->n_consoles && blo_now_ms() < deadline);
	say(d, "%zu committees and %zu BLO consoles subscribed (%zu linked)", d->n_committees,
	    d->n_consoles, up);
	return 0;
}

static int run_adapters(demo_t *d)
{
	while (adapters_step(d) > 0)
		if (pump(d, 50) != 0)
			return -1;
	for (size_t i = 0; i < d->n_agents; i++) {
		demo_agent_t *a = &d->agents[i];
		cJSON *sum = demo_read_json(a->summary, false);

		if (sum != NULL) {
			a->read = (size_t)demo_json_num(sum, "read");
			a->published = (size_t)demo_json_num(sum, "published");
			a->duplicate = (size_t)demo_json_num(sum, "duplicate");
			a->rejected = (size_t)demo_json_num(sum, "rejected");
			a->unacknowledged = (size_t)demo_json_num(sum, "unacknowledged");
			cJSON_Delete(sum);
		}
		if (a->rejected > 0) {
			FILE *f = fopen(a->rejects, "r");
			char line[8192];
			cJSON *r;

			if (f != NULL && fgets(line, sizeof(line), f) != NULL &&
			    (r = cJSON_Parse(line)) != NULL) {
				snprintf(a->first_reject, sizeof(a->first_reject), "%s",
					 demo_json_str(r, "reason"));
				cJSON_Delete(r);
			}
			if (f != NULL)
				fclose(f);
		}
		/* 1: some records were rejected, which the samples mean. */
		if (sum == NULL || (a->exit_code != 0 && !(a->exit_code == 1 && a->rejected > 0))) {
			fprintf(stderr, "blonet-demo: adapter %s failed (exit %d); see %s\n",
				a->node.pr->id, a->exit_code, a->node.log);
			return -1;
		}
	}
	{
		size_t published = 0, rejected = 0;

		for (size_t i = 0; i < d->n_agents; i++) {
			published += d->agents[i].published + d->agents[i].duplicate;
			rejected += d->agents[i].rejected;
		}
		say(d, "%zu adapters done: %zu alerts published and acknowledged, %zu records "
		       "rejected with their reason", d->n_agents, published, rejected);
	}
	return 0;
}

/* Each BLO pair: the side whose site sorts first asks its counterpart. */
static void send_rfis(demo_t *d)
{
	for (size_t i = 0; i < d->n_consoles; i++) {
		demo_console_t *c = &d->consoles[i];
		bool counterpart_runs = false;

		for (size_t k = 0; k < d->n_consoles; k++)
			if (strcmp(d->consoles[k].node.pr->site, c->counterpart) == 0)
				counterpart_runs = true;
		if (!counterpart_runs || strcmp(c->node.pr->site, c->counterpart) > 0)
			continue;
		console_command(d, c,
				"rfi to=%s tlp=amber rel=%s category=drugs severity=moderate "
				"Pickup truck seen leaving %s toward your side: any record of it? // "
				"Grey pickup, local plates, crossed at dusk; two passengers.",
				c->counterpart, c->counterpart_country, c->node.pr->site);
		c->rfi_sent = true;
		d->rfis_sent++;
	}
	if (d->rfis_sent > 0)
		say(d, "officers at %zu BLOs sent a request for information to their counterpart "
		       "across the border", d->rfis_sent);
}

/* Waits until every ACK and answer the officers sent has arrived, every
 * broker has forwarded everything, and the consoles have been quiet for
 * 1.5 s; or until the timeout. */
static int settle(demo_t *d)
{
	int64_t start = blo_now_ms(), deadline = start + (int64_t)d->timeout_s * 1000;

	for (;;) {
		size_t acks_sent = 0, acks_in = 0, answered = 0, pending_all = 0;
		int64_t last = 0, now;
		bool quiet;

		if (pump(d, 100) != 0)
			return -1;
		now = blo_now_ms();
		for (size_t i = 0; i < d->n_consoles; i++) {
			demo_console_t *c = &d->consoles[i];

			acks_sent += c->acks_sent;
			acks_in += c->acks_received;
			answered += c->rfi_answered;
			if (c->last_event_ms > last)
				last = c->last_event_ms;
		}
		for (size_t i = 0; i < d->n_brokers; i++) {
			size_t pending = 0;
			bool connected;

			if (broker_status(&d->brokers[i], &connected, &pending))
				pending_all += pending;
		}
		quiet = now - last >= 1500;
		if (acks_in >= acks_sent && answered == d->rfis_sent && pending_all == 0 && quiet) {
			d->settled = true;
			break;
		}
		if (now > deadline) {
			fprintf(stderr,
				"blonet-demo: after %u s: %zu of %zu ACKs arrived, %zu of %zu RFIs "
				"answered, %zu records not yet forwarded\n",
				d->timeout_s, acks_in, acks_sent, answered, d->rfis_sent, pending_all);
			break;
		}
	}
	d->settle_ms = blo_now_ms() - start;
	say(d, "traffic %s after %.1f s: the officers' ACKs and answers %s", d->settled ? "settled" : "did not settle",
	    (double)d->settle_ms / 1000.0, d->settled ? "all arrived" : "did not all arrive");
	return 0;
}

static int stop_everything(demo_t *d)
{
	int bad = 0;

	for (size_t i = 0; i < d->n_consoles; i++) {
		demo_console_t *c = &d->consoles[i];

		console_command(d, c, "quit");
		demo_proc_close_input(&c->node.proc);
	}
	for (size_t i = 0; i < d->n_consoles; i++) {
		demo_console_t *c = &d->consoles[i];
		int64_t deadline = blo_now_ms() + 5000;

		/* Read what it still says while it quits; SIGTERM after 5 s. */
		while (!demo_proc_wait(&c->node.proc, 50) && c->node.proc.out_fd >= 0 &&
		       blo_now_ms() < deadline)
			demo_proc_read(&c->node.proc, console_line, d);
		demo_proc_read(&c->node.proc, console_line, d);
		if (demo_proc_stop(&c->node.proc, SIGTERM, 5000) != 0)
			bad++;
		demo_proc_release(&c->node.proc);
	}
	for (size_t i = 0; i < d->n_committees; i++) {
		demo_committee_t *m = &d->committees[i];
		const char *args[] = {"-c", m->node.config, "--report", "--report-dir", m->report_dir,
				      NULL};

		if (demo_proc_stop(&m->node.proc, SIGTERM, 5000) != 0)
			bad++;
		demo_proc_release(&m->node.proc);
		if (demo_run_tool(d, "blonet-committee", args, NULL, m->node.log, 30000) != 0) {
			fprintf(stderr, "blonet-demo: %s: no report; see %s\n", m->node.pr->id,
				m->node.log);
			bad++;
		}
	}
	for (size_t i = 0; i < d->n_brokers; i++) {
		demo_broker_t *b = &d->brokers[i];

		if (demo_proc_stop(&b->node.proc, SIGTERM, 10000) != 0) {
			fprintf(stderr, "blonet-demo: broker %s did not stop cleanly; see %s\n",
				b->node.pr->id, b->node.log);
			bad++;
		}
		demo_proc_release(&b->node.proc);
	}
	say(d, "stopped every process the demo started: %zu brokers, %zu adapters, %zu "
	       "consoles, %zu committees%s", d->n_brokers, d->n_agents, d->n_consoles,
	    d->n_committees, bad ? " (some not cleanly: see the logs)" : ", all cleanly");
	return bad ? -1 : 0;
}

/* ---------------------------------------------------------------- main */

static int default_paths(demo_t *d, char *bin, size_t binsz, char *topo, char *rules, size_t sz)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *dir;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	dir = dirname(self);
	if (d->bin_dir == NULL) {
		snprintf(bin, binsz, "%s", dir);
		d->bin_dir = bin;
	}
	/* bin/ or build/SANITIZER/bin/ of a source tree. */
	for (const char *up = ".."; d->topology == NULL || d->rules_dir == NULL;) {
		char base[PATH_MAX];

		snprintf(base, sizeof(base), "%s/%s", dir, up);
		snprintf(topo, sz, "%s/deploy/topologies/mekong-mini.json", base);
		if (file_exists(topo)) {
			if (d->topology == NULL)
				d->topology = topo;
			if (d->rules_dir == NULL) {
				snprintf(rules, sz, "%s/agents/formats", base);
				d->rules_dir = rules;
			}
			break;
		}
		if (strcmp(up, "../../..") == 0)
			break;
		up = "../../..";
	}
	return 0;
}

static void cleanup(demo_t *d)
{
	demo_proc_kill_all();
	for (size_t i = 0; i < d->n_brokers; i++) {
		demo_proc_release(&d->brokers[i].node.proc);
		demo_counts_free(&d->brokers[i].by_origin);
		demo_counts_free(&d->brokers[i].counters);
	}
	for (size_t i = 0; i < d->n_agents; i++)
		demo_proc_release(&d->agents[i].node.proc);
	for (size_t i = 0; i < d->n_consoles; i++) {
		demo_proc_release(&d->consoles[i].node.proc);
		demo_counts_free(&d->consoles[i].from);
		demo_counts_free(&d->consoles[i].ack_from);
		demo_times_free(&d->consoles[i].ack_ms);
	}
	for (size_t i = 0; i < d->n_committees; i++)
		demo_proc_release(&d->committees[i].node.proc);
	for (size_t i = 0; i < d->n_rules; i++)
		cJSON_Delete(d->rules[i].json);
	free(d->brokers);
	free(d->agents);
	free(d->consoles);
	free(d->committees);
	free(d->rules);
	free(d->stored);
	blo_registry_destroy(&d->reg);
}

int main(int argc, char **argv)
{
	enum { OPT_TOPOLOGY = 256, OPT_RULES, OPT_DIR, OPT_RECORDS, OPT_TIMEOUT, OPT_ACCOUNT,
	       OPT_BIN, OPT_CLEAN };
	static const struct option longopts[] = {
		{"topology", required_argument, NULL, OPT_TOPOLOGY},
		{"rules-dir", required_argument, NULL, OPT_RULES},
		{"dir", required_argument, NULL, OPT_DIR},
		{"records", required_argument, NULL, OPT_RECORDS},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"account", required_argument, NULL, OPT_ACCOUNT},
		{"bin", required_argument, NULL, OPT_BIN},
		{"clean", no_argument, NULL, OPT_CLEAN},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	static demo_t d;
	static char bin[PATH_MAX], topo[PATH_MAX], rules[PATH_MAX];
	blo_provision_report_t prep = {0};
	blo_err_t err = {0};
	const char *dir = NULL;
	bool clean = false;
	struct sigaction sa = {0};
	int opt, rc = 2;
	char *end;

	d.records = 8;
	d.timeout_s = 90;
	d.keep = true;
	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_TOPOLOGY: d.topology = optarg; break;
		case OPT_RULES: d.rules_dir = optarg; break;
		case OPT_DIR: dir = optarg; break;
		case OPT_ACCOUNT: d.account_path = optarg; break;
		case OPT_BIN: d.bin_dir = optarg; break;
		case OPT_CLEAN: clean = true; break;
		case OPT_RECORDS:
		case OPT_TIMEOUT: {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || v < 2 || v > 100000) {
				fprintf(stderr, "blonet-demo: --%s: \"%s\" is not a number from 2 to "
						"100000\n", opt == OPT_RECORDS ? "records" : "timeout", optarg);
				return 2;
			}
			if (opt == OPT_RECORDS)
				d.records = (unsigned)v;
			else
				d.timeout_s = (unsigned)v;
			break;
		}
		case 'v': d.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (default_paths(&d, bin, sizeof(bin), topo, rules, sizeof(topo)) != 0 ||
	    d.topology == NULL || d.rules_dir == NULL) {
		fprintf(stderr, "blonet-demo: no --topology and --rules-dir given, and no source "
				"tree around this program to take the default from\n");
		return 2;
	}
	blo_log_init("blonet-demo", BLO_LOG_WARN);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.started_ms = blo_now_ms();

	/* The work folder. */
	if (dir != NULL) {
		if (make_dir(dir) != 0)
			return 2;
		snprintf(d.work, sizeof(d.work), "%s", dir);
	} else {
		const char *tmp = getenv("TMPDIR");

		snprintf(d.work, sizeof(d.work), "%s/blonet-demo-XXXXXX",
			 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
		if (mkdtemp(d.work) == NULL) {
			fprintf(stderr, "blonet-demo: %s: %s\n", d.work, strerror(errno));
			return 2;
		}
	}
	snprintf(d.deploy, sizeof(d.deploy), "%s/deploy", d.work);
	snprintf(d.logs, sizeof(d.logs), "%s/logs", d.work);
	snprintf(d.samples, sizeof(d.samples), "%s/samples", d.work);
	snprintf(d.reports, sizeof(d.reports), "%s/reports", d.work);
	snprintf(d.journals, sizeof(d.journals), "%s/journals", d.work);
	if (file_exists(d.deploy)) {
		fprintf(stderr, "blonet-demo: %s already holds a deployment; give an empty --dir\n",
			d.work);
		return 2;
	}
	if (make_dir(d.logs) != 0 || make_dir(d.samples) != 0 || make_dir(d.reports) != 0 ||
	    make_dir(d.journals) != 0)
		return 2;

	printf("blonet demo: %s\nwork folder: %s\n\n", d.topology, d.work);
	if (blo_provision_run(d.topology, d.deploy, NULL, &prep, &err) != 0) {
		fprintf(stderr, "blonet-demo: %s\n", err.msg);
		goto out;
	}
	if (load_deployment(&d) != 0)
		goto out;
	say(&d, "provisioned \"%s\": %zu brokers and %zu principals, each with its own keys, "
		"in a registry signed by a new regional authority", prep.name, prep.n_brokers,
	    prep.n_principals);
	if (make_samples(&d) != 0)
		goto out;
	rc = 1;
	if (start_brokers(&d) != 0 || start_clients(&d) != 0 || run_adapters(&d) != 0)
		goto out;
	send_rfis(&d);
	if (settle(&d) != 0)
		goto out;
	if (stop_everything(&d) != 0 || demo_collect(&d) != 0)
		goto out;
	printf("\n");
	demo_account_print(&d);
	if (d.account_path != NULL && demo_account_write(&d, d.account_path) != 0)
		goto out;
	rc = d.settled ? 0 : 1;
out:
	cleanup(&d);
	if (clean && rc == 0) {
		const char *args[] = {"-rf", "--", d.work, NULL};
		char *argv_rm[] = {"/bin/rm", (char *)args[0], (char *)args[1], (char *)args[2], NULL};
		demo_proc_t p;

		if (demo_proc_start(&p, "rm", argv_rm, "/dev/null", NULL, false) == 0) {
			demo_proc_wait(&p, 30000);
			demo_proc_release(&p);
		}
	} else if (rc != 2) {
		printf("\nEverything is kept in %s (logs/, reports/, journals/, deploy/); "
		       "remove it with: rm -rf %s\n", d.work, d.work);
	}
	return rc;
}

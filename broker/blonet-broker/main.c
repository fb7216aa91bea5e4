/*
 * blonet-broker: the national broker daemon. All the work is in
 * lib/blo_broker.c; this reads the settings, wires the signals and runs.
 *   SIGTERM, SIGINT: stop taking publishes, commit what is held, exit 0.
 *   SIGHUP: reload the registry; sessions of removed keys are dropped.
 * Exit status: 0 stopped; 1 failed (a restart may help: e.g. a registry
 * that gave this broker new keys, once the new identity is installed);
 * 2 usage, or a registry that revoked this broker (a restart would not
 * help: the service unit does not restart on 2).
 */
#include "blo_broker.h"
#include "blo_log.h"
#include "blo_settings.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static blo_broker_t *running;

static void on_stop(int sig)
{
	(void)sig;
	if (running != NULL)
		blo_broker_request_stop(running);
}

static void on_hup(int sig)
{
	(void)sig;
	if (running != NULL)
		blo_broker_request_reload(running);
}

static void usage(FILE *to)
{
	fprintf(to, "usage: blonet-broker -c CONFIG\n"
		    "  Runs the broker described by CONFIG (a broker settings file written by\n"
		    "  blonet-provision). Logs are JSON lines on stderr; status is written to\n"
		    "  DATA_DIR/status.json every second (blonetctl status reads it).\n"
		    "  SIGTERM drains and exits 0; SIGHUP reloads the registry.\n"
		    "  Exits 1 on failure, 2 on a usage error or when a reloaded registry\n"
		    "  revokes this broker. A registry older than one the broker has\n"
		    "  accepted before is refused, at start as on reload.\n");
}

int main(int argc, char **argv)
{
	blo_broker_settings_t settings;
	struct sigaction sa;
	const char *config = NULL;
	blo_err_t err = {0};
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "blonet-broker: unknown argument \"%s\"\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (config == NULL) {
		usage(stderr);
		return 2;
	}
	blo_log_init("blonet-broker", BLO_LOG_INFO);
	if (blo_broker_settings_load(&settings, config, &err) != 0) {
		blo_error("config.invalid", "%s", err.msg);
		blo_broker_settings_free(&settings);
		return 1;
	}
	blo_log_init("blonet-broker", (blo_log_level_t)settings.log_level);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (blo_broker_open(&running, &settings, &err) != 0) {
		blo_error("broker.start_failed", "%s", err.msg);
		blo_broker_settings_free(&settings);
		return 1;
	}
	blo_broker_settings_free(&settings);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);

	rc = blo_broker_run(running);
	{
		blo_broker_t *b = running;

		running = NULL;
		blo_broker_close(&b);
	}
	return rc == 0 ? 0 : rc == BLO_EREVOKED ? 2 : 1;
}

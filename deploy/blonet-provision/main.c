/*
 * blonet-provision: provisions a whole deployment from a topology file:
 * the authority key, every identity, the signed registry and one config per
 * process. The work is blo_provision_run's; this reads argv and prints.
 */
#include "blo_err.h"
#include "blo_provision.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                            \
	"usage: blonet-provision TOPOLOGY.json --out DIR [--rotate ID]... [--revoke ID]...\n" \
	"                        [--reinstate ID]...\n"

static void usage(FILE *to)
{
	fputs(USAGE
	      "\n"
	      "Makes (or brings up to date) a deployment in DIR from TOPOLOGY.json:\n"
	      "  DIR/authority/authority.secret.json   the regional authority key (0600)\n"
	      "  DIR/registry.json                     the signed registry\n"
	      "  DIR/ID/identity.secret.json           each broker's and principal's key (0600)\n"
	      "  DIR/ID/config.json                    each process's configuration\n"
	      "Re-running keeps every existing key and bumps the registry version only when\n"
	      "its content changes. A listen endpoint with port 0 gets a free port, kept on\n"
	      "later runs. The topology format is described in deploy/TOPOLOGY.md.\n"
	      "\n"
	      "  --out DIR        where the deployment goes (required)\n"
	      "  --rotate ID      replace ID's keys with new ones\n"
	      "  --revoke ID      mark ID revoked in the registry (its entry stays)\n"
	      "  --reinstate ID   lift an earlier revocation of ID\n"
	      "  --help           this text\n"
	      "Exits 0 on success, 1 on any error (the message names file, entry and field).\n",
	      to);
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* Appends id to a growing list. */
static int push(const char ***list, size_t *n, const char *id)
{
	const char **v = realloc(*list, (*n + 1) * sizeof(**list));

	if (v == NULL)
		return -1;
	v[(*n)++] = id;
	*list = v;
	return 0;
}

int main(int argc, char **argv)
{
	const char **rotate = NULL, **revoke = NULL, **reinstate = NULL;
	const char *topology = NULL, *out = NULL;
	blo_provision_opts_t opts = {0};
	blo_provision_report_t report;
	blo_err_t err = {0};
	int status = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			status = 0;
			goto done;
		}
		if (strncmp(a, "--out=", 6) == 0) {
			out = a + 6;
			continue;
		}
		if (strcmp(a, "--out") == 0 || strcmp(a, "--rotate") == 0 ||
		    strcmp(a, "--revoke") == 0 || strcmp(a, "--reinstate") == 0) {
			if (value == NULL || value[0] == '\0') {
				fprintf(stderr, "blonet-provision: %s needs a value\n", a);
				goto usage_error;
			}
			i++;
			if (strcmp(a, "--out") == 0)
				out = value;
			else if (strcmp(a, "--rotate") == 0)
				rc = push(&rotate, &opts.n_rotate, value);
			else if (strcmp(a, "--revoke") == 0)
				rc = push(&revoke, &opts.n_revoke, value);
			else
				rc = push(&reinstate, &opts.n_reinstate, value);
			if (rc != 0) {
				fprintf(stderr, "blonet-provision: out of memory\n");
				goto done;
			}
			continue;
		}
		if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "blonet-provision: unknown option %s\n", a);
			goto usage_error;
		}
		if (topology != NULL) {
			fprintf(stderr, "blonet-provision: one topology file only (%s and %s)\n",
				topology, a);
			goto usage_error;
		}
		topology = a;
	}
	if (topology == NULL || out == NULL || out[0] == '\0') {
		fprintf(stderr, "blonet-provision: %s\n",
			topology == NULL ? "no topology file given" : "--out DIR is required");
		goto usage_error;
	}

	opts.rotate = rotate;
	opts.revoke = revoke;
	opts.reinstate = reinstate;
	if (blo_provision_run(topology, out, &opts, &report, &err) != 0) {
		fprintf(stderr, "blonet-provision: %s\n", err.msg);
		goto done;
	}
	printf("%s: %zu broker%s, %zu principal%s\n", report.name, report.n_brokers,
	       plural(report.n_brokers), report.n_principals, plural(report.n_principals));
	printf("identities: %zu new, %zu rotated, %zu kept; %zu revoked in the registry\n",
	       report.n_generated - report.n_rotated, report.n_rotated,
	       report.n_brokers + report.n_principals - report.n_generated, report.n_revoked);
	printf("registry: %s/registry.json version %" PRIu64 " (%s)\n", out,
	       report.registry_version, report.registry_changed ? "written" : "unchanged");
	printf("authority: %s/authority/authority.public.json%s\n", out,
	       report.authority_generated ? " (new key)" : "");
	printf("configs: %s/ID/config.json for each broker and principal", out);
	if (report.n_ports_picked > 0)
		printf(" (%zu free port%s picked)", report.n_ports_picked,
		       plural(report.n_ports_picked));
	printf("\n");
	status = 0;
	goto done;

usage_error:
	fputs(USAGE "(--help for more)\n", stderr);
done:
	free(rotate);
	free(revoke);
	free(reinstate);
	return status;
}

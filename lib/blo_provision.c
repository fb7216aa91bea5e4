/*
 * blo_provision: reads and validates a topology file, then keeps or makes
 * the authority key and every identity, picks free ports for "port 0"
 * endpoints, signs the registry and writes one config per process.
 * The topology format is documented field by field in deploy/TOPOLOGY.md.
 */
#include "blo_provision.h"

#include "blo_codec.h"
#include "blo_identity.h"
#include "blo_registry.h"
#include "blo_settings.h"
#include "blo_util.h"

#include <arpa/inet.h>
#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOPOLOGY_MAX_BYTES (4u * 1024u * 1024u)
#define AUTHORITY_ID "authority"
#define AUTHORITY_DIR "authority"
#define REGISTRY_FILE "registry.json"
#define CONFIG_FILE "config.json"
#define SECRET_FILE "identity.secret.json"
#define PUBLIC_FILE "identity.public.json"
#define DATA_DIR "data"
#define HOST_MAX 256
/* How many free ports to try before giving up on one distinct from those
 * already in the deployment. */
#define PICK_ATTEMPTS 64
#define SHOW_MAX 64
#define SHOW_BUF (2 * SHOW_MAX + 4)

/* ---------------------------------------------------------------- types */

/* A ZeroMQ endpoint of the topology: tcp://HOST:PORT or ipc://PATH. */
typedef struct {
	bool tcp;
	char host[HOST_MAX]; /* tcp: as written ("127.0.0.1", "*", "[::1]") */
	int port;            /* tcp: 1..65535, or 0: pick a free port */
	const char *raw;     /* the text as written; borrowed from the topology */
} endpoint_t;

/* A broker or a principal. Strings are borrowed from the parsed topology. */
typedef struct node {
	const char *list; /* "brokers" or "principals" */
	size_t index;     /* in that list */
	char what[160];   /* "principals[3] (\"th-customs-maesai\")", for messages */
	const char *id;
	blo_role_t role;
	const char *country;
	const char *agency; /* an AgencyKind name */
	const char *site;   /* "" when none */
	const char *log_level; /* NULL: the program's default */
	struct node *broker;   /* principals: the broker they connect to */

	/* brokers only */
	endpoint_t *listen;
	size_t n_listen;
	bool has_endpoint;
	endpoint_t endpoint; /* given "endpoint", else a copy of listen[0] */
	const cJSON *journal, *audit, *limits;
	struct node **peers;
	size_t n_peers;

	/* the run */
	blo_identity_t *identity;
	bool generated, rotated, revoked, public_stale;
	char *config_text;
} node_t;

typedef struct {
	const char *path; /* of the topology, first in every message */
	blo_err_t *err;
	cJSON *root;
	const char *name;
	node_t *nodes; /* brokers first, then principals */
	size_t n_nodes, n_brokers;
	const cJSON *operations; /* NULL or a validated array */
} topo_t;

/* ---------------------------------------------------------------- messages */

/* A short printable copy of text from the file, for messages: quotes and
 * backslashes escaped, control bytes as '?', long text cut with "...", so a
 * hostile file cannot drive a terminal or flood a log. */
static const char *show(char buf[SHOW_BUF], const char *s)
{
	size_t i, o = 0;

	for (i = 0; s[i] != '\0' && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf[o++] = '\\';
		buf[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	buf[o] = '\0';
	if (s[i] != '\0')
		memcpy(buf + o, "...", 4);
	return buf;
}

static const char *kind_of(const cJSON *item)
{
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsBool(item))
		return "true or false";
	if (cJSON_IsNull(item))
		return "null";
	if (cJSON_IsArray(item))
		return "a list";
	if (cJSON_IsObject(item))
		return "an object";
	return "a value of unknown kind";
}

/* What was found where a non-empty list was expected. */
static const char *found(const cJSON *item)
{
	if (item == NULL)
		return "nothing";
	if (cJSON_IsArray(item) && item->child == NULL)
		return "an empty list";
	return kind_of(item);
}

/* "PATH: WHAT: field "FIELD": BODY"; what and field may be NULL. */
static int fail(const topo_t *t, const char *what, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(const topo_t *t, const char *what, const char *field, const char *fmt, ...)
{
	char body[sizeof(t->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	return blo_err_set(t->err, BLO_ECONFIG, "%s: %s%s%s%s%s%s", t->path, what ? what : "",
			   what ? ": " : "", field ? "field \"" : "", field ? field : "",
			   field ? "\": " : "", body);
}

static int nomem(const topo_t *t)
{
	return blo_err_set(t->err, BLO_ENOMEM, "%s: out of memory", t->path);
}

static void describe(char *out, size_t outsz, const char *list, size_t i, const char *id)
{
	char shown[SHOW_BUF];

	if (id != NULL)
		snprintf(out, outsz, "%s[%zu] (\"%s\")", list, i, show(shown, id));
	else
		snprintf(out, outsz, "%s[%zu]", list, i);
}

static size_t line_of(const char *text, size_t pos)
{
	size_t line = 1;

	for (size_t i = 0; i < pos; i++)
		line += text[i] == '\n';
	return line;
}

/* ---------------------------------------------------------------- JSON helpers */

/* Refuses keys of obj not in allowed (NULL-terminated) and keys given twice. */
static int check_keys(const topo_t *t, const cJSON *obj, const char *const *allowed,
		      const char *what)
{
	const cJSON *a, *b;

	cJSON_ArrayForEach(a, obj)
	{
		char shown[SHOW_BUF];
		char known[256] = "";
		size_t i;

		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(a->string, allowed[i]) == 0)
				break;
		}
		if (allowed[i] == NULL) {
			for (size_t k = 0; allowed[k] != NULL; k++) {
				if (k > 0)
					strncat(known, ", ", sizeof(known) - strlen(known) - 1);
				strncat(known, allowed[k], sizeof(known) - strlen(known) - 1);
			}
			return fail(t, what, NULL, "unknown field \"%s\" (known: %s)",
				    show(shown, a->string), known);
		}
		for (b = obj->child; b != a; b = b->next) {
			if (strcmp(a->string, b->string) == 0)
				return fail(t, what, a->string, "given twice");
		}
	}
	return 0;
}

/* *out = the string at key, or NULL when absent and not required. */
static int get_string(const topo_t *t, const cJSON *obj, const char *key, const char *what,
		      bool required, const char *expect, const char **out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (item == NULL) {
		if (required)
			return fail(t, what, key, "missing: expected %s", expect);
		return 0;
	}
	if (!cJSON_IsString(item))
		return fail(t, what, key, "expected %s, got %s", expect, kind_of(item));
	*out = item->valuestring;
	return 0;
}

/* ---------------------------------------------------------------- endpoints */

static bool is_wildcard_host(const char *host)
{
	return strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "[::]") == 0;
}

/* Parses tcp://HOST:PORT (PORT 0 or "*": pick one) or ipc://PATH. On
 * failure why says what is wrong. */
static bool endpoint_parse(endpoint_t *ep, const char *text, char *why, size_t whysz)
{
	const char *rest, *colon;
	char *end = NULL;
	long port;

	memset(ep, 0, sizeof(*ep));
	ep->raw = text;
	if (strncmp(text, "ipc://", 6) == 0) {
		if (text[6] == '\0') {
			snprintf(why, whysz, "an ipc:// endpoint needs a path");
			return false;
		}
		return true;
	}
	if (strncmp(text, "tcp://", 6) != 0) {
		snprintf(why, whysz, "expected tcp://HOST:PORT or ipc://PATH");
		return false;
	}
	ep->tcp = true;
	rest = text + 6;
	colon = strrchr(rest, ':');
	if (colon == NULL || colon == rest || (size_t)(colon - rest) >= sizeof(ep->host)) {
		snprintf(why, whysz, "expected tcp://HOST:PORT");
		return false;
	}
	if (rest[0] == '[' && colon[-1] != ']') {
		snprintf(why, whysz, "an IPv6 address goes in brackets: tcp://[::1]:7400");
		return false;
	}
	memcpy(ep->host, rest, (size_t)(colon - rest));
	ep->host[colon - rest] = '\0';
	if (strpbrk(ep->host, "/;, \t") != NULL) {
		snprintf(why, whysz, "expected tcp://HOST:PORT");
		return false;
	}
	if (strcmp(colon + 1, "*") == 0) {
		ep->port = 0;
		return true;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port < 0 ||
	    port > 65535) {
		snprintf(why, whysz, "the port must be a number from 0 to 65535 (0: pick a free one)");
		return false;
	}
	ep->port = (int)port;
	return true;
}

/* The endpoint's text with its concrete port; caller frees. */
static char *endpoint_text(const endpoint_t *ep)
{
	char *s = NULL;

	if (!ep->tcp)
		return strdup(ep->raw);
	if (asprintf(&s, "tcp://%s:%d", ep->host, ep->port) < 0)
		return NULL;
	return s;
}

/* ---------------------------------------------------------------- topology */

static const char *const top_keys[] = {"name", "brokers", "links", "principals", "operations",
				       NULL};
static const char *const broker_keys[] = {"id", "country", "listen", "endpoint", "agency",
					  "journal", "audit", "limits", "log_level", NULL};
static const char *const principal_keys[] = {"id", "role", "country", "agency", "site",
					     "broker", "log_level", NULL};
static const char *const operation_keys[] = {"code", "members", NULL};

static node_t *find_node(const topo_t *t, const char *id)
{
	for (size_t i = 0; i < t->n_nodes; i++) {
		if (t->nodes[i].id != NULL && strcmp(t->nodes[i].id, id) == 0)
			return &t->nodes[i];
	}
	return NULL;
}

static int read_id(const topo_t *t, node_t *n, const cJSON *obj)
{
	char shown[SHOW_BUF];
	const node_t *other;
	int rc;

	if ((rc = get_string(t, obj, "id", n->what, true, "a principal id such as \"th-broker\"",
			     &n->id)) != 0)
		return rc;
	describe(n->what, sizeof(n->what), n->list, n->index, n->id);
	if (!blo_principal_id_is_valid(n->id))
		return fail(t, n->what, "id",
			    "\"%s\" is not a principal id (1-63 of A-Z a-z 0-9 . _ -, starting "
			    "with a letter or digit)",
			    show(shown, n->id));
	if (strcmp(n->id, AUTHORITY_ID) == 0 || strcmp(n->id, REGISTRY_FILE) == 0)
		return fail(t, n->what, "id", "\"%s\" is reserved: the output folder uses the name",
			    n->id);
	for (other = t->nodes; other < n; other++) {
		if (strcmp(other->id, n->id) == 0)
			return fail(t, n->what, "id", "\"%s\" is already the id of %s", n->id,
				    other->what);
	}
	return 0;
}

static int read_country(const topo_t *t, node_t *n, const cJSON *obj)
{
	char shown[SHOW_BUF];
	int rc;

	if ((rc = get_string(t, obj, "country", n->what, true,
			     "an ISO 3166 alpha-2 country code such as \"TH\"", &n->country)) != 0)
		return rc;
	if (strlen(n->country) != 2 || !blo_country_is_valid(n->country))
		return fail(t, n->what, "country",
			    "\"%s\" is not an ISO 3166 alpha-2 country code (upper case, e.g. \"TH\")",
			    show(shown, n->country));
	return 0;
}

/* Reads "agency"; absent: dflt, or an error when dflt is NULL. */
static int read_agency(const topo_t *t, node_t *n, const cJSON *obj, const char *dflt,
		       const char *why_required)
{
	const ProtobufCEnumDescriptor *d = &blonet__agency_kind__descriptor;
	const ProtobufCEnumValue *v;
	char shown[SHOW_BUF];
	char names[256] = "";
	int rc;

	if ((rc = get_string(t, obj, "agency", n->what, dflt == NULL,
			     why_required != NULL ? why_required
						  : "an AgencyKind name such as \"CUSTOMS\"",
			     &n->agency)) != 0)
		return rc;
	if (n->agency == NULL) {
		n->agency = dflt;
		return 0;
	}
	v = protobuf_c_enum_descriptor_get_value_by_name(d, n->agency);
	if (v != NULL && v->value != BLONET__AGENCY_KIND__AGENCY_UNSPECIFIED)
		return 0;
	for (unsigned i = 0; i < d->n_values; i++) {
		if (d->values[i].value == BLONET__AGENCY_KIND__AGENCY_UNSPECIFIED)
			continue;
		if (names[0] != '\0')
			strncat(names, ", ", sizeof(names) - strlen(names) - 1);
		strncat(names, d->values[i].name, sizeof(names) - strlen(names) - 1);
	}
	return fail(t, n->what, "agency", "\"%s\" is not an agency (one of %s)",
		    show(shown, n->agency), names);
}

static int read_log_level(const topo_t *t, node_t *n, const cJSON *obj)
{
	char shown[SHOW_BUF];
	int rc;

	if ((rc = get_string(t, obj, "log_level", n->what, false, "debug, info, warn or error",
			     &n->log_level)) != 0 ||
	    n->log_level == NULL)
		return rc;
	for (size_t i = 0; blo_log_level_names[i] != NULL; i++) {
		if (strcmp(n->log_level, blo_log_level_names[i]) == 0)
			return 0;
	}
	return fail(t, n->what, "log_level", "\"%s\" is not one of debug, info, warn, error",
		    show(shown, n->log_level));
}

static int read_listen(const topo_t *t, node_t *n, const cJSON *obj)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "listen");
	const cJSON *e;
	size_t count;

	if (item == NULL)
		return fail(t, n->what, "listen",
			    "missing: a broker listens on at least one endpoint, e.g. "
			    "\"tcp://0.0.0.0:7400\" (port 0: pick a free port)");
	if (!cJSON_IsString(item) && !cJSON_IsArray(item))
		return fail(t, n->what, "listen", "expected an endpoint or a list of them, got %s",
			    kind_of(item));
	count = cJSON_IsString(item) ? 1 : (size_t)cJSON_GetArraySize(item);
	if (count == 0)
		return fail(t, n->what, "listen", "the list is empty: a broker listens on at least "
						  "one endpoint");
	n->listen = calloc(count, sizeof(*n->listen));
	if (n->listen == NULL)
		return nomem(t);
	if (cJSON_IsString(item)) {
		char why[128], shown[SHOW_BUF];

		if (!endpoint_parse(&n->listen[0], item->valuestring, why, sizeof(why)))
			return fail(t, n->what, "listen", "\"%s\": %s",
				    show(shown, item->valuestring), why);
		n->n_listen = 1;
		return 0;
	}
	cJSON_ArrayForEach(e, item)
	{
		char field[32], why[128], shown[SHOW_BUF];

		snprintf(field, sizeof(field), "listen[%zu]", n->n_listen);
		if (!cJSON_IsString(e))
			return fail(t, n->what, field, "expected an endpoint, got %s", kind_of(e));
		if (!endpoint_parse(&n->listen[n->n_listen], e->valuestring, why, sizeof(why)))
			return fail(t, n->what, field, "\"%s\": %s", show(shown, e->valuestring),
				    why);
		for (size_t k = 0; k < n->n_listen; k++) {
			if (strcmp(n->listen[k].raw, e->valuestring) == 0 &&
			    (!n->listen[k].tcp || n->listen[k].port != 0))
				return fail(t, n->what, field, "\"%s\" is listed twice",
					    show(shown, e->valuestring));
		}
		n->n_listen++;
	}
	return 0;
}

/* Where peers and clients connect: "endpoint", else the first listen
 * endpoint, which must then be an address others can reach. */
static int read_endpoint(const topo_t *t, node_t *n, const cJSON *obj)
{
	char why[128], shown[SHOW_BUF];
	const char *text;
	int rc;

	if ((rc = get_string(t, obj, "endpoint", n->what, false,
			     "the endpoint peers and clients connect to", &text)) != 0)
		return rc;
	if (text == NULL) {
		n->endpoint = n->listen[0];
		if (n->endpoint.tcp && is_wildcard_host(n->endpoint.host))
			return fail(t, n->what, "endpoint",
				    "missing: the first listen endpoint \"%s\" binds every "
				    "interface, so give the address peers and clients connect to, "
				    "e.g. \"tcp://203.0.113.7:7400\"",
				    show(shown, n->listen[0].raw));
		return 0;
	}
	n->has_endpoint = true;
	if (!endpoint_parse(&n->endpoint, text, why, sizeof(why)))
		return fail(t, n->what, "endpoint", "\"%s\": %s", show(shown, text), why);
	if (n->endpoint.tcp && is_wildcard_host(n->endpoint.host))
		return fail(t, n->what, "endpoint",
			    "\"%s\" is a wildcard address: give one peers and clients can connect to",
			    show(shown, text));
	if (n->endpoint.tcp && n->endpoint.port == 0 && !n->listen[0].tcp)
		return fail(t, n->what, "endpoint",
			    "port 0 means the port of the first listen endpoint, which is not tcp://");
	return 0;
}

/* A section copied into the broker's config as it is (its own loader
 * checks it, see check_configs): absent, or an object. */
static int read_section(topo_t *t, const node_t *n, const cJSON *obj, const char *key,
			const char *example, const cJSON **out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (item != NULL && !cJSON_IsObject(item))
		return fail(t, n->what, key, "expected an object such as %s, got %s", example,
			    kind_of(item));
	*out = item;
	return 0;
}

static int read_broker(topo_t *t, node_t *n, const cJSON *obj)
{
	int rc;

	if (!cJSON_IsObject(obj))
		return fail(t, n->what, NULL, "expected an object, got %s", kind_of(obj));
	if ((rc = read_id(t, n, obj)) != 0 || (rc = check_keys(t, obj, broker_keys, n->what)) != 0 ||
	    (rc = read_country(t, n, obj)) != 0 ||
	    (rc = read_agency(t, n, obj, "COORDINATION", NULL)) != 0 ||
	    (rc = read_listen(t, n, obj)) != 0 || (rc = read_endpoint(t, n, obj)) != 0 ||
	    (rc = read_log_level(t, n, obj)) != 0)
		return rc;
	n->role = BLO_ROLE_BROKER;
	n->site = "";
	if ((rc = read_section(t, n, obj, "journal", "{\"map_size_mb\": 1024}", &n->journal)) != 0 ||
	    (rc = read_section(t, n, obj, "audit", "{\"max_age_hours\": 720}", &n->audit)) != 0 ||
	    (rc = read_section(t, n, obj, "limits", "{\"max_in_flight\": 256}", &n->limits)) != 0)
		return rc;
	n->peers = calloc(t->n_brokers, sizeof(*n->peers));
	if (n->peers == NULL)
		return nomem(t);
	return 0;
}

static int read_principal(topo_t *t, node_t *n, const cJSON *obj)
{
	char shown[SHOW_BUF];
	const char *role, *broker;
	bool sited;
	int rc;

	if (!cJSON_IsObject(obj))
		return fail(t, n->what, NULL, "expected an object, got %s", kind_of(obj));
	if ((rc = read_id(t, n, obj)) != 0 ||
	    (rc = check_keys(t, obj, principal_keys, n->what)) != 0)
		return rc;
	if ((rc = get_string(t, obj, "role", n->what, true,
			     "one of agent, console, committee, admin", &role)) != 0)
		return rc;
	n->role = blo_role_parse(role);
	if (n->role == BLO_ROLE_BROKER)
		return fail(t, n->what, "role",
			    "brokers are listed under \"brokers\", not \"principals\"");
	if (n->role == BLO_ROLE_NONE)
		return fail(t, n->what, "role",
			    "\"%s\" is not a role (one of agent, console, committee, admin)",
			    show(shown, role));
	if ((rc = read_country(t, n, obj)) != 0)
		return rc;
	if (n->role == BLO_ROLE_AGENT)
		rc = read_agency(t, n, obj, NULL,
				 "the agency an agent publishes for, e.g. \"CUSTOMS\"");
	else
		rc = read_agency(t, n, obj, "COORDINATION", NULL);
	if (rc != 0)
		return rc;

	sited = n->role == BLO_ROLE_AGENT || n->role == BLO_ROLE_CONSOLE;
	if ((rc = get_string(t, obj, "site", n->what, sited,
			     "the BLO it works at, e.g. \"TH-MAESAI\"", &n->site)) != 0)
		return rc;
	if (n->site == NULL)
		n->site = "";
	if (sited && n->site[0] == '\0')
		return fail(t, n->what, "site",
			    "empty: an agent or a console works at a site (a BLO id such as "
			    "\"TH-MAESAI\")");
	if (n->site[0] != '\0' && !blo_principal_id_is_valid(n->site))
		return fail(t, n->what, "site",
			    "\"%s\" is not a site id (1-63 of A-Z a-z 0-9 . _ -, starting with a "
			    "letter or digit)",
			    show(shown, n->site));
	for (const node_t *o = t->nodes + t->n_brokers; o < n; o++) {
		if (strcmp(o->site, n->site) == 0 && n->site[0] != '\0' &&
		    strcmp(o->country, n->country) != 0)
			return fail(t, n->what, "site",
				    "\"%s\" is a site in %s (%s): a site belongs to one country",
				    n->site, o->country, o->what);
	}

	if ((rc = get_string(t, obj, "broker", n->what, true,
			     "the id of the broker it connects to", &broker)) != 0)
		return rc;
	for (size_t i = 0; i < t->n_brokers; i++) {
		if (strcmp(t->nodes[i].id, broker) == 0)
			n->broker = &t->nodes[i];
	}
	if (n->broker == NULL) {
		bool principal = false;

		for (const node_t *o = t->nodes + t->n_brokers; o < n; o++)
			principal = principal || strcmp(o->id, broker) == 0;
		return fail(t, n->what, "broker", "\"%s\" is %s", show(shown, broker),
			    principal ? "a principal, not a broker"
				      : "not a broker of the topology");
	}
	if (strcmp(n->broker->country, n->country) != 0)
		return fail(t, n->what, "broker", "\"%s\" is in %s, not in the principal's country %s",
			    broker, n->broker->country, n->country);
	return read_log_level(t, n, obj);
}

/* A pair of broker ids; each becomes the other's peer. */
static int read_links(topo_t *t, const cJSON *links)
{
	const cJSON *link;
	size_t i = 0;

	cJSON_ArrayForEach(link, links)
	{
		char what[32], shown[SHOW_BUF];
		node_t *ends[2];
		const cJSON *e;
		size_t k = 0;

		snprintf(what, sizeof(what), "links[%zu]", i);
		if (!cJSON_IsArray(link) || cJSON_GetArraySize(link) != 2)
			return fail(t, what, NULL,
				    "expected a pair of broker ids such as [\"th-broker\", "
				    "\"la-broker\"], got %s",
				    cJSON_IsArray(link) ? "a list of another length" : kind_of(link));
		cJSON_ArrayForEach(e, link)
		{
			if (!cJSON_IsString(e))
				return fail(t, what, NULL, "expected a broker id, got %s", kind_of(e));
			ends[k] = find_node(t, e->valuestring);
			if (ends[k] == NULL || ends[k]->role != BLO_ROLE_BROKER)
				return fail(t, what, NULL, "\"%s\" is %s", show(shown, e->valuestring),
					    ends[k] == NULL ? "not a broker of the topology"
							    : "a principal, not a broker");
			k++;
		}
		if (ends[0] == ends[1])
			return fail(t, what, NULL, "links \"%s\" to itself", ends[0]->id);
		for (size_t p = 0; p < ends[0]->n_peers; p++) {
			if (ends[0]->peers[p] == ends[1])
				return fail(t, what, NULL, "\"%s\" and \"%s\" are already linked",
					    ends[0]->id, ends[1]->id);
		}
		ends[0]->peers[ends[0]->n_peers++] = ends[1];
		ends[1]->peers[ends[1]->n_peers++] = ends[0];
		i++;
	}
	return 0;
}

static int read_operations(topo_t *t, const cJSON *ops)
{
	const cJSON *op;
	size_t i = 0;
	int rc;

	cJSON_ArrayForEach(op, ops)
	{
		char what[160], shown[SHOW_BUF];
		const cJSON *members, *m, *o;
		const char *code;
		size_t k = 0;

		describe(what, sizeof(what), "operations", i, NULL);
		if (!cJSON_IsObject(op))
			return fail(t, what, NULL, "expected an object, got %s", kind_of(op));
		if ((rc = get_string(t, op, "code", what, true,
				     "an operation code such as \"OP-MEKONG-26\"", &code)) != 0)
			return rc;
		describe(what, sizeof(what), "operations", i, code);
		if ((rc = check_keys(t, op, operation_keys, what)) != 0)
			return rc;
		if (!blo_principal_id_is_valid(code))
			return fail(t, what, "code",
				    "\"%s\" is not an operation code (1-63 of A-Z a-z 0-9 . _ -, "
				    "starting with a letter or digit)",
				    show(shown, code));
		for (o = ops->child; o != op; o = o->next) {
			const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "code");

			if (strcmp(c->valuestring, code) == 0)
				return fail(t, what, "code", "\"%s\" is listed twice", code);
		}
		members = cJSON_GetObjectItemCaseSensitive(op, "members");
		if (members == NULL || !cJSON_IsArray(members) || members->child == NULL)
			return fail(t, what, "members",
				    "expected a non-empty list of principal ids, got %s",
				    found(members));
		cJSON_ArrayForEach(m, members)
		{
			char field[32];

			snprintf(field, sizeof(field), "members[%zu]", k);
			if (!cJSON_IsString(m))
				return fail(t, what, field, "expected a principal id, got %s",
					    kind_of(m));
			if (find_node(t, m->valuestring) == NULL)
				return fail(t, what, field,
					    "\"%s\" is not a broker or principal of the topology",
					    show(shown, m->valuestring));
			for (const cJSON *p = members->child; p != m; p = p->next) {
				if (strcmp(p->valuestring, m->valuestring) == 0)
					return fail(t, what, field, "\"%s\" is listed twice",
						    m->valuestring);
			}
			k++;
		}
		i++;
	}
	t->operations = ops;
	return 0;
}

/* Fixed tcp endpoints (not port 0) may be bound by one broker only. */
static int check_listen_unique(const topo_t *t)
{
	for (size_t i = 0; i < t->n_brokers; i++) {
		const node_t *a = &t->nodes[i];

		for (size_t j = 0; j < i; j++) {
			const node_t *b = &t->nodes[j];

			for (size_t x = 0; x < a->n_listen; x++) {
				for (size_t y = 0; y < b->n_listen; y++) {
					if (a->listen[x].tcp && a->listen[x].port == 0)
						continue;
					if (strcmp(a->listen[x].raw, b->listen[y].raw) == 0)
						return fail(t, a->what, "listen",
							    "\"%s\" is also where %s listens",
							    a->listen[x].raw, b->what);
				}
			}
		}
	}
	return 0;
}

static int topo_parse(topo_t *t)
{
	const cJSON *brokers, *principals, *links, *ops, *item;
	const char *parse_end = NULL;
	char *text = NULL;
	size_t len = 0, pos, i;
	int rc;

	rc = blo_read_file(t->path, TOPOLOGY_MAX_BYTES, &text, &len);
	if (rc != 0)
		return blo_err_set(t->err, rc, "%s: cannot read: %s", t->path, blo_strerror(rc));
	if (memchr(text, '\0', len) != NULL) {
		rc = fail(t, NULL, NULL, "line %zu: NUL byte: a topology file is text",
			  line_of(text, (size_t)((char *)memchr(text, '\0', len) - text)));
		goto out;
	}
	t->root = cJSON_ParseWithLengthOpts(text, len + 1, &parse_end, false);
	pos = parse_end != NULL && parse_end >= text ? (size_t)(parse_end - text) : 0;
	if (t->root == NULL) {
		char near[24], shown[SHOW_BUF];

		snprintf(near, sizeof(near), "%s", text + (pos < len ? pos : len));
		rc = pos >= len ? fail(t, NULL, NULL, "line %zu: invalid JSON: unexpected end of file",
				       line_of(text, len))
				: fail(t, NULL, NULL, "line %zu: invalid JSON near \"%s\"",
				       line_of(text, pos), show(shown, near));
		goto out;
	}
	while (pos < len && strchr(" \t\r\n", text[pos]) != NULL)
		pos++;
	if (pos < len) {
		rc = fail(t, NULL, NULL, "line %zu: text after the JSON object", line_of(text, pos));
		goto out;
	}
	if (!cJSON_IsObject(t->root)) {
		rc = fail(t, NULL, NULL, "expected a JSON object at the top level, got %s",
			  kind_of(t->root));
		goto out;
	}
	if ((rc = check_keys(t, t->root, top_keys, NULL)) != 0 ||
	    (rc = get_string(t, t->root, "name", NULL, true,
			     "the deployment's name, which the registry carries", &t->name)) != 0)
		goto out;
	if (t->name[0] == '\0') {
		rc = fail(t, NULL, "name", "empty: the registry needs a name");
		goto out;
	}

	brokers = cJSON_GetObjectItemCaseSensitive(t->root, "brokers");
	principals = cJSON_GetObjectItemCaseSensitive(t->root, "principals");
	links = cJSON_GetObjectItemCaseSensitive(t->root, "links");
	ops = cJSON_GetObjectItemCaseSensitive(t->root, "operations");
	if (brokers == NULL || !cJSON_IsArray(brokers) || brokers->child == NULL) {
		rc = fail(t, NULL, "brokers", "expected a non-empty list of brokers, got %s",
			  found(brokers));
		goto out;
	}
	if (principals != NULL && !cJSON_IsArray(principals)) {
		rc = fail(t, NULL, "principals", "expected a list, got %s", kind_of(principals));
		goto out;
	}
	if (links != NULL && !cJSON_IsArray(links)) {
		rc = fail(t, NULL, "links", "expected a list of broker pairs, got %s", kind_of(links));
		goto out;
	}
	if (ops != NULL && !cJSON_IsArray(ops)) {
		rc = fail(t, NULL, "operations", "expected a list, got %s", kind_of(ops));
		goto out;
	}

	t->n_brokers = (size_t)cJSON_GetArraySize(brokers);
	t->nodes = calloc(t->n_brokers + (size_t)cJSON_GetArraySize(principals), sizeof(*t->nodes));
	if (t->nodes == NULL) {
		rc = nomem(t);
		goto out;
	}
	i = 0;
	cJSON_ArrayForEach(item, brokers)
	{
		node_t *n = &t->nodes[t->n_nodes++];

		n->list = "brokers";
		n->index = i++;
		describe(n->what, sizeof(n->what), n->list, n->index, NULL);
		if ((rc = read_broker(t, n, item)) != 0)
			goto out;
	}
	i = 0;
	cJSON_ArrayForEach(item, principals)
	{
		node_t *n = &t->nodes[t->n_nodes++];

		n->list = "principals";
		n->index = i++;
		describe(n->what, sizeof(n->what), n->list, n->index, NULL);
		if ((rc = read_principal(t, n, item)) != 0)
			goto out;
	}
	if ((rc = check_listen_unique(t)) != 0)
		goto out;
	if (links != NULL && (rc = read_links(t, links)) != 0)
		goto out;
	if (ops != NULL && (rc = read_operations(t, ops)) != 0)
		goto out;
out:
	free(text);
	return rc;
}

static void topo_free(topo_t *t)
{
	for (size_t i = 0; i < t->n_nodes; i++) {
		free(t->nodes[i].listen);
		free(t->nodes[i].peers);
		free(t->nodes[i].config_text);
		blo_identity_destroy(&t->nodes[i].identity);
	}
	free(t->nodes);
	cJSON_Delete(t->root);
}

/* Every id of a list of opts must be a broker or principal. */
static int check_opt_ids(const topo_t *t, const char *flag, const char *const *ids, size_t n)
{
	char shown[SHOW_BUF];

	for (size_t i = 0; i < n; i++) {
		if (ids[i] == NULL || find_node(t, ids[i]) == NULL)
			return blo_err_set(t->err, BLO_EINVAL,
					   "%s: \"%s\" is not a broker or principal of %s", flag,
					   ids[i] == NULL ? "(null)" : show(shown, ids[i]), t->path);
	}
	return 0;
}

static bool listed(const char *id, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ids[i], id) == 0)
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- files */

static char *join(const char *a, const char *b, const char *c)
{
	char *s = NULL;
	int r = c != NULL ? asprintf(&s, "%s/%s/%s", a, b, c) : asprintf(&s, "%s/%s", a, b);

	return r < 0 ? NULL : s;
}

/* 0: path exists; -ENOENT: it does not; other -errno: cannot tell. */
static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? 0 : -errno;
}

static int make_dir(const char *path, mode_t mode, blo_err_t *err)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return blo_err_set(err, -errno, "%s: cannot make the folder: %s", path,
				   strerror(errno));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return blo_err_set(err, -ENOTDIR, "%s: exists and is not a folder", path);
	return 0;
}

/* mkdir -p, each new folder with mode. */
static int make_dirs(const char *path, mode_t mode, blo_err_t *err)
{
	char *copy = strdup(path);
	int rc = 0;

	if (copy == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	for (char *p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST) {
			rc = blo_err_set(err, -errno, "%s: cannot make the folder: %s", copy,
					 strerror(errno));
			goto out;
		}
		*p = '/';
	}
	rc = make_dir(copy, mode, err);
out:
	free(copy);
	return rc;
}

/* Keeps the identity whose secret file is dir/secret_name, or makes a new
 * one when there is none or fresh is set. */
static int identity_keep_or_make(blo_identity_t **out, const char *id, const char *dir,
				 const char *secret_name, bool fresh, bool *generated,
				 bool *replaced, blo_err_t *err)
{
	char *path = join(dir, secret_name, NULL);
	int rc;

	*generated = *replaced = false;
	if (path == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	rc = exists(path);
	if (rc != 0 && rc != -ENOENT) {
		rc = blo_err_set(err, rc, "%s: %s", path, blo_strerror(rc));
		goto out;
	}
	if (rc == 0 && !fresh) {
		if ((rc = blo_identity_load(out, path, err)) != 0)
			goto out;
		if (strcmp(blo_identity_id(*out), id) != 0) {
			rc = blo_err_set(err, BLO_EKEY, "%s: holds the identity of \"%s\", not \"%s\"",
					 path, blo_identity_id(*out), id);
			blo_identity_destroy(out);
		}
		goto out;
	}
	*replaced = rc == 0;
	*generated = true;
	rc = blo_identity_generate(out, id);
	if (rc != 0)
		blo_err_set(err, rc, "%s: cannot make an identity: %s", id, blo_strerror(rc));
out:
	free(path);
	return rc;
}

/* True if the public file at dir/name is missing or does not match. */
static bool public_is_stale(const blo_identity_t *identity, const char *dir, const char *name)
{
	const blo_public_identity_t *want = blo_identity_public(identity);
	blo_public_identity_t have;
	char *path = join(dir, name, NULL);
	bool stale = true;

	if (path != NULL && blo_identity_load_public(&have, path, NULL) == 0)
		stale = strcmp(have.id, want->id) != 0 ||
			memcmp(have.sign_public, want->sign_public, BLO_SIGN_PUBLIC_BYTES) != 0 ||
			memcmp(have.curve_public, want->curve_public, BLO_CURVE_KEY_BYTES) != 0;
	free(path);
	return stale;
}

static int save_identity(const blo_identity_t *identity, const char *dir, const char *public_name,
			 const char *secret_name, bool with_secret, blo_err_t *err)
{
	char *pub = join(dir, public_name, NULL);
	char *sec = join(dir, secret_name, NULL);
	int rc;

	if (pub == NULL || sec == NULL)
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
	else
		rc = blo_identity_save(identity, pub, with_secret ? sec : NULL, err);
	free(pub);
	free(sec);
	return rc;
}

/* Writes text to path unless the file already holds exactly that. */
static int write_if_changed(const char *path, const char *text, mode_t mode, blo_err_t *err)
{
	size_t len = strlen(text), old_len = 0;
	char *old = NULL;
	struct stat st;
	int rc;

	if (blo_read_file(path, len + 1, &old, &old_len) == 0 && old_len == len &&
	    memcmp(old, text, len) == 0 && stat(path, &st) == 0 && (st.st_mode & 07777) == mode) {
		free(old);
		return 0;
	}
	free(old);
	rc = blo_write_file_atomic(path, text, len, mode);
	if (rc != 0)
		return blo_err_set(err, rc, "%s: cannot write: %s", path, blo_strerror(rc));
	return 0;
}

/* ---------------------------------------------------------------- ports */

/* The port recorded for listen[k] in the broker's existing config, if that
 * entry is the same tcp host with a concrete port; else 0. The old file is
 * read loosely: an unreadable one only means a new port. */
static int recorded_port(const char *config_path, size_t k, const endpoint_t *ep)
{
	const cJSON *listen, *item;
	char *text = NULL;
	size_t len = 0;
	cJSON *root;
	endpoint_t old;
	char why[128];
	int port = 0;

	if (blo_read_file(config_path, BLO_CONFIG_MAX_BYTES, &text, &len) != 0)
		return 0;
	root = cJSON_ParseWithLength(text, len);
	listen = cJSON_GetObjectItemCaseSensitive(root, "listen");
	item = cJSON_IsArray(listen) ? cJSON_GetArrayItem(listen, (int)k) : NULL;
	if (cJSON_IsString(item) && endpoint_parse(&old, item->valuestring, why, sizeof(why)) &&
	    old.tcp && old.port > 0 && strcmp(old.host, ep->host) == 0)
		port = old.port;
	cJSON_Delete(root);
	free(text);
	return port;
}

typedef struct {
	int *fds;
	size_t n, cap;
	int *taken; /* ports in use by the deployment */
	size_t n_taken, cap_taken;
} port_picker_t;

static bool push_int(int **v, size_t *n, size_t *cap, int x)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		int *nv = realloc(*v, c * sizeof(**v));

		if (nv == NULL)
			return false;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return true;
}

static bool port_taken(const port_picker_t *pp, int port)
{
	for (size_t i = 0; i < pp->n_taken; i++) {
		if (pp->taken[i] == port)
			return true;
	}
	return false;
}

/* Binds a TCP socket to host:0 and reads the port the kernel chose. The
 * socket stays open (in pp) until every port is picked, so two picks never
 * get the same port; a port the deployment already uses is passed over. */
static int pick_port(port_picker_t *pp, const char *host, int *port, char *why, size_t whysz)
{
	struct addrinfo hints, *ai = NULL;
	char bare[HOST_MAX];
	size_t hl = strlen(host);
	int r;

	if (strcmp(host, "*") == 0)
		snprintf(bare, sizeof(bare), "0.0.0.0");
	else if (strcmp(host, "localhost") == 0)
		snprintf(bare, sizeof(bare), "127.0.0.1");
	else if (host[0] == '[' && hl >= 2)
		snprintf(bare, sizeof(bare), "%.*s", (int)(hl - 2), host + 1);
	else
		snprintf(bare, sizeof(bare), "%s", host);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	if ((r = getaddrinfo(bare, "0", &hints, &ai)) != 0) {
		snprintf(why, whysz,
			 "port 0 needs a numeric address (or * or localhost) to pick a port on");
		return BLO_ECONFIG;
	}
	for (int attempt = 0; attempt < PICK_ATTEMPTS; attempt++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
			snprintf(why, whysz, "cannot pick a free port on %s: %s", host,
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			freeaddrinfo(ai);
			return BLO_ECONFIG;
		}
		if (!push_int(&pp->fds, &pp->n, &pp->cap, fd)) {
			close(fd);
			freeaddrinfo(ai);
			return BLO_ENOMEM;
		}
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
		if (!port_taken(pp, *port)) {
			freeaddrinfo(ai);
			return push_int(&pp->taken, &pp->n_taken, &pp->cap_taken, *port) ? 0 : BLO_ENOMEM;
		}
	}
	freeaddrinfo(ai);
	snprintf(why, whysz, "no free port on %s after %d tries", host, PICK_ATTEMPTS);
	return BLO_ECONFIG;
}

/* Makes every tcp port of every broker concrete: ports given stay, port 0
 * takes the port recorded in the broker's config.json, else a free one. */
static int assign_ports(topo_t *t, const char *out_dir, size_t *picked)
{
	port_picker_t pp = {0};
	int rc = 0;

	*picked = 0;
	/* Fixed and recorded ports first, so a new pick avoids them all. */
	for (size_t i = 0; i < t->n_brokers; i++) {
		node_t *n = &t->nodes[i];
		char *config = join(out_dir, n->id, CONFIG_FILE);

		if (config == NULL) {
			rc = nomem(t);
			goto out;
		}
		for (size_t k = 0; k < n->n_listen; k++) {
			endpoint_t *ep = &n->listen[k];

			if (ep->tcp && ep->port == 0)
				ep->port = recorded_port(config, k, ep);
			if (ep->tcp && ep->port != 0 &&
			    !push_int(&pp.taken, &pp.n_taken, &pp.cap_taken, ep->port)) {
				free(config);
				rc = nomem(t);
				goto out;
			}
		}
		free(config);
	}
	for (size_t i = 0; i < t->n_brokers; i++) {
		node_t *n = &t->nodes[i];

		for (size_t k = 0; k < n->n_listen; k++) {
			endpoint_t *ep = &n->listen[k];
			char why[192], field[32];

			if (!ep->tcp || ep->port != 0)
				continue;
			rc = pick_port(&pp, ep->host, &ep->port, why, sizeof(why));
			if (rc == BLO_ENOMEM) {
				rc = nomem(t);
				goto out;
			}
			if (rc != 0) {
				if (n->n_listen == 1)
					snprintf(field, sizeof(field), "listen");
				else
					snprintf(field, sizeof(field), "listen[%zu]", k);
				rc = fail(t, n->what, field, "\"%s\": %s", ep->raw, why);
				goto out;
			}
			(*picked)++;
		}
		/* Where others connect: the first listen endpoint, or the given
		 * endpoint whose port 0 means the first listen endpoint's port. */
		if (!n->has_endpoint)
			n->endpoint = n->listen[0];
		else if (n->endpoint.tcp && n->endpoint.port == 0)
			n->endpoint.port = n->listen[0].port;
	}
out:
	for (size_t i = 0; i < pp.n; i++)
		close(pp.fds[i]);
	free(pp.fds);
	free(pp.taken);
	return rc;
}

/* ---------------------------------------------------------------- registry */

static int add_string(cJSON *obj, const char *key, const char *value)
{
	return cJSON_AddStringToObject(obj, key, value) != NULL ? 0 : BLO_ENOMEM;
}

static int principal_json(cJSON *list, const node_t *n)
{
	const blo_public_identity_t *pub = blo_identity_public(n->identity);
	char hex[2 * BLO_SIGN_PUBLIC_BYTES + 1], z85[BLO_Z85_KEY_CHARS + 1];
	cJSON *p = cJSON_CreateObject();

	if (p == NULL || !cJSON_AddItemToArray(list, p))
		return cJSON_Delete(p), BLO_ENOMEM;
	blo_hex_encode(hex, sizeof(hex), pub->sign_public, BLO_SIGN_PUBLIC_BYTES);
	blo_z85_encode_key(z85, pub->curve_public);
	if (add_string(p, "id", n->id) != 0 || add_string(p, "role", blo_role_name(n->role)) != 0 ||
	    add_string(p, "country", n->country) != 0 || add_string(p, "agency", n->agency) != 0 ||
	    add_string(p, "site", n->site) != 0 || add_string(p, "sign_public", hex) != 0 ||
	    add_string(p, "curve_public", z85) != 0 ||
	    (n->revoked && cJSON_AddTrueToObject(p, "revoked") == NULL))
		return BLO_ENOMEM;
	return 0;
}

/* The registry object, version still 0 (set once it is known). */
static int registry_json(const topo_t *t, cJSON **out)
{
	cJSON *reg = cJSON_CreateObject();
	cJSON *principals, *ops;
	const cJSON *op;

	*out = NULL;
	if (reg == NULL || add_string(reg, "name", t->name) != 0 ||
	    cJSON_AddNumberToObject(reg, "version", 0) == NULL ||
	    cJSON_AddNumberToObject(reg, "issued_ms", (double)blo_now_ms()) == NULL ||
	    (principals = cJSON_AddArrayToObject(reg, "principals")) == NULL ||
	    (ops = cJSON_AddArrayToObject(reg, "operations")) == NULL)
		goto nomem;
	for (size_t i = 0; i < t->n_nodes; i++) {
		if (principal_json(principals, &t->nodes[i]) != 0)
			goto nomem;
	}
	if (t->operations != NULL) {
		cJSON_ArrayForEach(op, t->operations)
		{
			cJSON *o = cJSON_CreateObject();
			cJSON *members = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(op, "members"),
							 true);

			if (o == NULL || members == NULL || !cJSON_AddItemToArray(ops, o) ||
			    add_string(o, "code",
				       cJSON_GetObjectItemCaseSensitive(op, "code")->valuestring) != 0 ||
			    !cJSON_AddItemToObject(o, "members", members)) {
				cJSON_Delete(members);
				goto nomem;
			}
		}
	}
	*out = reg;
	return 0;
nomem:
	cJSON_Delete(reg);
	return BLO_ENOMEM;
}

/* True if a and b hold the same principals, keys, operations and
 * revocations (version and issue time aside). */
static bool registry_same_content(const cJSON *a, const cJSON *b)
{
	cJSON *ca = cJSON_Duplicate(a, true);
	cJSON *cb = cJSON_Duplicate(b, true);
	bool same = false;

	if (ca != NULL && cb != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(ca, "version");
		cJSON_DeleteItemFromObjectCaseSensitive(ca, "issued_ms");
		cJSON_DeleteItemFromObjectCaseSensitive(cb, "version");
		cJSON_DeleteItemFromObjectCaseSensitive(cb, "issued_ms");
		same = cJSON_Compare(ca, cb, true);
	}
	cJSON_Delete(ca);
	cJSON_Delete(cb);
	return same;
}

/* The previous registry, verified under the kept authority key: *prev and
 * its "registry" object *prev_obj (a tree the caller deletes). Both NULL
 * when there is none. */
static int previous_registry(const char *path, const uint8_t authority[BLO_SIGN_PUBLIC_BYTES],
			     blo_registry_t **prev, cJSON **prev_root, blo_err_t *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*prev = NULL;
	*prev_root = NULL;
	rc = exists(path);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0)
		return blo_err_set(err, rc, "%s: %s", path, blo_strerror(rc));
	if ((rc = blo_registry_load(prev, path, authority, err)) != 0) {
		blo_err_prefix(err, "cannot keep the existing registry");
		return rc;
	}
	if ((rc = blo_read_file(path, BLO_REGISTRY_MAX_BYTES, &text, &len)) != 0) {
		blo_registry_destroy(prev);
		return blo_err_set(err, rc, "%s: cannot read: %s", path, blo_strerror(rc));
	}
	*prev_root = cJSON_ParseWithLength(text, len);
	free(text);
	if (*prev_root == NULL) {
		blo_registry_destroy(prev);
		return blo_err_set(err, BLO_ENOMEM, "%s: out of memory", path);
	}
	return 0;
}

/* ---------------------------------------------------------------- configs */

typedef struct {
	char *data;
	size_t len, cap;
	bool failed;
} text_t;

static void put(text_t *b, const char *s)
{
	size_t n = strlen(s);

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *data;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((data = realloc(b->data, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}

static void put_compact(text_t *b, const cJSON *item)
{
	char *s = cJSON_PrintUnformatted(item);

	if (s == NULL)
		b->failed = true;
	else
		put(b, s);
	free(s);
}

static bool is_flat(const cJSON *item)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, item)
	{
		if (cJSON_IsArray(c) || cJSON_IsObject(c))
			return false;
	}
	return true;
}

/* Config text as people write it: two-space indents, "key": value, lists
 * of plain values and flat objects inside lists on one line. */
static void put_json(text_t *b, const cJSON *item, int depth)
{
	const cJSON *c;
	bool object = cJSON_IsObject(item);

	if ((!object && !cJSON_IsArray(item)) || item->child == NULL ||
	    (is_flat(item) && (!object || depth > 1))) {
		if (!object || item->child == NULL) {
			put_compact(b, item);
			return;
		}
		put(b, "{");
		cJSON_ArrayForEach(c, item)
		{
			put_compact(b, &(cJSON){.type = cJSON_String, .valuestring = c->string});
			put(b, ": ");
			put_compact(b, c);
			put(b, c->next != NULL ? ", " : "}");
		}
		return;
	}
	put(b, object ? "{\n" : "[\n");
	cJSON_ArrayForEach(c, item)
	{
		for (int i = 0; i <= depth; i++)
			put(b, "  ");
		if (object) {
			put_compact(b, &(cJSON){.type = cJSON_String, .valuestring = c->string});
			put(b, ": ");
		}
		put_json(b, c, depth + 1);
		put(b, c->next != NULL ? ",\n" : "\n");
	}
	for (int i = 0; i < depth; i++)
		put(b, "  ");
	put(b, object ? "}" : "]");
}

/* The text of a config object, ending in a newline; caller frees. */
static char *config_text(const cJSON *config)
{
	text_t b = {0};

	put_json(&b, config, 0);
	put(&b, "\n");
	if (b.failed) {
		free(b.data);
		return NULL;
	}
	return b.data;
}

static int broker_config(const node_t *n, const char *authority_hex, char **out)
{
	cJSON *c = cJSON_CreateObject();
	cJSON *listen, *peers;
	int rc = BLO_ENOMEM;

	if (c == NULL || add_string(c, "id", n->id) != 0 ||
	    add_string(c, "identity", SECRET_FILE) != 0 ||
	    add_string(c, "registry", "../" REGISTRY_FILE) != 0 ||
	    add_string(c, "authority", authority_hex) != 0 ||
	    (listen = cJSON_AddArrayToObject(c, "listen")) == NULL ||
	    add_string(c, "data_dir", DATA_DIR) != 0)
		goto out;
	for (size_t k = 0; k < n->n_listen; k++) {
		char *text = endpoint_text(&n->listen[k]);
		cJSON *s = text != NULL ? cJSON_CreateString(text) : NULL;

		free(text);
		if (s == NULL || !cJSON_AddItemToArray(listen, s)) {
			cJSON_Delete(s);
			goto out;
		}
	}
	if (n->journal != NULL && !cJSON_AddItemToObject(c, "journal", cJSON_Duplicate(n->journal, true)))
		goto out;
	if (n->audit != NULL && !cJSON_AddItemToObject(c, "audit", cJSON_Duplicate(n->audit, true)))
		goto out;
	if (n->limits != NULL && !cJSON_AddItemToObject(c, "limits", cJSON_Duplicate(n->limits, true)))
		goto out;
	if ((peers = cJSON_AddArrayToObject(c, "peers")) == NULL)
		goto out;
	for (size_t p = 0; p < n->n_peers; p++) {
		cJSON *peer = cJSON_CreateObject();
		char *endpoint = endpoint_text(&n->peers[p]->endpoint);

		if (peer == NULL || endpoint == NULL || !cJSON_AddItemToArray(peers, peer) ||
		    add_string(peer, "id", n->peers[p]->id) != 0 ||
		    add_string(peer, "endpoint", endpoint) != 0) {
			free(endpoint);
			goto out;
		}
		free(endpoint);
	}
	if (n->log_level != NULL && add_string(c, "log_level", n->log_level) != 0)
		goto out;
	rc = 0;
out:
	if (rc == 0 && (*out = config_text(c)) == NULL)
		rc = BLO_ENOMEM;
	cJSON_Delete(c);
	return rc;
}

static int client_config(const node_t *n, const char *authority_hex, char **out)
{
	char *endpoint = endpoint_text(&n->broker->endpoint);
	cJSON *c = cJSON_CreateObject();
	cJSON *broker;
	int rc = BLO_ENOMEM;

	if (endpoint == NULL || c == NULL || add_string(c, "id", n->id) != 0 ||
	    add_string(c, "identity", SECRET_FILE) != 0 ||
	    add_string(c, "registry", "../" REGISTRY_FILE) != 0 ||
	    add_string(c, "authority", authority_hex) != 0 ||
	    (broker = cJSON_AddObjectToObject(c, "broker")) == NULL ||
	    add_string(broker, "id", n->broker->id) != 0 ||
	    add_string(broker, "endpoint", endpoint) != 0 ||
	    add_string(c, "data_dir", DATA_DIR) != 0 ||
	    (n->log_level != NULL && add_string(c, "log_level", n->log_level) != 0))
		goto out;
	if ((*out = config_text(c)) != NULL)
		rc = 0;
out:
	free(endpoint);
	cJSON_Delete(c);
	return rc;
}

/* Each config is read back with the loader of the program that will read
 * it, from a private scratch folder, before anything in out_dir changes:
 * what the topology passes through (journal, audit, limits) gets the same checks
 * as the broker applies. */
static int check_configs(const topo_t *t)
{
	const char *base = getenv("TMPDIR");
	char *scratch = NULL, *path = NULL;
	int rc = 0;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (asprintf(&scratch, "%s/blonet-provision-XXXXXX", base) < 0)
		return nomem(t);
	if (mkdtemp(scratch) == NULL) {
		rc = blo_err_set(t->err, -errno, "%s: cannot make a scratch folder: %s", scratch,
				 strerror(errno));
		free(scratch);
		return rc;
	}
	path = join(scratch, CONFIG_FILE, NULL);
	if (path == NULL) {
		rc = nomem(t);
		goto out;
	}
	for (size_t i = 0; i < t->n_nodes && rc == 0; i++) {
		const node_t *n = &t->nodes[i];
		blo_err_t why = {0};
		size_t plen = strlen(path);

		rc = blo_write_file_atomic(path, n->config_text, strlen(n->config_text), 0644);
		if (rc != 0) {
			rc = blo_err_set(t->err, rc, "%s: cannot write: %s", path, blo_strerror(rc));
			break;
		}
		if (n->role == BLO_ROLE_BROKER) {
			blo_broker_settings_t s;

			rc = blo_broker_settings_load(&s, path, &why);
			blo_broker_settings_free(&s);
		} else {
			blo_client_settings_t s;

			rc = blo_client_settings_load(&s, path, &why);
			blo_client_settings_free(&s);
		}
		if (rc != 0) {
			const char *msg = why.msg;

			if (strncmp(msg, path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
				msg += plen + 2;
			rc = fail(t, n->what, NULL, "its config.json would be refused: %s", msg);
		}
	}
	unlink(path);
out:
	rmdir(scratch);
	free(path);
	free(scratch);
	return rc;
}

/* ---------------------------------------------------------------- the run */

int blo_provision_run(const char *topology_path, const char *out_dir,
		      const blo_provision_opts_t *opts, blo_provision_report_t *report,
		      blo_err_t *err)
{
	static const blo_provision_opts_t no_opts = {0};
	topo_t t = {.path = topology_path, .err = err};
	blo_identity_t *authority = NULL;
	blo_registry_t *prev = NULL;
	cJSON *prev_root = NULL, *reg = NULL;
	char *authority_dir = NULL, *registry_path = NULL, *registry_text = NULL;
	char authority_hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	bool authority_new = false, unused, changed;
	uint64_t version;
	size_t picked = 0;
	int rc;

	assert(topology_path != NULL && out_dir != NULL);
	blo_err_clear(err);
	if (opts == NULL)
		opts = &no_opts;
	if (report != NULL)
		memset(report, 0, sizeof(*report));

	/* 1. The topology, whole, before anything else. */
	if ((rc = topo_parse(&t)) != 0 ||
	    (rc = check_opt_ids(&t, "--rotate", opts->rotate, opts->n_rotate)) != 0 ||
	    (rc = check_opt_ids(&t, "--revoke", opts->revoke, opts->n_revoke)) != 0 ||
	    (rc = check_opt_ids(&t, "--reinstate", opts->reinstate, opts->n_reinstate)) != 0)
		goto out;
	for (size_t i = 0; i < opts->n_revoke; i++) {
		if (listed(opts->revoke[i], opts->reinstate, opts->n_reinstate)) {
			rc = blo_err_set(err, BLO_EINVAL, "\"%s\" is both revoked and reinstated",
					 opts->revoke[i]);
			goto out;
		}
	}

	/* 2. Keys: kept when present, made when absent or rotated. */
	authority_dir = join(out_dir, AUTHORITY_DIR, NULL);
	registry_path = join(out_dir, REGISTRY_FILE, NULL);
	if (authority_dir == NULL || registry_path == NULL) {
		rc = nomem(&t);
		goto out;
	}
	if ((rc = identity_keep_or_make(&authority, AUTHORITY_ID, authority_dir,
					"authority.secret.json", false, &authority_new, &unused,
					err)) != 0)
		goto out;
	if (authority_new && exists(registry_path) == 0) {
		rc = blo_err_set(err, BLO_EKEY,
				 "%s exists but %s/authority.secret.json, whose key signed it, does "
				 "not: restore the authority key, or remove the registry to start a "
				 "new deployment",
				 registry_path, authority_dir);
		goto out;
	}
	blo_hex_encode(authority_hex, sizeof(authority_hex),
		       blo_identity_public(authority)->sign_public, BLO_SIGN_PUBLIC_BYTES);
	if ((rc = previous_registry(registry_path, blo_identity_public(authority)->sign_public,
				    &prev, &prev_root, err)) != 0)
		goto out;
	for (size_t i = 0; i < t.n_nodes; i++) {
		node_t *n = &t.nodes[i];
		char *dir = join(out_dir, n->id, NULL);
		const blo_principal_t *was = prev != NULL ? blo_registry_find(prev, n->id) : NULL;

		if (dir == NULL) {
			rc = nomem(&t);
			goto out;
		}
		rc = identity_keep_or_make(&n->identity, n->id, dir, SECRET_FILE,
					   listed(n->id, opts->rotate, opts->n_rotate), &n->generated,
					   &n->rotated, err);
		n->public_stale = rc == 0 && (n->generated || public_is_stale(n->identity, dir,
									      PUBLIC_FILE));
		free(dir);
		if (rc != 0)
			goto out;
		/* A revocation stays until it is lifted on purpose. */
		n->revoked = listed(n->id, opts->revoke, opts->n_revoke) ||
			     (was != NULL && was->revoked &&
			      !listed(n->id, opts->reinstate, opts->n_reinstate));
	}

	/* 3. Ports, the registry and the configs, in memory. */
	if ((rc = assign_ports(&t, out_dir, &picked)) != 0)
		goto out;
	if (registry_json(&t, &reg) != 0) {
		rc = nomem(&t);
		goto out;
	}
	changed = prev == NULL ||
		  !registry_same_content(reg, cJSON_GetObjectItemCaseSensitive(prev_root, "registry"));
	version = prev == NULL ? 1 : blo_registry_version(prev) + (changed ? 1 : 0);
	cJSON_SetNumberHelper(cJSON_GetObjectItemCaseSensitive(reg, "version"), (double)version);
	if (changed && (rc = blo_registry_sign(reg, authority, &registry_text, err)) != 0) {
		blo_err_prefix(err, "%s: the registry it describes is refused", topology_path);
		goto out;
	}
	for (size_t i = 0; i < t.n_nodes; i++) {
		node_t *n = &t.nodes[i];

		rc = n->role == BLO_ROLE_BROKER ? broker_config(n, authority_hex, &n->config_text)
						: client_config(n, authority_hex, &n->config_text);
		if (rc != 0) {
			rc = nomem(&t);
			goto out;
		}
	}
	if ((rc = check_configs(&t)) != 0)
		goto out;

	/* 4. Files: keys, then configs, then the registry that names the keys. */
	if ((rc = make_dirs(out_dir, 0755, err)) != 0 ||
	    (rc = make_dir(authority_dir, 0700, err)) != 0)
		goto out;
	if ((authority_new || public_is_stale(authority, authority_dir, "authority.public.json")) &&
	    (rc = save_identity(authority, authority_dir, "authority.public.json",
				"authority.secret.json", authority_new, err)) != 0)
		goto out;
	for (size_t i = 0; i < t.n_nodes; i++) {
		node_t *n = &t.nodes[i];
		char *dir = join(out_dir, n->id, NULL);
		char *config = join(out_dir, n->id, CONFIG_FILE);

		if (dir == NULL || config == NULL)
			rc = nomem(&t);
		else if ((rc = make_dir(dir, 0700, err)) == 0 && n->public_stale)
			rc = save_identity(n->identity, dir, PUBLIC_FILE, SECRET_FILE, n->generated,
					   err);
		if (rc == 0)
			rc = write_if_changed(config, n->config_text, 0644, err);
		free(dir);
		free(config);
		if (rc != 0)
			goto out;
	}
	if (changed && (rc = write_if_changed(registry_path, registry_text, 0644, err)) != 0)
		goto out;

	if (report != NULL) {
		snprintf(report->name, sizeof(report->name), "%s", t.name);
		report->n_brokers = t.n_brokers;
		report->n_principals = t.n_nodes - t.n_brokers;
		for (size_t i = 0; i < t.n_nodes; i++) {
			report->n_generated += t.nodes[i].generated;
			report->n_rotated += t.nodes[i].rotated;
			report->n_revoked += t.nodes[i].revoked;
		}
		report->n_ports_picked = picked;
		report->authority_generated = authority_new;
		report->registry_changed = changed;
		report->registry_version = version;
	}
out:
	topo_free(&t);
	blo_identity_destroy(&authority);
	blo_registry_destroy(&prev);
	cJSON_Delete(prev_root);
	cJSON_Delete(reg);
	free(registry_text);
	free(authority_dir);
	free(registry_path);
	return rc;
}

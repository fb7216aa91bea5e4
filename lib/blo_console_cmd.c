/*
 * blo_console_cmd: text and JSON commands of the console's line and JSON
 * front ends (see blo_console_cmd.h). A text command is turned into the
 * JSON form first, so both run through the same code.
 */
#include "blo_console_cmd.h"

#include "blo_console_text.h"
#include "blo_console_view.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_WIDTH 120

static const char help_text[] =
	"commands (REF is #N or 6-32 hex digits of an id):\n"
	"  list [unread] [acks] [category=C] [severity=S] [crossing=SITE]\n"
	"  show REF | read REF\n"
	"  ack REF [received|acting] [NOTE...]\n"
	"  respond REF TEXT...\n"
	"  rfi [to=SITE] [tlp=T] [rel=CC,CC] [category=C] [severity=S] [operation=OP] HEADLINE [// DESCRIPTION]\n"
	"  bulletin [to=SITE] [tlp=T] [rel=CC,CC] [category=C] [severity=S] HEADLINE [// MODUS OPERANDI]\n"
	"  help | quit\n"
	"or the same as one JSON object per line: {\"cmd\":\"ack\",\"id\":REF,\"status\":\"ACTING\"}";

int blo_console_cmd_enum(const ProtobufCEnumDescriptor *d, const char *prefix, const char *text)
{
	char norm[64];
	size_t n = 0;

	if (text == NULL)
		return -1;
	for (const char *p = text; *p != '\0'; p++) {
		char ch = *p;

		if (n + 1 >= sizeof(norm))
			return -1;
		norm[n++] = ch == '+' || ch == '-' || ch == ' ' ? '_' : (char)toupper((unsigned char)ch);
	}
	norm[n] = '\0';
	for (unsigned i = 0; i < d->n_values; i++) {
		const char *name = d->values[i].name;
		size_t pl = prefix != NULL ? strlen(prefix) : 0;

		if (strcmp(name, norm) == 0 ||
		    (pl > 0 && strncmp(name, prefix, pl) == 0 && strcmp(name + pl, norm) == 0))
			return d->values[i].value;
	}
	return -1;
}

/* ---------------------------------------------------------------- text to JSON */

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Copies the next space-separated token of *p into buf and advances. */
static bool next_token(const char **p, char *buf, size_t size)
{
	const char *s = skip_spaces(*p), *e = s;

	while (*e != '\0' && *e != ' ' && *e != '\t')
		e++;
	if (e == s)
		return false;
	snprintf(buf, size, "%.*s", (int)(e - s), s);
	*p = e;
	return true;
}

static bool is_option(const char *tok, const char *key, const char **value)
{
	size_t kl = strlen(key);

	if (strncmp(tok, key, kl) == 0 && tok[kl] == '=') {
		*value = tok + kl + 1;
		return true;
	}
	return false;
}

/* The JSON form of a text command, or NULL with *why set. */
static cJSON *text_to_json(const char *line, const char **why)
{
	const char *p = line, *v;
	char cmd[32], tok[512];
	cJSON *j;

	*why = NULL;
	if (!next_token(&p, cmd, sizeof(cmd))) {
		*why = "empty command";
		return NULL;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "cmd", cmd);
	if (strcmp(cmd, "list") == 0) {
		while (next_token(&p, tok, sizeof(tok))) {
			if (strcmp(tok, "unread") == 0)
				cJSON_AddBoolToObject(j, "unread", true);
			else if (strcmp(tok, "acks") == 0)
				cJSON_AddBoolToObject(j, "acks", true);
			else if (is_option(tok, "category", &v))
				cJSON_AddStringToObject(j, "category", v);
			else if (is_option(tok, "severity", &v))
				cJSON_AddStringToObject(j, "severity", v);
			else if (is_option(tok, "crossing", &v))
				cJSON_AddStringToObject(j, "crossing", v);
			else if (strcmp(tok, "all") != 0) {
				*why = "list takes unread, acks, category=, severity=, crossing=";
				cJSON_Delete(j);
				return NULL;
			}
		}
	} else if (strcmp(cmd, "show") == 0 || strcmp(cmd, "read") == 0) {
		if (next_token(&p, tok, sizeof(tok)))
			cJSON_AddStringToObject(j, "id", tok);
	} else if (strcmp(cmd, "ack") == 0) {
		if (next_token(&p, tok, sizeof(tok)))
			cJSON_AddStringToObject(j, "id", tok);
		{
			const char *save = p;

			if (next_token(&p, tok, sizeof(tok)) &&
			    (strcasecmp(tok, "received") == 0 || strcasecmp(tok, "acting") == 0))
				cJSON_AddStringToObject(j, "status", tok);
			else
				p = save;
		}
		p = skip_spaces(p);
		if (*p != '\0')
			cJSON_AddStringToObject(j, "text", p);
	} else if (strcmp(cmd, "respond") == 0) {
		if (next_token(&p, tok, sizeof(tok)))
			cJSON_AddStringToObject(j, "id", tok);
		p = skip_spaces(p);
		cJSON_AddStringToObject(j, "text", p);
	} else if (strcmp(cmd, "rfi") == 0 || strcmp(cmd, "bulletin") == 0) {
		const char *save = p, *sep;
		char *headline;

		while (next_token(&p, tok, sizeof(tok))) {
			if (is_option(tok, "to", &v))
				cJSON_AddStringToObject(j, "to", v);
			else if (is_option(tok, "tlp", &v))
				cJSON_AddStringToObject(j, "tlp", v);
			else if (is_option(tok, "category", &v))
				cJSON_AddStringToObject(j, "category", v);
			else if (is_option(tok, "severity", &v))
				cJSON_AddStringToObject(j, "severity", v);
			else if (is_option(tok, "operation", &v))
				cJSON_AddStringToObject(j, "operation", v);
			else if (is_option(tok, "rel", &v)) {
				cJSON *rel = cJSON_AddArrayToObject(j, "releasable_to");
				char list[512], *save_ptr = NULL;

				snprintf(list, sizeof(list), "%s", v);
				for (char *cc = strtok_r(list, ",", &save_ptr); cc != NULL;
				     cc = strtok_r(NULL, ",", &save_ptr))
					cJSON_AddItemToArray(rel, cJSON_CreateString(cc));
			} else {
				p = save;
				break;
			}
			save = p;
		}
		p = skip_spaces(p);
		sep = strstr(p, " // ");
		headline = strndup(p, sep != NULL ? (size_t)(sep - p) : strlen(p));
		if (headline != NULL)
			cJSON_AddStringToObject(j, "headline", headline);
		free(headline);
		if (sep != NULL)
			cJSON_AddStringToObject(j, strcmp(cmd, "rfi") == 0 ? "description" : "modus_operandi",
						skip_spaces(sep + 4));
	}
	return j;
}

/* ---------------------------------------------------------------- results */

static const char *str_field(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool bool_field(const cJSON *j, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, key));
}

static char *result(const char *cmd, bool json, bool ok, const char *error,
		    const blo_console_t *c, long item)
{
	char *s = NULL;

	if (json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "event", "result");
		cJSON_AddStringToObject(o, "cmd", cmd != NULL ? cmd : "");
		cJSON_AddBoolToObject(o, "ok", ok);
		if (error != NULL)
			cJSON_AddStringToObject(o, "error", error);
		if (item >= 0) {
			const blo_console_item_t *it = blo_console_item(c, (size_t)item);

			cJSON_AddNumberToObject(o, "n", (double)it->local_seq);
			cJSON_AddStringToObject(o, "id", it->id_hex);
		}
		s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		return s;
	}
	if (!ok) {
		char *clean = blo_console_text_clean(error, false);

		if (asprintf(&s, "%s: %s", cmd != NULL ? cmd : "command", clean != NULL ? clean : "") < 0)
			s = NULL;
		free(clean);
		return s;
	}
	if (item >= 0) {
		const blo_console_item_t *it = blo_console_item(c, (size_t)item);

		if (asprintf(&s, "ok: #%" PRIu64 " %s", it->local_seq, it->id_hex) < 0)
			s = NULL;
		return s;
	}
	return strdup("ok");
}

static int parse_filter(const blo_console_t *c, const cJSON *j, blo_console_filter_t *f, const char **why)
{
	const char *v;
	int e;

	(void)c;
	memset(f, 0, sizeof(*f));
	f->unread_only = bool_field(j, "unread");
	f->with_acks = bool_field(j, "acks");
	if ((v = str_field(j, "category")) != NULL) {
		if ((e = blo_console_cmd_enum(&blonet__category__descriptor, "CATEGORY_", v)) <= 0) {
			*why = "unknown category";
			return -1;
		}
		f->category = (Blonet__Category)e;
	}
	if ((v = str_field(j, "severity")) != NULL) {
		if ((e = blo_console_cmd_enum(&blonet__severity__descriptor, "SEVERITY_", v)) <= 0) {
			*why = "unknown severity";
			return -1;
		}
		f->min_severity = (Blonet__Severity)e;
	}
	if ((v = str_field(j, "crossing")) != NULL)
		snprintf(f->crossing, sizeof(f->crossing), "%s", v);
	return 0;
}

static char *run_list(blo_console_t *c, const cJSON *j, bool json, int width)
{
	blo_console_filter_t f;
	const char *why = NULL;
	size_t *v = NULL, n = 0;
	char *s = NULL;

	if (parse_filter(c, j, &f, &why) != 0)
		return result("list", json, false, why, c, -1);
	if (blo_console_view(c, &f, &v, &n) != 0)
		return NULL;
	if (json) {
		cJSON *o = cJSON_CreateObject(), *items;

		cJSON_AddStringToObject(o, "event", "list");
		cJSON_AddNumberToObject(o, "count", (double)n);
		cJSON_AddNumberToObject(o, "unread", (double)blo_console_unread(c));
		items = cJSON_AddArrayToObject(o, "items");
		for (size_t i = 0; i < n; i++) {
			cJSON *it = blo_console_view_item_json(c, v[i], false);
			const blo_console_item_t *ci = blo_console_item(c, v[i]);

			if (it == NULL)
				continue;
			/* The summary a script filters on. */
			cJSON_AddStringToObject(it, "category",
						blo_console_view_enum(&blonet__category__descriptor, (int)ci->category));
			cJSON_AddStringToObject(it, "severity",
						blo_console_view_enum(&blonet__severity__descriptor, (int)ci->severity));
			cJSON_AddStringToObject(it, "tlp", blo_console_view_enum(&blonet__tlp__descriptor, (int)ci->tlp));
			cJSON_AddStringToObject(it, "crossing", ci->crossing);
			cJSON_AddStringToObject(it, "from", ci->principal);
			cJSON_AddNumberToObject(it, "sent_ms", (double)ci->sent_ms);
			cJSON_AddStringToObject(it, "headline", ci->headline);
			cJSON_AddItemToArray(items, it);
		}
		s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
	} else {
		size_t cap = (n + 2) * (4 * (size_t)width + 96), o = 0;
		char *row = malloc(4 * (size_t)width + 64);

		s = malloc(cap);
		if (s == NULL || row == NULL) {
			free(s);
			free(row);
			free(v);
			return NULL;
		}
		blo_console_view_row_header(width - 7, row, 4 * (size_t)width + 64);
		o += (size_t)snprintf(s + o, cap - o, "%-6s %s", "#", row);
		for (size_t i = 0; i < n; i++) {
			const blo_console_item_t *it = blo_console_item(c, v[i]);
			char num[24];

			blo_console_view_row(c, v[i], width - 7, row, 4 * (size_t)width + 64);
			snprintf(num, sizeof(num), "#%" PRIu64, it->local_seq);
			o += (size_t)snprintf(s + o, cap - o, "\n%-6s %s", num, row);
		}
		snprintf(s + o, cap - o, "\n%zu shown, %zu unread", n, blo_console_unread(c));
		free(row);
	}
	free(v);
	return s;
}

static char *run_show(blo_console_t *c, const cJSON *j, bool json, int width, bool show)
{
	const char *cmd = show ? "show" : "read";
	blo_err_t err = {0};
	size_t item;
	char **lines = NULL, *s = NULL;
	size_t n = 0;

	if (blo_console_find(c, str_field(j, "id"), &item, &err) != 0)
		return result(cmd, json, false, err.msg, c, -1);
	if (blo_console_mark_read(c, item, &err) != 0)
		return result(cmd, json, false, err.msg, c, -1);
	if (!show)
		return result(cmd, json, true, NULL, c, (long)item);
	if (json) {
		cJSON *o = blo_console_view_item_json(c, item, true);

		if (o == NULL)
			return NULL;
		cJSON_AddStringToObject(o, "event", "show");
		s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		return s;
	}
	if (blo_console_view_detail(c, item, width, &lines, &n, &err) != 0)
		return result(cmd, json, false, err.msg, c, -1);
	{
		size_t len = 1;

		for (size_t i = 0; i < n; i++)
			len += strlen(lines[i]) + 1;
		s = malloc(len);
		if (s != NULL) {
			size_t o = 0;

			for (size_t i = 0; i < n; i++)
				o += (size_t)sprintf(s + o, "%s%s", i ? "\n" : "", lines[i]);
			s[o] = '\0';
		}
	}
	blo_console_text_lines_free(&lines, n);
	return s;
}

static char *run_ack(blo_console_t *c, const cJSON *j, bool json)
{
	const char *st = str_field(j, "status");
	blo_err_t err = {0};
	size_t item, sent;
	int status = BLONET__ACK_STATUS__RECEIVED;

	if (st != NULL && (status = blo_console_cmd_enum(&blonet__ack_status__descriptor, "ACK_", st)) <= 0)
		return result("ack", json, false, "status is RECEIVED or ACTING", c, -1);
	if (blo_console_find(c, str_field(j, "id"), &item, &err) != 0 ||
	    blo_console_ack(c, item, (Blonet__AckStatus)status, str_field(j, "text"), &sent, &err) != 0)
		return result("ack", json, false, err.msg, c, -1);
	return result("ack", json, true, NULL, c, (long)sent);
}

static char *run_respond(blo_console_t *c, const cJSON *j, bool json)
{
	blo_err_t err = {0};
	size_t item, sent;

	if (blo_console_find(c, str_field(j, "id"), &item, &err) != 0 ||
	    blo_console_respond(c, item, str_field(j, "text"), &sent, &err) != 0)
		return result("respond", json, false, err.msg, c, -1);
	return result("respond", json, true, NULL, c, (long)sent);
}

static char *run_send(blo_console_t *c, const cJSON *j, bool json, Blonet__MessageType type)
{
	const char *cmd = type == BLONET__MESSAGE_TYPE__RFI ? "rfi" : "bulletin";
	blo_console_outgoing_t m = {.type = type};
	const cJSON *rel = cJSON_GetObjectItemCaseSensitive(j, "releasable_to");
	const char *rels[32];
	const char *v;
	blo_err_t err = {0};
	size_t sent;
	int e;

	m.to_site = str_field(j, "to");
	m.headline = str_field(j, "headline");
	m.description = str_field(j, "description");
	m.modus_operandi = str_field(j, "modus_operandi");
	m.operation = str_field(j, "operation");
	if ((v = str_field(j, "tlp")) != NULL) {
		if ((e = blo_console_cmd_enum(&blonet__tlp__descriptor, "TLP_", v)) <= 0)
			return result(cmd, json, false, "tlp is CLEAR, GREEN, AMBER, AMBER+STRICT or RED", c, -1);
		m.tlp = (Blonet__Tlp)e;
	}
	if ((v = str_field(j, "category")) != NULL) {
		if ((e = blo_console_cmd_enum(&blonet__category__descriptor, "CATEGORY_", v)) <= 0)
			return result(cmd, json, false, "unknown category", c, -1);
		m.category = (Blonet__Category)e;
	}
	if ((v = str_field(j, "severity")) != NULL) {
		if ((e = blo_console_cmd_enum(&blonet__severity__descriptor, "SEVERITY_", v)) <= 0)
			return result(cmd, json, false, "unknown severity", c, -1);
		m.severity = (Blonet__Severity)e;
	}
	if (rel != NULL) {
		const cJSON *cc;

		if (!cJSON_IsArray(rel) || cJSON_GetArraySize(rel) > 32)
			return result(cmd, json, false, "releasable_to is a list of country codes", c, -1);
		cJSON_ArrayForEach(cc, rel)
		{
			if (!cJSON_IsString(cc))
				return result(cmd, json, false, "releasable_to is a list of country codes", c, -1);
			rels[m.n_releasable_to++] = cc->valuestring;
		}
		m.releasable_to = rels;
		m.releasable_set = true;
	}
	if (blo_console_send(c, &m, &sent, &err) != 0)
		return result(cmd, json, false, err.msg, c, -1);
	return result(cmd, json, true, NULL, c, (long)sent);
}

char *blo_console_cmd_run(blo_console_t *c, const char *line, bool json, int width, bool *quit)
{
	const char *p = skip_spaces(line), *why = NULL, *cmd;
	cJSON *j;
	char *out;

	*quit = false;
	if (width <= 0)
		width = DEFAULT_WIDTH;
	if (width < 60)
		width = 60;
	if (*p == '{') {
		j = cJSON_Parse(p);
		if (j == NULL || !cJSON_IsObject(j)) {
			cJSON_Delete(j);
			return result(NULL, json, false, "not a JSON object", c, -1);
		}
	} else {
		j = text_to_json(p, &why);
		if (j == NULL)
			return result(NULL, json, false, why, c, -1);
	}
	cmd = str_field(j, "cmd");
	if (cmd == NULL)
		out = result(NULL, json, false, "no \"cmd\"", c, -1);
	else if (strcmp(cmd, "help") == 0)
		out = json ? result("help", json, true, NULL, c, -1) : strdup(help_text);
	else if (strcmp(cmd, "quit") == 0) {
		*quit = true;
		out = result("quit", json, true, NULL, c, -1);
	} else if (strcmp(cmd, "list") == 0)
		out = run_list(c, j, json, width);
	else if (strcmp(cmd, "show") == 0)
		out = run_show(c, j, json, width, true);
	else if (strcmp(cmd, "read") == 0)
		out = run_show(c, j, json, width, false);
	else if (strcmp(cmd, "ack") == 0)
		out = run_ack(c, j, json);
	else if (strcmp(cmd, "respond") == 0)
		out = run_respond(c, j, json);
	else if (strcmp(cmd, "rfi") == 0)
		out = run_send(c, j, json, BLONET__MESSAGE_TYPE__RFI);
	else if (strcmp(cmd, "bulletin") == 0)
		out = run_send(c, j, json, BLONET__MESSAGE_TYPE__BULLETIN);
	else
		out = result(cmd, json, false, "unknown command (try help)", c, -1);
	cJSON_Delete(j);
	return out;
}

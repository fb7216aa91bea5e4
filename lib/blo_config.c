/*
 * blo_config: reads a JSON configuration file into a caller's struct as a
 * schema table describes it. Every message names the file and the key path
 * ("peers[2].endpoint") and says what was expected and what was found.
 */
#include "blo_config.h"

#include "blo_util.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integers travel through cJSON as doubles; beyond 2^53 - 1 two different
 * integers in the file could read as the same value, so they are refused. */
#define CFG_INT_EXACT_MAX INT64_C(9007199254740991)

/* How much of a value, key or bad JSON a message quotes. */
#define CFG_SHOW_MAX 64

struct cfg_ctx {
	const char *name;     /* the file, first in every message */
	const char *base_dir; /* relative BLO_CFG_PATH values are joined to this */
	blo_err_t *err;
	char path[256];       /* key path of the value being read: "journal.map_size" */
	size_t path_len;
};

static int cfg_fail(struct cfg_ctx *ctx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfg_fail(struct cfg_ctx *ctx, int code, const char *fmt, ...)
{
	char body[sizeof(ctx->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	return blo_err_set(ctx->err, code, "%s: %s", ctx->name, body);
}

static int cfg_nomem(struct cfg_ctx *ctx)
{
	return cfg_fail(ctx, BLO_ENOMEM, "out of memory");
}

/* Appends ".key" (or "key" at the top) to the key path; returns the length
 * to restore with path_pop. A path too long for the buffer is cut short,
 * which only shortens messages. */
static size_t path_push(struct cfg_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static size_t path_push(struct cfg_ctx *ctx, const char *fmt, ...)
{
	size_t old = ctx->path_len;
	size_t room = sizeof(ctx->path) - old;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(ctx->path + old, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		ctx->path[old] = '\0';
	else
		ctx->path_len = (size_t)n < room ? old + (size_t)n : sizeof(ctx->path) - 1;
	return old;
}

static void path_pop(struct cfg_ctx *ctx, size_t old)
{
	ctx->path_len = old;
	ctx->path[old] = '\0';
}

static size_t path_push_key(struct cfg_ctx *ctx, const char *key)
{
	return path_push(ctx, "%s%s", ctx->path_len > 0 ? "." : "", key);
}

/* Length of the valid UTF-8 sequence at s (at most avail bytes), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	size_t n;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Writes s[0..slen) into buf as a quoted string safe to print: quotes,
 * backslashes and control bytes are escaped, invalid UTF-8 becomes \xNN, and
 * text that does not fit ends in ..." so a hostile file cannot flood a log or
 * drive a terminal. */
static void quote_text(char *buf, size_t bufsz, const char *s, size_t slen)
{
	size_t o = 0;
	size_t i = 0;

	assert(bufsz >= 8);
	buf[o++] = '"';
	while (i < slen) {
		const unsigned char *c = (const unsigned char *)s + i;
		char piece[8];
		size_t plen = 1;
		size_t used = 1;

		if (*c == '"' || *c == '\\') {
			piece[0] = '\\';
			piece[1] = (char)*c;
			plen = 2;
		} else if (*c == '\n' || *c == '\t' || *c == '\r') {
			piece[0] = '\\';
			piece[1] = *c == '\n' ? 'n' : *c == '\t' ? 't' : 'r';
			plen = 2;
		} else if (*c < 0x20 || *c == 0x7f) {
			snprintf(piece, sizeof(piece), "\\x%02x", *c);
			plen = 4;
		} else if (*c < 0x80) {
			piece[0] = (char)*c;
		} else if ((used = utf8_seq_len(c, slen - i)) > 0) {
			memcpy(piece, c, used);
			plen = used;
		} else {
			snprintf(piece, sizeof(piece), "\\x%02x", *c);
			plen = 4;
			used = 1;
		}
		/* Room must remain for the closing quote, or for ..." if more follows. */
		if (o + plen + (i + used == slen ? 2 : 5) > bufsz) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, piece, plen);
		o += plen;
		i += used;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

static void format_number(char *buf, size_t bufsz, double d)
{
	if (!isfinite(d)) {
		snprintf(buf, bufsz, "a number beyond the range of a double");
		return;
	}
	/* The shortest of the two forms that reads back as the same double. */
	snprintf(buf, bufsz, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, bufsz, "%.17g", d);
}

/* What was found, for "got ...": strings are quoted, numbers shown when the
 * key wants a number (otherwise the kind is what is wrong: "a number"). */
static void describe_value(char *buf, size_t bufsz, const cJSON *item, bool show_number)
{
	if (cJSON_IsString(item) && item->valuestring != NULL)
		quote_text(buf, bufsz, item->valuestring, strlen(item->valuestring));
	else if (cJSON_IsNumber(item) && show_number)
		format_number(buf, bufsz, item->valuedouble);
	else if (cJSON_IsNumber(item))
		snprintf(buf, bufsz, "a number");
	else if (cJSON_IsTrue(item))
		snprintf(buf, bufsz, "true");
	else if (cJSON_IsFalse(item))
		snprintf(buf, bufsz, "false");
	else if (cJSON_IsNull(item))
		snprintf(buf, bufsz, "null");
	else if (cJSON_IsArray(item))
		snprintf(buf, bufsz, "a list");
	else if (cJSON_IsObject(item))
		snprintf(buf, bufsz, "an object");
	else
		snprintf(buf, bufsz, "a value of unknown kind");
}

/* Appends text to buf (holding *len bytes); false if it did not fit. */
static bool append(char *buf, size_t bufsz, size_t *len, const char *text)
{
	size_t n = strlen(text);

	if (*len + n + 1 > bufsz)
		return false;
	memcpy(buf + *len, text, n + 1);
	*len += n;
	return true;
}

/* "a", "a" or "b", "a", "b" or "c" */
static void list_choices(char *buf, size_t bufsz, const char *const *choices)
{
	size_t len = 0;
	char quoted[CFG_SHOW_MAX];

	buf[0] = '\0';
	for (size_t i = 0; choices[i] != NULL; i++) {
		const char *sep = i == 0 ? "" : choices[i + 1] == NULL ? " or " : ", ";

		quote_text(quoted, sizeof(quoted), choices[i], strlen(choices[i]));
		if (!append(buf, bufsz, &len, sep) || !append(buf, bufsz, &len, quoted)) {
			append(buf, bufsz, &len, " ...");
			return;
		}
	}
}

static int64_t int_min(const blo_cfg_field_t *f)
{
	bool any = f->min == 0 && f->max == 0;

	return any || f->min < -CFG_INT_EXACT_MAX ? -CFG_INT_EXACT_MAX : f->min;
}

static int64_t int_max(const blo_cfg_field_t *f)
{
	bool any = f->min == 0 && f->max == 0;

	return any || f->max > CFG_INT_EXACT_MAX ? CFG_INT_EXACT_MAX : f->max;
}

static bool double_any(const blo_cfg_field_t *f)
{
	return f->dmin == 0 && f->dmax == 0;
}

/* What a key wants, in words: the schema's expect text when it has one
 * (enums add their choices to it), otherwise one made from the type. */
static void expectation(char *buf, size_t bufsz, const blo_cfg_field_t *f)
{
	char choices[256];

	switch (f->type) {
	case BLO_CFG_ENUM:
		list_choices(choices, sizeof(choices), f->choices);
		if (f->expect != NULL)
			snprintf(buf, bufsz, "%s (%s)", f->expect, choices);
		else
			snprintf(buf, bufsz, "%s", choices);
		return;
	default:
		break;
	}
	if (f->expect != NULL) {
		snprintf(buf, bufsz, "%s", f->expect);
		return;
	}
	switch (f->type) {
	case BLO_CFG_STRING:
		snprintf(buf, bufsz, "a string");
		break;
	case BLO_CFG_PATH:
		snprintf(buf, bufsz, "a path");
		break;
	case BLO_CFG_INT:
		snprintf(buf, bufsz, "an integer from %" PRId64 " to %" PRId64, int_min(f),
			 int_max(f));
		break;
	case BLO_CFG_BOOL:
		snprintf(buf, bufsz, "true or false");
		break;
	case BLO_CFG_DOUBLE:
		if (double_any(f))
			snprintf(buf, bufsz, "a number");
		else
			snprintf(buf, bufsz, "a number from %g to %g", f->dmin, f->dmax);
		break;
	case BLO_CFG_STRINGS:
		snprintf(buf, bufsz, "a list of strings");
		break;
	case BLO_CFG_OBJECT:
		snprintf(buf, bufsz, "an object");
		break;
	case BLO_CFG_OBJECTS:
		snprintf(buf, bufsz, "a list of objects");
		break;
	default:
		snprintf(buf, bufsz, "a value");
		break;
	}
}

/* key "<path>": expected <expected>, got <item> */
static int fail_got(struct cfg_ctx *ctx, const char *expected, const cJSON *item,
		    bool show_number)
{
	char got[CFG_SHOW_MAX + 8];

	describe_value(got, sizeof(got), item, show_number);
	return cfg_fail(ctx, BLO_ECONFIG, "key \"%s\": expected %s, got %s", ctx->path, expected,
			got);
}

static int fail_field(struct cfg_ctx *ctx, const blo_cfg_field_t *f, const cJSON *item)
{
	char expected[384];
	bool numeric = f->type == BLO_CFG_INT || f->type == BLO_CFG_DOUBLE;

	expectation(expected, sizeof(expected), f);
	return fail_got(ctx, expected, item, numeric);
}

/* Line (from 1) of the byte at offset pos. */
static size_t line_of(const char *text, size_t pos)
{
	size_t line = 1;

	for (size_t i = 0; i < pos; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

static void assert_field_valid(const blo_cfg_field_t *f)
{
	assert(f->type >= BLO_CFG_STRING && f->type <= BLO_CFG_OBJECTS);
	assert(f->type != BLO_CFG_INT || f->min <= f->max);
	assert(f->type != BLO_CFG_DOUBLE || f->dmin <= f->dmax);
	assert(f->type != BLO_CFG_ENUM || (f->choices != NULL && f->choices[0] != NULL));
	assert((f->type != BLO_CFG_OBJECT && f->type != BLO_CFG_OBJECTS) || f->fields != NULL);
	assert(f->type != BLO_CFG_OBJECTS || f->elem_size > 0);
	(void)f;
}

static void strlist_free(blo_strlist_t *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->v[i]);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

static void objlist_free(const blo_cfg_field_t *f, blo_objlist_t *list)
{
	for (size_t i = 0; i < list->n; i++)
		blo_config_free(f->fields, (char *)list->v + i * f->elem_size);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

static size_t count_children(const cJSON *item)
{
	size_t n = 0;

	for (const cJSON *c = item->child; c != NULL; c = c->next)
		n++;
	return n;
}

/* base_dir + "/" + value, or value itself when it is absolute. */
static char *resolve_path(const char *base_dir, const char *value)
{
	size_t blen = strlen(base_dir);
	const char *sep = blen > 0 && base_dir[blen - 1] == '/' ? "" : "/";
	char *joined = NULL;

	if (value[0] == '/')
		return strdup(value);
	if (asprintf(&joined, "%s%s%s", base_dir, sep, value) < 0)
		return NULL;
	return joined;
}

static int fill_object(struct cfg_ctx *ctx, const blo_cfg_field_t *fields, const cJSON *obj,
		       void *out);

static int read_string(struct cfg_ctx *ctx, const blo_cfg_field_t *f, const cJSON *item,
		       char **slot)
{
	char *copy;

	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return fail_field(ctx, f, item);
	/* An empty path would name the config's own folder: never what is meant. */
	if (f->type == BLO_CFG_PATH && item->valuestring[0] == '\0')
		return fail_field(ctx, f, item);
	if (f->type == BLO_CFG_PATH)
		copy = resolve_path(ctx->base_dir, item->valuestring);
	else
		copy = strdup(item->valuestring);
	if (copy == NULL)
		return cfg_nomem(ctx);
	free(*slot);
	*slot = copy;
	return 0;
}

static int read_int(struct cfg_ctx *ctx, const blo_cfg_field_t *f, const cJSON *item,
		    int64_t *slot)
{
	double d;
	int64_t v;

	if (!cJSON_IsNumber(item))
		return fail_field(ctx, f, item);
	d = item->valuedouble;
	/* Checked as a double first: converting an out-of-range double to
	 * int64_t is undefined. */
	if (!isfinite(d) || d != floor(d) || fabs(d) > (double)CFG_INT_EXACT_MAX)
		return fail_field(ctx, f, item);
	v = (int64_t)d;
	if (v < int_min(f) || v > int_max(f))
		return fail_field(ctx, f, item);
	*slot = v;
	return 0;
}

static int read_double(struct cfg_ctx *ctx, const blo_cfg_field_t *f, const cJSON *item,
		       double *slot)
{
	double d;

	if (!cJSON_IsNumber(item))
		return fail_field(ctx, f, item);
	d = item->valuedouble;
	if (!isfinite(d) || (!double_any(f) && (d < f->dmin || d > f->dmax)))
		return fail_field(ctx, f, item);
	*slot = d;
	return 0;
}

static int read_enum(struct cfg_ctx *ctx, const blo_cfg_field_t *f, const cJSON *item,
		     int *slot)
{
	if (!cJSON_IsString(item) || item->valuestring == NULL)
		return fail_field(ctx, f, item);
	for (int i = 0; f->choices[i] != NULL; i++) {
		if (strcmp(f->choices[i], item->valuestring) == 0) {
			*slot = i;
			return 0;
		}
	}
	return fail_field(ctx, f, item);
}

/* Builds the whole list aside and swaps it in, so a failure leaves the
 * caller's default list as it was and nothing half-built behind. */
static int read_strings(struct cfg_ctx *ctx, const blo_cfg_field_t *f, const cJSON *item,
			blo_strlist_t *slot)
{
	blo_strlist_t list = { NULL, 0 };
	size_t n;
	int rc = 0;

	if (!cJSON_IsArray(item))
		return fail_field(ctx, f, item);
	n = count_children(item);
	if (n > 0 && (list.v = calloc(n, sizeof(*list.v))) == NULL)
		return cfg_nomem(ctx);
	for (const cJSON *el = item->child; el != NULL; el = el->next) {
		if (!cJSON_IsString(el) || el->valuestring == NULL) {
			size_t old = path_push(ctx, "[%zu]", list.n);

			rc = fail_got(ctx, "a string", el, false);
			path_pop(ctx, old);
			goto out;
		}
		list.v[list.n] = strdup(el->valuestring);
		if (list.v[list.n] == NULL) {
			rc = cfg_nomem(ctx);
			goto out;
		}
		list.n++;
	}
	strlist_free(slot);
	*slot = list;
	list.v = NULL;
	list.n = 0;
out:
	strlist_free(&list);
	return rc;
}

/* As read_strings: elements start zeroed (a list element has no caller
 * defaults) and the list replaces the caller's only when all of it read. */
static int read_objects(struct cfg_ctx *ctx, const blo_cfg_field_t *f, const cJSON *item,
			blo_objlist_t *slot)
{
	blo_objlist_t list = { NULL, 0 };
	size_t n;
	int rc = 0;

	if (!cJSON_IsArray(item))
		return fail_field(ctx, f, item);
	n = count_children(item);
	if (n > 0 && (list.v = calloc(n, f->elem_size)) == NULL)
		return cfg_nomem(ctx);
	for (const cJSON *el = item->child; el != NULL; el = el->next) {
		size_t old = path_push(ctx, "[%zu]", list.n);

		/* Counted before filling so a half-filled element is freed too. */
		list.n++;
		if (!cJSON_IsObject(el))
			rc = fail_got(ctx, "an object", el, false);
		else
			rc = fill_object(ctx, f->fields, el,
					 (char *)list.v + (list.n - 1) * f->elem_size);
		path_pop(ctx, old);
		if (rc != 0)
			goto out;
	}
	objlist_free(f, slot);
	*slot = list;
	list.v = NULL;
	list.n = 0;
out:
	objlist_free(f, &list);
	return rc;
}

static int read_value(struct cfg_ctx *ctx, const blo_cfg_field_t *f, const cJSON *item,
		      void *out)
{
	void *slot = (char *)out + f->offset;

	switch (f->type) {
	case BLO_CFG_STRING:
	case BLO_CFG_PATH:
		return read_string(ctx, f, item, slot);
	case BLO_CFG_INT:
		return read_int(ctx, f, item, slot);
	case BLO_CFG_BOOL:
		if (!cJSON_IsBool(item))
			return fail_field(ctx, f, item);
		*(bool *)slot = cJSON_IsTrue(item);
		return 0;
	case BLO_CFG_DOUBLE:
		return read_double(ctx, f, item, slot);
	case BLO_CFG_ENUM:
		return read_enum(ctx, f, item, slot);
	case BLO_CFG_STRINGS:
		return read_strings(ctx, f, item, slot);
	case BLO_CFG_OBJECT:
		if (!cJSON_IsObject(item))
			return fail_field(ctx, f, item);
		return fill_object(ctx, f->fields, item, slot);
	case BLO_CFG_OBJECTS:
		return read_objects(ctx, f, item, slot);
	}
	assert(!"unreachable: field type checked by assert_field_valid");
	return BLO_EINVAL;
}

static int fail_unknown_key(struct cfg_ctx *ctx, const blo_cfg_field_t *fields,
			    const char *key)
{
	char shown[CFG_SHOW_MAX];
	char known[256];
	size_t len = 0;

	quote_text(shown, sizeof(shown), key, strlen(key));
	known[0] = '\0';
	for (const blo_cfg_field_t *f = fields; f->key != NULL; f++) {
		if (!append(known, sizeof(known), &len, f == fields ? "" : ", ") ||
		    !append(known, sizeof(known), &len, f->key)) {
			append(known, sizeof(known), &len, " ...");
			break;
		}
	}
	/* shown is quoted already; the path prefix goes inside its quotes. */
	return cfg_fail(ctx, BLO_ECONFIG, "unknown key \"%s%s%s (known: %s)", ctx->path,
			ctx->path_len > 0 ? "." : "", shown + 1, known);
}

/* The member's key; cJSON always sets one, "" guards the impossible. */
static const char *key_of(const cJSON *member)
{
	return member->string != NULL ? member->string : "";
}

/* Reads the members of obj into out as fields lists them. Keys are taken in
 * the file's order and the first problem is the one reported. */
static int fill_object(struct cfg_ctx *ctx, const blo_cfg_field_t *fields, const cJSON *obj,
		       void *out)
{
	for (const blo_cfg_field_t *f = fields; f->key != NULL; f++)
		assert_field_valid(f);
	for (const cJSON *child = obj->child; child != NULL; child = child->next) {
		const char *key = key_of(child);
		const blo_cfg_field_t *f = fields;
		size_t old;
		int rc;

		while (f->key != NULL && strcmp(f->key, key) != 0)
			f++;
		if (f->key == NULL)
			return fail_unknown_key(ctx, fields, key);
		/* Every earlier sibling is a distinct known key, so this scan is
		 * bounded by the schema, not by the file. */
		for (const cJSON *prev = obj->child; prev != child; prev = prev->next) {
			if (strcmp(key_of(prev), key) == 0) {
				old = path_push_key(ctx, key);
				rc = cfg_fail(ctx, BLO_ECONFIG, "duplicate key \"%s\"", ctx->path);
				path_pop(ctx, old);
				return rc;
			}
		}
		old = path_push_key(ctx, f->key);
		rc = read_value(ctx, f, child, out);
		path_pop(ctx, old);
		if (rc != 0)
			return rc;
	}
	for (const blo_cfg_field_t *f = fields; f->key != NULL; f++) {
		if (f->required && cJSON_GetObjectItemCaseSensitive(obj, f->key) == NULL) {
			char expected[384];
			size_t old = path_push_key(ctx, f->key);
			int rc;

			expectation(expected, sizeof(expected), f);
			rc = cfg_fail(ctx, BLO_ECONFIG, "missing required key \"%s\" (%s)", ctx->path,
				      expected);
			path_pop(ctx, old);
			return rc;
		}
	}
	return 0;
}

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Offset of the first \u0000 escape in JSON text that parsed, or len. cJSON
 * would end the C string there, so "id\u0000x" would silently read as "id". */
static size_t find_nul_escape(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\\')
			continue;
		if (len - i >= 6 && memcmp(text + i + 1, "u0000", 5) == 0)
			return i;
		i++; /* the escaped character, so "\\u0000" is not mistaken for one */
	}
	return len;
}

static int fail_json(struct cfg_ctx *ctx, const char *text, size_t len, size_t pos,
		     const char *what)
{
	char near[CFG_SHOW_MAX];
	size_t end = pos;

	if (pos >= len)
		return cfg_fail(ctx, BLO_ECONFIG, "line %zu: %s: unexpected end of file",
				line_of(text, len), what);
	while (end < len && end - pos < CFG_SHOW_MAX && text[end] != '\n')
		end++;
	quote_text(near, sizeof(near), text + pos, end - pos);
	return cfg_fail(ctx, BLO_ECONFIG, "line %zu: %s near %s", line_of(text, pos), what, near);
}

int blo_config_parse(const char *name, const char *base_dir, const char *text, size_t len,
		     const blo_cfg_field_t *schema, void *out, blo_err_t *err)
{
	struct cfg_ctx ctx = { 0 };
	const char *parse_end = NULL;
	cJSON *root = NULL;
	char *copy = NULL;
	const char *nul;
	size_t pos;
	int rc = 0;

	assert(schema != NULL && out != NULL && (text != NULL || len == 0));
	ctx.name = name != NULL ? name : "config";
	ctx.base_dir = base_dir != NULL && base_dir[0] != '\0' ? base_dir : ".";
	ctx.err = err;
	blo_err_clear(err);

	if (len > BLO_CONFIG_MAX_BYTES)
		return cfg_fail(&ctx, BLO_ETOOBIG, "larger than %u bytes", BLO_CONFIG_MAX_BYTES);
	/* cJSON treats a NUL byte as blank space or as the end of a string. */
	nul = len > 0 ? memchr(text, '\0', len) : NULL;
	if (nul != NULL)
		return cfg_fail(&ctx, BLO_ECONFIG, "line %zu: NUL byte: a config file is text",
				line_of(text, (size_t)(nul - text)));
	for (pos = 0; pos < len && is_json_space(text[pos]); pos++)
		;
	if (pos == len)
		return cfg_fail(&ctx, BLO_ECONFIG, "empty: expected a JSON object");

	/* A private NUL-terminated copy: cJSON's number and string scanners are
	 * then never one byte from the end of the caller's buffer, and an error
	 * at the terminator tells "ran out of text" from "bad text". */
	copy = malloc(len + 1);
	if (copy == NULL)
		return cfg_nomem(&ctx);
	memcpy(copy, text, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len + 1, &parse_end, false);
	if (root == NULL) {
		pos = parse_end != NULL && parse_end >= copy ? (size_t)(parse_end - copy) : 0;
		rc = fail_json(&ctx, copy, len, pos, "invalid JSON");
		goto out;
	}
	for (pos = (size_t)(parse_end - copy); pos < len && is_json_space(copy[pos]); pos++)
		;
	if (pos < len) {
		rc = fail_json(&ctx, copy, len, pos, "text after the JSON value");
		goto out;
	}
	pos = find_nul_escape(copy, len);
	if (pos < len) {
		rc = cfg_fail(&ctx, BLO_ECONFIG, "line %zu: strings may not contain NUL (\\u0000)",
			      line_of(copy, pos));
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		char got[CFG_SHOW_MAX + 8];

		describe_value(got, sizeof(got), root, true);
		rc = cfg_fail(&ctx, BLO_ECONFIG, "expected a JSON object at the top level, got %s",
			      got);
		goto out;
	}
	rc = fill_object(&ctx, schema, root, out);
out:
	cJSON_Delete(root);
	free(copy);
	return rc;
}

int blo_config_load(const char *path, const blo_cfg_field_t *schema, void *out, blo_err_t *err)
{
	char *text = NULL;
	char *dir = NULL;
	size_t len = 0;
	int rc;

	assert(path != NULL && schema != NULL && out != NULL);
	blo_err_clear(err);
	rc = blo_read_file(path, BLO_CONFIG_MAX_BYTES, &text, &len);
	if (rc == BLO_ETOOBIG) {
		blo_err_set(err, rc, "%s: larger than %u bytes", path, BLO_CONFIG_MAX_BYTES);
		goto out;
	}
	if (rc == -EINVAL) {
		/* blo_read_file's one -EINVAL: a folder, device or pipe. */
		blo_err_set(err, rc, "%s: not a regular file", path);
		goto out;
	}
	if (rc != 0) {
		blo_err_set(err, rc, "%s: cannot read: %s", path, blo_strerror(rc));
		goto out;
	}
	dir = strdup(path);
	if (dir == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	rc = blo_config_parse(path, dirname(dir), text, len, schema, out, err);
out:
	free(text);
	free(dir);
	return rc;
}

void blo_config_free(const blo_cfg_field_t *schema, void *out)
{
	if (schema == NULL || out == NULL)
		return;
	for (const blo_cfg_field_t *f = schema; f->key != NULL; f++) {
		void *slot = (char *)out + f->offset;

		switch (f->type) {
		case BLO_CFG_STRING:
		case BLO_CFG_PATH:
			free(*(char **)slot);
			*(char **)slot = NULL;
			break;
		case BLO_CFG_STRINGS:
			strlist_free(slot);
			break;
		case BLO_CFG_OBJECT:
			blo_config_free(f->fields, slot);
			break;
		case BLO_CFG_OBJECTS:
			objlist_free(f, slot);
			break;
		default:
			break;
		}
	}
}

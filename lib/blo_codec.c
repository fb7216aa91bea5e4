/*
 * blo_codec: bounded protobuf parse/serialize, the generic JSON <-> protobuf
 * codec driven by protobuf-c's descriptors, alert validation and ids.
 */
#include "blo_codec.h"

#include "blo_util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 256

/* Integers of magnitude 2^53 and beyond cannot be carried exactly by a JSON
 * number as most parsers (cJSON included) read them (2^53 + 1 reads as
 * 2^53): they travel as decimal strings. */
#define JSON_EXACT_INT 9007199254740992LL
#define JSON_EXACT_INT_MAX 9007199254740992.0

#define MEMBER(type, msg, offset) (*(type *)((char *)(msg) + (offset)))
#define CMEMBER(type, msg, offset) (*(const type *)((const char *)(msg) + (offset)))

/* ------------------------------------------------------------ protobuf */

/* True if msg or any message inside it carries fields this schema does not
 * know: such bytes came from a different schema or were altered. */
static bool has_unknown_fields(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	if (msg->n_unknown_fields != 0)
		return true;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    CMEMBER(uint32_t, msg, f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = CMEMBER(size_t, msg, f->quantifier_offset);
			const ProtobufCMessage *const *arr = CMEMBER(ProtobufCMessage *const *, msg, f->offset);

			for (size_t k = 0; k < n; k++)
				if (has_unknown_fields(arr[k]))
					return true;
		} else {
			const ProtobufCMessage *sub = CMEMBER(ProtobufCMessage *, msg, f->offset);

			if (sub != NULL && has_unknown_fields(sub))
				return true;
		}
	}
	return false;
}

bool blo_message_has_unknown_fields(const ProtobufCMessage *msg)
{
	return has_unknown_fields(msg);
}

/* protobuf-c's unpack returns NULL alike for bytes that do not decode and
 * for a failed allocation. Its allocator here is malloc and free (what the
 * default allocator is, so free_unpacked(msg, NULL) frees what it made),
 * and notes whether an allocation failed. */
static void *unpack_alloc(void *data, size_t size)
{
	void *p = malloc(size > 0 ? size : 1);

	if (p == NULL)
		*(bool *)data = true;
	return p;
}

static void unpack_free(void *data, void *p)
{
	(void)data;
	free(p);
}

ProtobufCMessage *blo_message_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
				     size_t len, int *rc)
{
	bool no_memory = false;
	ProtobufCAllocator a = {.alloc = unpack_alloc, .free = unpack_free, .allocator_data = &no_memory};
	ProtobufCMessage *msg = protobuf_c_message_unpack(desc, &a, len, buf);

	*rc = msg != NULL ? 0 : no_memory ? BLO_ENOMEM : BLO_EPARSE;
	return msg;
}

int blo_message_parse(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
		      size_t max, ProtobufCMessage **out, blo_err_t *err)
{
	ProtobufCMessage *msg;
	int rc;

	*out = NULL;
	if (len > max)
		return blo_err_set(err, BLO_ETOOBIG, "%s: %zu bytes exceed the bound of %zu",
				   desc->short_name, len, max);
	msg = blo_message_unpack(desc, buf, len, &rc);
	if (rc == BLO_ENOMEM)
		return blo_err_set(err, BLO_ENOMEM, "%s: out of memory decoding %zu bytes",
				   desc->short_name, len);
	if (msg == NULL)
		return blo_err_set(err, BLO_EPARSE, "%s: bytes do not decode", desc->short_name);
	if (has_unknown_fields(msg)) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return blo_err_set(err, BLO_EPARSE, "%s: bytes carry fields unknown to this schema",
				   desc->short_name);
	}
	*out = msg;
	return 0;
}

int blo_alert_parse(Blonet__Alert **out, const uint8_t *buf, size_t len, blo_err_t *err)
{
	return blo_message_parse(&blonet__alert__descriptor, buf, len, BLO_ALERT_MAX_BYTES,
				 (ProtobufCMessage **)out, err);
}

int blo_message_serialize(const ProtobufCMessage *msg, size_t max, uint8_t **out, size_t *len,
			  blo_err_t *err)
{
	size_t size = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf;

	*out = NULL;
	*len = 0;
	if (size > max)
		return blo_err_set(err, BLO_ETOOBIG, "%s: %zu bytes exceed the bound of %zu",
				   msg->descriptor->short_name, size, max);
	/* malloc(0) may return NULL: an empty message is one byte of buffer. */
	buf = malloc(size > 0 ? size : 1);
	if (buf == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	protobuf_c_message_pack(msg, buf);
	*out = buf;
	*len = size;
	return 0;
}

void blo_message_free(ProtobufCMessage **msg_p)
{
	if (msg_p == NULL || *msg_p == NULL)
		return;
	protobuf_c_message_free_unpacked(*msg_p, NULL);
	*msg_p = NULL;
}

void blo_alert_free(Blonet__Alert **alert_p)
{
	blo_message_free((ProtobufCMessage **)alert_p);
}

const char *blo_enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);

	return v != NULL ? v->name : NULL;
}

/* ------------------------------------------------------------ to JSON */

static cJSON *raw_number(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *raw_number(const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return cJSON_CreateRaw(buf);
}

/* The shortest decimal that reads back as exactly d: cJSON's own printer
 * may round to a neighbouring double. */
static cJSON *double_to_json(double d)
{
	char buf[64];

	if (isnan(d))
		return cJSON_CreateString("NaN");
	if (isinf(d))
		return cJSON_CreateString(d > 0 ? "Infinity" : "-Infinity");
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return cJSON_CreateRaw(buf);
}

static cJSON *int64_to_json(int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	if (v >= JSON_EXACT_INT || v <= -JSON_EXACT_INT)
		return cJSON_CreateString(buf);
	return cJSON_CreateRaw(buf);
}

static cJSON *uint64_to_json(uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	if (v >= (uint64_t)JSON_EXACT_INT)
		return cJSON_CreateString(buf);
	return cJSON_CreateRaw(buf);
}

static cJSON *bytes_to_json(const ProtobufCBinaryData *b)
{
	char *hex = malloc(2 * b->len + 1);
	cJSON *item;

	if (hex == NULL)
		return NULL;
	blo_hex_encode(hex, 2 * b->len + 1, b->data, b->len);
	item = cJSON_CreateString(hex);
	free(hex);
	return item;
}

static int message_to_json(const ProtobufCMessage *msg, cJSON **out);

/* One value of field f stored at p (an element of a repeated field, or the
 * member itself) as JSON. */
static cJSON *value_to_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	cJSON *item = NULL;
	const char *name;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return raw_number("%" PRId32, *(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return raw_number("%" PRIu32, *(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return int64_to_json(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return uint64_to_json(*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return double_to_json(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return double_to_json(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return cJSON_CreateBool(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM:
		name = blo_enum_name(f->descriptor, *(const int *)p);
		/* A value this schema does not name (from newer bytes) stays a
		 * number, which validation and JSON input both refuse. */
		if (name == NULL)
			return raw_number("%d", *(const int *)p);
		return cJSON_CreateString(name);
	case PROTOBUF_C_TYPE_STRING:
		return cJSON_CreateString(*(char *const *)p);
	case PROTOBUF_C_TYPE_BYTES:
		return bytes_to_json(p);
	case PROTOBUF_C_TYPE_MESSAGE:
		if (message_to_json(*(ProtobufCMessage *const *)p, &item) != 0)
			return NULL;
		return item;
	}
	return NULL;
}

static size_t scalar_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return 4;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/* Is the singular field f of msg present? proto3 fields without presence
 * count as absent at their zero value, so output omits them. */
static bool field_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const void *p = (const char *)msg + f->offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return CMEMBER(uint32_t, msg, f->quantifier_offset) == f->id;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
	    f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
		return CMEMBER(protobuf_c_boolean, msg, f->quantifier_offset);
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		return s != NULL && (f->label == PROTOBUF_C_LABEL_OPTIONAL || s[0] != '\0');
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len != 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)p != NULL;
	default: {
		/* Any scalar is zero exactly when all its bytes are (-0.0 aside,
		 * which proto3 also treats as set). */
		static const uint8_t zero[8];

		return memcmp(p, zero, scalar_size(f->type)) != 0;
	}
	}
}

static int message_to_json(const ProtobufCMessage *msg, cJSON **out)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	cJSON *obj = cJSON_CreateObject();

	*out = NULL;
	if (obj == NULL)
		return BLO_ENOMEM;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		cJSON *item;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = CMEMBER(size_t, msg, f->quantifier_offset);
			const char *arr = CMEMBER(char *, msg, f->offset);
			size_t elem = scalar_size(f->type);

			if (n == 0)
				continue;
			item = cJSON_CreateArray();
			if (item == NULL)
				goto nomem;
			for (size_t k = 0; k < n; k++) {
				cJSON *v = value_to_json(f, arr + k * elem);

				if (v == NULL) {
					cJSON_Delete(item);
					goto nomem;
				}
				cJSON_AddItemToArray(item, v);
			}
		} else {
			if (!field_is_set(msg, f))
				continue;
			item = value_to_json(f, (const char *)msg + f->offset);
			if (item == NULL)
				goto nomem;
		}
		cJSON_AddItemToObject(obj, f->name, item);
	}
	*out = obj;
	return 0;
nomem:
	cJSON_Delete(obj);
	return BLO_ENOMEM;
}

int blo_message_to_json(const ProtobufCMessage *msg, cJSON **out)
{
	return message_to_json(msg, out);
}

char *blo_message_to_json_text(const ProtobufCMessage *msg, bool pretty)
{
	cJSON *json = NULL;
	char *text;

	if (message_to_json(msg, &json) != 0)
		return NULL;
	text = pretty ? cJSON_Print(json) : cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	return text;
}

char *blo_alert_to_json(const Blonet__Alert *alert, bool pretty)
{
	return blo_message_to_json_text(&alert->base, pretty);
}

/* ------------------------------------------------------------ from JSON */

static const char *json_type_name(const cJSON *item)
{
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsBool(item))
		return "a boolean";
	if (cJSON_IsArray(item))
		return "an array";
	if (cJSON_IsObject(item))
		return "an object";
	if (cJSON_IsNull(item))
		return "null";
	return "something else";
}

static int json_error(blo_err_t *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int json_error(blo_err_t *err, const char *path, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return blo_err_set(err, BLO_EPARSE, "field \"%s\": %s", path, what);
}

/* Reads an integer from a JSON number (exact only up to 2^53) or a decimal
 * string, within [lo, hi] (as long double to cover both int64 and uint64). */
static int json_integer(const cJSON *item, const char *path, long double lo, long double hi,
			long double *out, blo_err_t *err)
{
	long double v;

	if (cJSON_IsNumber(item)) {
		double d = item->valuedouble;

		if (d != floor(d) || !isfinite(d))
			return json_error(err, path, "expected an integer, got %g", d);
		if (fabs(d) >= JSON_EXACT_INT_MAX)
			return json_error(err, path,
					  "integer of 2^53 or more must be given as a decimal string");
		v = d;
	} else if (cJSON_IsString(item)) {
		const char *s = item->valuestring;
		char *end = NULL;

		errno = 0;
		if (s[0] == '-') {
			long long ll = strtoll(s, &end, 10);

			v = ll;
		} else {
			unsigned long long ull = strtoull(s, &end, 10);

			v = ull;
		}
		if (s[0] == '\0' || *end != '\0' || errno == ERANGE || s[0] == ' ' || s[0] == '+')
			return json_error(err, path, "expected an integer, got \"%.40s\"", s);
	} else {
		return json_error(err, path, "expected an integer, got %s", json_type_name(item));
	}
	if (v < lo || v > hi)
		return json_error(err, path, "integer %.0Lf out of range %.0Lf..%.0Lf", v, lo, hi);
	*out = v;
	return 0;
}

static int json_double(const cJSON *item, const char *path, double *out, blo_err_t *err)
{
	if (cJSON_IsNumber(item)) {
		*out = item->valuedouble;
		return 0;
	}
	if (cJSON_IsString(item)) {
		if (strcmp(item->valuestring, "NaN") == 0) {
			*out = NAN;
			return 0;
		}
		if (strcmp(item->valuestring, "Infinity") == 0) {
			*out = INFINITY;
			return 0;
		}
		if (strcmp(item->valuestring, "-Infinity") == 0) {
			*out = -INFINITY;
			return 0;
		}
	}
	return json_error(err, path, "expected a number, got %s", json_type_name(item));
}

static int json_to_message(const ProtobufCMessageDescriptor *desc, const cJSON *json,
			   const char *path, ProtobufCMessage **out, blo_err_t *err);

/* Converts item into the value of field f at p. Strings, bytes and messages
 * are allocated; the caller's message owns them from then on. */
static int json_to_value(const ProtobufCFieldDescriptor *f, const cJSON *item, const char *path,
			 void *p, blo_err_t *err)
{
	long double iv = 0;
	double dv = 0;
	int rc;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if ((rc = json_integer(item, path, INT32_MIN, INT32_MAX, &iv, err)) != 0)
			return rc;
		*(int32_t *)p = (int32_t)iv;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if ((rc = json_integer(item, path, 0, UINT32_MAX, &iv, err)) != 0)
			return rc;
		*(uint32_t *)p = (uint32_t)iv;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if ((rc = json_integer(item, path, INT64_MIN, INT64_MAX, &iv, err)) != 0)
			return rc;
		*(int64_t *)p = (int64_t)iv;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if ((rc = json_integer(item, path, 0, UINT64_MAX, &iv, err)) != 0)
			return rc;
		*(uint64_t *)p = (uint64_t)iv;
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		if ((rc = json_double(item, path, &dv, err)) != 0)
			return rc;
		*(float *)p = (float)dv;
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		if ((rc = json_double(item, path, &dv, err)) != 0)
			return rc;
		*(double *)p = dv;
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (!cJSON_IsBool(item))
			return json_error(err, path, "expected true or false, got %s",
					  json_type_name(item));
		*(protobuf_c_boolean *)p = cJSON_IsTrue(item);
		return 0;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *ed = f->descriptor;
		const ProtobufCEnumValue *v;

		if (!cJSON_IsString(item))
			return json_error(err, path, "expected a %s name, got %s", ed->short_name,
					  json_type_name(item));
		v = protobuf_c_enum_descriptor_get_value_by_name(ed, item->valuestring);
		if (v == NULL)
			return json_error(err, path, "\"%.40s\" is not a %s value", item->valuestring,
					  ed->short_name);
		*(int *)p = v->value;
		return 0;
	}
	case PROTOBUF_C_TYPE_STRING: {
		char *s;

		if (!cJSON_IsString(item))
			return json_error(err, path, "expected a string, got %s", json_type_name(item));
		s = strdup(item->valuestring);
		if (s == NULL)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
		*(char **)p = s;
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		size_t hexlen;

		if (!cJSON_IsString(item))
			return json_error(err, path, "expected a hex string, got %s",
					  json_type_name(item));
		hexlen = strlen(item->valuestring);
		if (hexlen % 2 != 0)
			return json_error(err, path, "hex string of odd length %zu", hexlen);
		if (hexlen == 0)
			return 0;
		b->data = malloc(hexlen / 2);
		if (b->data == NULL)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
		if (blo_hex_decode(b->data, hexlen / 2, item->valuestring) != 0) {
			free(b->data);
			b->data = NULL;
			return json_error(err, path, "\"%.40s\" is not a hex string", item->valuestring);
		}
		b->len = hexlen / 2;
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return json_to_message(f->descriptor, item, path, (ProtobufCMessage **)p, err);
	}
	return json_error(err, path, "unsupported field type");
}

static int json_to_repeated(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
			    const cJSON *item, const char *path, blo_err_t *err)
{
	size_t *n = &MEMBER(size_t, msg, f->quantifier_offset);
	char **arr = &MEMBER(char *, msg, f->offset);
	size_t elem = scalar_size(f->type);
	int count;
	const cJSON *e;

	if (!cJSON_IsArray(item))
		return json_error(err, path, "expected an array, got %s", json_type_name(item));
	count = cJSON_GetArraySize(item);
	if (count == 0)
		return 0;
	*arr = calloc((size_t)count, elem);
	if (*arr == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	/* *n counts the elements filled so far, so that freeing the message
	 * after a failure part-way frees exactly what was allocated. */
	cJSON_ArrayForEach(e, item) {
		char sub[PATH_MAX_LEN];
		int rc;

		snprintf(sub, sizeof(sub), "%s[%zu]", path, *n);
		if (cJSON_IsNull(e))
			return json_error(err, sub, "null is not allowed in a list");
		rc = json_to_value(f, e, sub, *arr + *n * elem, err);
		if (rc != 0)
			return rc;
		(*n)++;
	}
	return 0;
}

static int json_to_message(const ProtobufCMessageDescriptor *desc, const cJSON *json,
			   const char *path, ProtobufCMessage **out, blo_err_t *err)
{
	ProtobufCMessage *msg = NULL;
	uint8_t *seen = NULL;
	const cJSON *item;
	int rc = 0;

	*out = NULL;
	if (!cJSON_IsObject(json))
		return json_error(err, path[0] ? path : desc->short_name, "expected an object, got %s",
				  json_type_name(json));
	msg = calloc(1, desc->sizeof_message);
	seen = calloc(desc->n_fields > 0 ? desc->n_fields : 1, 1);
	if (msg == NULL || seen == NULL) {
		free(msg);
		msg = NULL;
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto out;
	}
	protobuf_c_message_init(desc, msg);

	cJSON_ArrayForEach(item, json) {
		const ProtobufCFieldDescriptor *f;
		char sub[PATH_MAX_LEN];
		unsigned idx;

		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", item->string);
		f = protobuf_c_message_descriptor_get_field_by_name(desc, item->string);
		if (f == NULL) {
			rc = json_error(err, sub, "unknown field of %s", desc->short_name);
			goto out;
		}
		idx = (unsigned)(f - desc->fields);
		if (seen[idx]) {
			rc = json_error(err, sub, "given twice");
			goto out;
		}
		seen[idx] = 1;
		if (cJSON_IsNull(item))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			rc = json_to_repeated(msg, f, item, sub, err);
		} else {
			if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
				uint32_t *which = &MEMBER(uint32_t, msg, f->quantifier_offset);

				if (*which != 0) {
					rc = json_error(err, sub, "only one field of a oneof may be set");
					goto out;
				}
				*which = f->id;
			} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
				   f->type != PROTOBUF_C_TYPE_MESSAGE &&
				   f->type != PROTOBUF_C_TYPE_STRING) {
				MEMBER(protobuf_c_boolean, msg, f->quantifier_offset) = 1;
			}
			/* Strings start as the shared empty default: never freed. */
			rc = json_to_value(f, item, sub, (char *)msg + f->offset, err);
		}
		if (rc != 0)
			goto out;
	}
out:
	free(seen);
	if (rc != 0 && msg != NULL) {
		protobuf_c_message_free_unpacked(msg, NULL);
		msg = NULL;
	}
	*out = msg;
	return rc;
}

int blo_json_to_message(const ProtobufCMessageDescriptor *desc, const cJSON *json,
			ProtobufCMessage **out, blo_err_t *err)
{
	return json_to_message(desc, json, "", out, err);
}

int blo_json_text_to_message(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
			     ProtobufCMessage **out, blo_err_t *err)
{
	const char *end = NULL;
	cJSON *json;
	int rc;

	*out = NULL;
	if (len > BLO_JSON_MAX_BYTES)
		return blo_err_set(err, BLO_ETOOBIG, "JSON text of %zu bytes exceeds the bound of %u",
				   len, BLO_JSON_MAX_BYTES);
	json = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (json == NULL) {
		size_t at = (end != NULL && end >= text) ? (size_t)(end - text) : 0;

		return blo_err_set(err, BLO_EPARSE, "not valid JSON (at byte %zu)", at);
	}
	while (end != NULL && (size_t)(end - text) < len &&
	       (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end != NULL && (size_t)(end - text) < len && *end != '\0') {
		rc = blo_err_set(err, BLO_EPARSE, "trailing text after the JSON value (at byte %zu)",
				 (size_t)(end - text));
		goto out;
	}
	rc = json_to_message(desc, json, "", out, err);
out:
	cJSON_Delete(json);
	return rc;
}

int blo_json_to_alert(Blonet__Alert **out, const char *text, size_t len, blo_err_t *err)
{
	return blo_json_text_to_message(&blonet__alert__descriptor, text, len,
					(ProtobufCMessage **)out, err);
}

/* ------------------------------------------------------------ validation */

/* ISO 3166-1 alpha-2, officially assigned codes. */
static const char iso3166[] =
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN "
	"BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ "
	"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL "
	"GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM "
	"JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME "
	"MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP "
	"NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD "
	"SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO "
	"TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

bool blo_country_is_valid(const char *cc)
{
	if (cc == NULL || strlen(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z')
		return false;
	/* Codes are two letters and a space apart; the last has no space. */
	for (size_t i = 0; i + 2 <= sizeof(iso3166) - 1; i += 3)
		if (iso3166[i] == cc[0] && iso3166[i + 1] == cc[1])
			return true;
	return false;
}

static int invalid(blo_err_t *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int invalid(blo_err_t *err, const char *field, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return blo_err_set(err, BLO_EVALIDATE, "alert: field \"%s\": %s", field, what);
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_is_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned c = *p;
		unsigned need, min, cp;

		if (c < 0x80) {
			p++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			need = 1, min = 0x80, cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2, min = 0x800, cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return false;
		}
		for (unsigned k = 1; k <= need; k++) {
			if ((p[k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += need + 1;
	}
	return true;
}

/* Where a field is: its name (with its index if repeated) under the field
 * up of the message holding it. Written out only when an error names it:
 * formatting every path of every alert cost more than decoding it. */
typedef struct path {
	const struct path *up; /* NULL: a field of the alert itself */
	const char *name;
	size_t index;
	bool repeated;
} path_t;

/* Writes p as "a.b[2].c" into out (at most size bytes, always ended);
 * returns the length written. */
static size_t path_format(const path_t *p, char *out, size_t size)
{
	size_t n = p->up != NULL ? path_format(p->up, out, size) : 0;
	int w;

	if (n >= size)
		return n;
	if (p->repeated)
		w = snprintf(out + n, size - n, "%s%s[%zu]", n > 0 ? "." : "", p->name, p->index);
	else
		w = snprintf(out + n, size - n, "%s%s", n > 0 ? "." : "", p->name);
	if (w < 0)
		return n;
	return n + (size_t)w < size ? n + (size_t)w : size - 1;
}

/* Walks every field of msg (the message at path up, NULL for the alert):
 * strings must be UTF-8 and enums known values. Protobuf bytes carry
 * neither guarantee. */
static int validate_generic(const ProtobufCMessage *msg, const path_t *up, blo_err_t *err)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		size_t n = 1;
		const char *base = (const char *)msg + f->offset;
		size_t elem = scalar_size(f->type);
		path_t here = {.up = up, .name = f->name,
			       .repeated = f->label == PROTOBUF_C_LABEL_REPEATED};
		char sub[PATH_MAX_LEN];

		if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_ENUM &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    CMEMBER(uint32_t, msg, f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = CMEMBER(size_t, msg, f->quantifier_offset);
			base = *(const char *const *)base;
		}
		for (size_t k = 0; k < n; k++) {
			const void *p = base + k * elem;

			here.index = k;
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				const char *s = *(const char *const *)p;

				if (s != NULL && !utf8_is_valid(s)) {
					path_format(&here, sub, sizeof(sub));
					return invalid(err, sub, "not valid UTF-8");
				}
			} else if (f->type == PROTOBUF_C_TYPE_ENUM) {
				if (blo_enum_name(f->descriptor, *(const int *)p) == NULL) {
					path_format(&here, sub, sizeof(sub));
					return invalid(err, sub, "%d is not a %s value", *(const int *)p,
						       ((const ProtobufCEnumDescriptor *)f->descriptor)
							       ->short_name);
				}
			} else {
				const ProtobufCMessage *m = *(const ProtobufCMessage *const *)p;
				int rc;

				if (m != NULL && (rc = validate_generic(m, &here, err)) != 0)
					return rc;
			}
		}
	}
	return 0;
}

static bool country_ok(const char *cc, bool required)
{
	if (cc == NULL || cc[0] == '\0')
		return !required;
	return blo_country_is_valid(cc);
}

/* The error for a country code that is not country_ok. */
static int country_invalid(blo_err_t *err, const char *field, const char *cc)
{
	if (cc == NULL || cc[0] == '\0')
		return invalid(err, field, "missing");
	return invalid(err, field, "\"%.16s\" is not an ISO 3166 alpha-2 country code", cc);
}

static int check_country(const char *cc, const char *field, bool required, blo_err_t *err)
{
	return country_ok(cc, required) ? 0 : country_invalid(err, field, cc);
}

static bool is_blank(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* HS codes: 6 digits internationally, up to 10 with national subdivisions,
 * written with or without dots ("2939.71" or "293971"). */
static bool hs_code_is_valid(const char *s)
{
	size_t digits = 0;

	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s != '.')
			return false;
	}
	return digits >= 6 && digits <= 10;
}

static int validate_handling(const Blonet__Alert *a, blo_err_t *err)
{
	const Blonet__Handling *h = a->handling;
	char field[64];

	if (h == NULL)
		return invalid(err, "handling", "missing");
	if (h->tlp == BLONET__TLP__TLP_UNSPECIFIED)
		return invalid(err, "handling.tlp", "missing");
	/* Field names are written out only for an error (see path_t). */
	for (size_t i = 0; i < h->n_releasable_to; i++) {
		if (!country_ok(h->releasable_to[i], true)) {
			snprintf(field, sizeof(field), "handling.releasable_to[%zu]", i);
			return country_invalid(err, field, h->releasable_to[i]);
		}
	}
	for (size_t i = 0; i < h->n_addressed_to; i++) {
		if (is_blank(h->addressed_to[i])) {
			snprintf(field, sizeof(field), "handling.addressed_to[%zu]", i);
			return invalid(err, field, "empty");
		}
	}
	if (h->tlp == BLONET__TLP__TLP_RED && h->n_addressed_to == 0)
		return invalid(err, "handling.addressed_to",
			       "TLP:RED requires the principals it is addressed to");
	if (h->tlp == BLONET__TLP__TLP_AMBER_STRICT && h->n_addressed_to == 0)
		return invalid(err, "handling.addressed_to",
			       "TLP:AMBER+STRICT requires the principals or sites it is addressed to");
	return 0;
}

static int validate_location(const Blonet__Location *l, blo_err_t *err)
{
	int rc;

	if (l == NULL)
		return 0;
	if (l->position != NULL) {
		double lat = l->position->latitude;
		double lon = l->position->longitude;

		if (!(lat >= -90.0 && lat <= 90.0))
			return invalid(err, "location.position.latitude", "%g is out of range -90..90",
				       lat);
		if (!(lon >= -180.0 && lon <= 180.0))
			return invalid(err, "location.position.longitude",
				       "%g is out of range -180..180", lon);
	}
	if (l->route != NULL) {
		if ((rc = check_country(l->route->from_country, "location.route.from_country", false,
					err)) != 0)
			return rc;
		if ((rc = check_country(l->route->to_country, "location.route.to_country", false,
					err)) != 0)
			return rc;
	}
	return 0;
}

static int validate_what(const Blonet__Alert *a, blo_err_t *err)
{
	char field[96];

	/* Field names are written out only for an error (see path_t). */
	for (size_t i = 0; i < a->n_subjects; i++) {
		const Blonet__Subject *s = a->subjects[i];

		if (s->kind == BLONET__SUBJECT_KIND__SUBJECT_UNSPECIFIED) {
			snprintf(field, sizeof(field), "subjects[%zu].kind", i);
			return invalid(err, field, "missing");
		}
		if (!country_ok(s->nationality, false)) {
			snprintf(field, sizeof(field), "subjects[%zu].nationality", i);
			return country_invalid(err, field, s->nationality);
		}
		for (size_t k = 0; k < s->n_identifiers; k++) {
			if (is_blank(s->identifiers[k]->value)) {
				snprintf(field, sizeof(field), "subjects[%zu].identifiers[%zu].value", i,
					 k);
				return invalid(err, field, "missing");
			}
		}
	}
	for (size_t i = 0; i < a->n_commodities; i++) {
		const Blonet__Commodity *c = a->commodities[i];

		if (c->kind == BLONET__COMMODITY_KIND__COMMODITY_UNSPECIFIED) {
			snprintf(field, sizeof(field), "commodities[%zu].kind", i);
			return invalid(err, field, "missing");
		}
		if (!(c->quantity >= 0.0) || isinf(c->quantity)) {
			snprintf(field, sizeof(field), "commodities[%zu].quantity", i);
			return invalid(err, field, "%g is not a quantity", c->quantity);
		}
		if (c->quantity > 0.0 && c->unit == BLONET__UNIT__UNIT_UNSPECIFIED) {
			snprintf(field, sizeof(field), "commodities[%zu].unit", i);
			return invalid(err, field, "a quantity needs its unit");
		}
		if (!is_blank(c->hs_code) && !hs_code_is_valid(c->hs_code)) {
			snprintf(field, sizeof(field), "commodities[%zu].hs_code", i);
			return invalid(err, field, "\"%.16s\" is not a 6- to 10-digit HS code",
				       c->hs_code);
		}
	}
	for (size_t i = 0; i < a->n_attributes; i++) {
		if (is_blank(a->attributes[i]->key)) {
			snprintf(field, sizeof(field), "attributes[%zu].key", i);
			return invalid(err, field, "missing");
		}
	}
	return 0;
}

int blo_alert_validate(const Blonet__Alert *a, blo_err_t *err)
{
	Blonet__MessageType t = a->type;
	char field[64];
	int rc;

	if ((rc = validate_generic(&a->base, NULL, err)) != 0)
		return rc;
	if (a->id.len == 0)
		return invalid(err, "id", "missing");
	if (a->id.len != BLO_ID_BYTES)
		return invalid(err, "id", "must be %d bytes, not %zu", BLO_ID_BYTES, a->id.len);
	if (t == BLONET__MESSAGE_TYPE__MESSAGE_TYPE_UNSPECIFIED)
		return invalid(err, "type", "missing");
	if (a->status == BLONET__STATUS__STATUS_UNSPECIFIED)
		return invalid(err, "status", "missing");
	if (a->origin == NULL)
		return invalid(err, "origin", "missing");
	if (is_blank(a->origin->principal))
		return invalid(err, "origin.principal", "missing");
	if (a->origin->agency == BLONET__AGENCY_KIND__AGENCY_UNSPECIFIED)
		return invalid(err, "origin.agency", "missing");
	if ((rc = check_country(a->origin->country, "origin.country", true, err)) != 0)
		return rc;
	if (a->sent_ms <= 0)
		return invalid(err, "sent_ms", "missing");
	if (a->observed_ms < 0)
		return invalid(err, "observed_ms", "negative");
	if (a->expires_ms < 0)
		return invalid(err, "expires_ms", "negative");
	if (a->expires_ms != 0 && a->observed_ms != 0 && a->expires_ms < a->observed_ms)
		return invalid(err, "expires_ms", "expires before it was observed");
	if (a->expires_ms != 0 && a->expires_ms < a->sent_ms)
		return invalid(err, "expires_ms", "expires before it was sent");

	for (size_t i = 0; i < a->n_references; i++) {
		if (a->references[i].len != BLO_ID_BYTES) {
			snprintf(field, sizeof(field), "references[%zu]", i);
			return invalid(err, field, "must be %d bytes, not %zu", BLO_ID_BYTES,
				       a->references[i].len);
		}
	}
	if ((t == BLONET__MESSAGE_TYPE__UPDATE || t == BLONET__MESSAGE_TYPE__CANCEL ||
	     t == BLONET__MESSAGE_TYPE__ACK || t == BLONET__MESSAGE_TYPE__RESPONSE) &&
	    a->n_references == 0)
		return invalid(err, "references", "%s must reference an earlier alert",
			       blo_enum_name(&blonet__message_type__descriptor, (int)t));
	if (t == BLONET__MESSAGE_TYPE__ACK && a->ack_status == BLONET__ACK_STATUS__ACK_UNSPECIFIED)
		return invalid(err, "ack_status", "an ACK says RECEIVED or ACTING");
	if (t != BLONET__MESSAGE_TYPE__ACK && a->ack_status != BLONET__ACK_STATUS__ACK_UNSPECIFIED)
		return invalid(err, "ack_status", "only an ACK carries an ack_status");
	if ((t == BLONET__MESSAGE_TYPE__ALERT || t == BLONET__MESSAGE_TYPE__RFI ||
	     t == BLONET__MESSAGE_TYPE__BULLETIN) &&
	    is_blank(a->headline))
		return invalid(err, "headline", "missing");
	if (t == BLONET__MESSAGE_TYPE__ALERT &&
	    (a->assessment == NULL ||
	     a->assessment->category == BLONET__CATEGORY__CATEGORY_UNSPECIFIED))
		return invalid(err, "assessment.category", "missing");

	if ((rc = validate_handling(a, err)) != 0)
		return rc;
	if ((rc = validate_location(a->location, err)) != 0)
		return rc;
	return validate_what(a, err);
}

/* ------------------------------------------------------------ ids */

void blo_alert_derive_id(uint8_t id[BLO_ID_BYTES], const char *country, Blonet__AgencyKind agency,
			 const char *source_ref)
{
	static const char label[] = "blonet alert id v1";
	const char *agency_name = blo_enum_name(&blonet__agency_kind__descriptor, (int)agency);
	crypto_generichash_state st;

	if (agency_name == NULL)
		agency_name = "";
	/* NUL separators keep ("TH", "CUSTOMSX") and ("THC", "USTOMSX") apart. */
	crypto_generichash_init(&st, NULL, 0, BLO_ID_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label));
	crypto_generichash_update(&st, (const uint8_t *)country, strlen(country) + 1);
	crypto_generichash_update(&st, (const uint8_t *)agency_name, strlen(agency_name) + 1);
	crypto_generichash_update(&st, (const uint8_t *)source_ref, strlen(source_ref) + 1);
	crypto_generichash_final(&st, id, BLO_ID_BYTES);
}

void blo_alert_random_id(uint8_t id[BLO_ID_BYTES])
{
	if (sodium_init() < 0)
		abort(); /* no source of randomness: nothing safe can go on */
	randombytes_buf(id, BLO_ID_BYTES);
}

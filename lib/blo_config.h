/*
 * blo_config: JSON configuration files read against a schema. A schema is a
 * table of keys, each with a type, limits, whether it is required, and where
 * its value goes in the caller's struct. Errors name the file, the key path
 * and what was expected; keys the schema does not list are errors, so a typo
 * never silently falls back to a default.
 */
#ifndef BLO_CONFIG_H
#define BLO_CONFIG_H

#include "blo_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLO_CONFIG_MAX_BYTES (1024u * 1024u)

typedef enum {
	BLO_CFG_STRING = 1, /* char *, malloc()ed */
	BLO_CFG_PATH,       /* char *, relative paths made relative to the file's folder */
	BLO_CFG_INT,        /* int64_t, within [min, max] */
	BLO_CFG_BOOL,       /* bool */
	BLO_CFG_DOUBLE,     /* double, within [dmin, dmax] */
	BLO_CFG_ENUM,       /* int: index into choices */
	BLO_CFG_STRINGS,    /* blo_strlist_t */
	BLO_CFG_OBJECT,     /* a nested struct at offset, keys in fields */
	BLO_CFG_OBJECTS     /* blo_objlist_t of nested structs of elem_size */
} blo_cfg_type_t;

typedef struct {
	char **v;
	size_t n;
} blo_strlist_t;

typedef struct {
	void *v; /* n elements of the schema's elem_size bytes */
	size_t n;
} blo_objlist_t;

typedef struct blo_cfg_field {
	const char *key;        /* NULL ends a table */
	blo_cfg_type_t type;
	bool required;
	size_t offset;          /* offsetof(the caller's struct, member) */
	int64_t min, max;       /* BLO_CFG_INT; min == max == 0: any */
	double dmin, dmax;      /* BLO_CFG_DOUBLE; dmin == dmax == 0: any */
	const char *const *choices; /* BLO_CFG_ENUM: NULL-terminated */
	const struct blo_cfg_field *fields; /* BLO_CFG_OBJECT(S): nested table */
	size_t elem_size;       /* BLO_CFG_OBJECTS: sizeof one element */
	const char *expect;     /* what is expected, in words, for messages */
} blo_cfg_field_t;

/* Reads the file at path (at most BLO_CONFIG_MAX_BYTES) and fills out (a
 * struct the schema describes, zeroed by the caller and holding its
 * defaults) from it; keys absent from the file keep the caller's value.
 * Relative BLO_CFG_PATH values are joined to the file's folder. Every
 * message in err starts with path, e.g.
 *   broker.json: key "journal.map_size": expected an integer from 1048576
 *   to 1099511627776, got "big"
 *   broker.json: unknown key "lisen" (known: identity, listen, ...)
 *   broker.json: missing required key "identity" (path of the identity file)
 *   broker.json: line 3: invalid JSON near "..."
 * Returns 0; BLO_ECONFIG when the text is wrong; -errno when the file cannot
 * be read (-ENOENT: no such file); BLO_ETOOBIG; BLO_ENOMEM. On failure out
 * is left with what was filled: release it with blo_config_free. */
int blo_config_load(const char *path, const blo_cfg_field_t *schema, void *out, blo_err_t *err);

/* As blo_config_load, from text[0..len) (borrowed; need not end in NUL);
 * name is used in messages and base_dir (NULL or "": ".") for BLO_CFG_PATH
 * values. The rules, beyond the schema's:
 *  - the top level is an object; unknown and duplicate keys are errors at
 *    every depth; null is never a value;
 *  - BLO_CFG_INT takes integral numbers (1e6 is 1000000) within [min, max]
 *    and within +-(2^53 - 1), the integers a double holds exactly;
 *  - strings may be empty but may not contain NUL (\u0000); a BLO_CFG_PATH
 *    may not be empty;
 *  - a present STRING, PATH, STRINGS or OBJECTS value replaces (and frees)
 *    the caller's default; BLO_CFG_OBJECTS elements start zeroed. */
int blo_config_parse(const char *name, const char *base_dir, const char *text, size_t len,
		     const blo_cfg_field_t *schema, void *out, blo_err_t *err);

/* Frees every string, list and nested value that loading put in out
 * (strings that are defaults the caller set must be malloc()ed too, or NULL).
 * Leaves out zeroed for those members. */
void blo_config_free(const blo_cfg_field_t *schema, void *out);

#endif

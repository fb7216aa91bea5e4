/*
 * Unit tests of the journal's audit log: the record text, entry-linked
 * records (accept or duplicate, seq and alert filled at commit), the hash
 * chain and its verification against bytes changed in the file, records
 * removed or moved, scans, retention, and audit while the map is full.
 */
#include "audit_test.h"
#include "journal_test.h"

#include <cJSON.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <unistd.h>

#define ID BLO_JOURNAL_ID_BYTES
#define HASH BLO_AUDIT_HASH_BYTES

/* The texts of the audit log, NUL-terminated copies, aseq i at [i - 1]. */
typedef struct {
	char *text[4096];
	uint64_t first_aseq;
	size_t n;
	size_t stop_after; /* 0: never */
} texts_t;

static int collect_text(uint64_t aseq, const char *text, size_t len, void *arg)
{
	texts_t *t = arg;

	assert_true(t->n < 4096);
	if (t->n == 0)
		t->first_aseq = aseq;
	assert_int_equal(aseq, t->first_aseq + t->n);
	t->text[t->n] = strndup(text, len);
	assert_non_null(t->text[t->n]);
	t->n++;
	if (t->stop_after != 0 && t->n == t->stop_after)
		return 7;
	return 0;
}

static void texts_free(texts_t *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->text[i]);
	memset(t, 0, sizeof(*t));
}

/* The text of audit record aseq; caller frees. */
static char *text_at(blo_journal_t *j, uint64_t aseq)
{
	texts_t t = {.stop_after = 1};
	char *text;

	assert_int_equal(blo_journal_audit_scan(j, aseq, 1, collect_text, &t), 7);
	assert_int_equal(t.first_aseq, aseq);
	text = t.text[0];
	return text;
}

static void assert_text_at(blo_journal_t *j, uint64_t aseq, const char *want)
{
	char *text = text_at(j, aseq);

	if (strcmp(text, want) != 0)
		fail_msg("audit %llu:\n  got  %s\n  want %s", (unsigned long long)aseq, text, want);
	free(text);
}

/* The chain must verify with exactly `want` records. */
static void assert_chain_intact(blo_journal_t *j, uint64_t want)
{
	uint64_t records = 0, bad = 99;
	blo_err_t err = {0};
	int rc = blo_journal_audit_verify(j, &records, &bad, &err);

	if (rc != 0)
		fail_msg("verify: %s (%d)", err.msg, rc);
	assert_int_equal(records, want);
	assert_int_equal(bad, 0);
}

/* The chain must break first at bad_want, with bad_want - 1 good records,
 * and say so. */
static void assert_chain_broken_at(blo_journal_t *j, uint64_t bad_want)
{
	uint64_t records = 0, bad = 0;
	blo_err_t err = {0};
	char needle[64];

	assert_int_equal(blo_journal_audit_verify(j, &records, &bad, &err), BLO_ECORRUPT);
	assert_int_equal(bad, bad_want);
	assert_int_equal(records, bad_want - 1);
	snprintf(needle, sizeof(needle), "audit record %llu:", (unsigned long long)bad_want);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" does not name record %llu", err.msg,
			 (unsigned long long)bad_want);
}

/* Commits `count` audit-only records, numbered from first in their detail. */
static void commit_numbered(blo_journal_t *j, uint64_t first, size_t count)
{
	blo_audit_record_t audit[64];
	char details[64][32];

	assert_true(count <= 64);
	for (size_t i = 0; i < count; i++) {
		snprintf(details[i], sizeof(details[i]), "record %llu",
			 (unsigned long long)(first + i));
		audit[i] = rec(BLO_AUDIT_DELIVER, (int64_t)(first + i), "la-console-1", details[i]);
	}
	commit_audit(j, audit, count);
}

/* ---------------------------------------------------------------- text */

static void test_audit_record_text_is_compact_json_in_fixed_order(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint8_t id[ID];
	blo_audit_record_t audit[3];

	(void)state;
	for (int i = 0; i < ID; i++)
		id[i] = (uint8_t)i;
	audit[0] = rec(BLO_AUDIT_ACCEPT, 1700000000123, "th-customs-mukdahan", "ok");
	audit[0].alert_id = id;
	audit[0].seq = 42;
	audit[1] = rec(BLO_AUDIT_SESSION, -5, NULL, NULL);
	audit[2] = rec(BLO_AUDIT_ADMIN, 0, "operator", "registry reloaded: version 7");
	commit_audit(j, audit, 3);
	assert_text_at(j, 1,
		       "{\"aseq\":1,\"time_ms\":1700000000123,\"event\":\"accept\","
		       "\"principal\":\"th-customs-mukdahan\","
		       "\"alert\":\"000102030405060708090a0b0c0d0e0f\",\"seq\":42,"
		       "\"detail\":\"ok\"}");
	/* Absent fields (NULL, seq 0) are left out. */
	assert_text_at(j, 2, "{\"aseq\":2,\"time_ms\":-5,\"event\":\"session\"}");
	assert_text_at(j, 3,
		       "{\"aseq\":3,\"time_ms\":0,\"event\":\"admin\",\"principal\":\"operator\","
		       "\"detail\":\"registry reloaded: version 7\"}");
	assert_chain_intact(j, 3);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_every_event_has_its_name(void **state)
{
	static const char *const want[] = {NULL,      "accept",  "duplicate", "reject", "deliver",
					   "forward", "receive", "session",   "admin"};

	(void)state;
	for (int e = 1; e <= 8; e++)
		assert_string_equal(blo_journal_audit_event_name((blo_audit_event_t)e), want[e]);
	assert_null(blo_journal_audit_event_name((blo_audit_event_t)0));
	assert_null(blo_journal_audit_event_name((blo_audit_event_t)9));
}

static void test_audit_strings_are_escaped_as_valid_utf8_json(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	/* Quote, backslash, newline, tab, a control byte, DEL, two valid
	 * multi-byte characters, then bytes that are not UTF-8: a stray 0xff,
	 * a lead byte without its continuation, and an encoded surrogate. */
	const char *detail = "a\"b\\c\nd\te\x01" "f\x7f é 中 \xff\xc3(\xed\xa0\x80!";
	blo_audit_record_t audit = rec(BLO_AUDIT_REJECT, 1, "peer \"x\"", detail);
	char *text;
	cJSON *json;

	(void)state;
	commit_audit(j, &audit, 1);
	text = text_at(j, 1);
	assert_string_equal(text, "{\"aseq\":1,\"time_ms\":1,\"event\":\"reject\","
				  "\"principal\":\"peer \\\"x\\\"\",\"detail\":"
				  "\"a\\\"b\\\\c\\nd\\te\\u0001f\x7f é 中 "
				  "\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd!\"}");
	/* Any JSON reader takes it back, U+FFFD for each byte that was not
	 * UTF-8. */
	json = cJSON_Parse(text);
	assert_non_null(json);
	assert_string_equal(cJSON_GetObjectItem(json, "detail")->valuestring,
			    "a\"b\\c\nd\te\x01" "f\x7f é 中 \xef\xbf\xbd\xef\xbf\xbd("
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
	assert_string_equal(cJSON_GetObjectItem(json, "principal")->valuestring, "peer \"x\"");
	cJSON_Delete(json);
	free(text);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_long_fields_are_cut_at_a_character_boundary(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	size_t max = BLO_AUDIT_FIELD_MAX;
	char *long_ascii = malloc(max + 1000);
	char *long_utf8 = malloc(max + 2);
	char *exact = malloc(max + 1);
	blo_audit_record_t audit[3];
	cJSON *json;
	char *text;
	const char *got;

	(void)state;
	assert_non_null(long_ascii);
	assert_non_null(long_utf8);
	assert_non_null(exact);
	memset(long_ascii, 'a', max + 999);
	long_ascii[max + 999] = '\0';
	/* 'b' * (max - 1), then a 2-byte character straddling the limit. */
	memset(long_utf8, 'b', max - 1);
	memcpy(long_utf8 + max - 1, "\xc3\xa9", 3);
	memset(exact, 'c', max);
	exact[max] = '\0';
	audit[0] = rec(BLO_AUDIT_REJECT, 1, long_ascii, long_ascii);
	audit[1] = rec(BLO_AUDIT_REJECT, 2, NULL, long_utf8);
	audit[2] = rec(BLO_AUDIT_REJECT, 3, NULL, exact);
	commit_audit(j, audit, 3);

	text = text_at(j, 1);
	json = cJSON_Parse(text);
	assert_non_null(json);
	got = cJSON_GetObjectItem(json, "detail")->valuestring;
	assert_int_equal(strlen(got), max + 3);
	assert_memory_equal(got, long_ascii, max);
	assert_string_equal(got + max, "...");
	assert_string_equal(cJSON_GetObjectItem(json, "principal")->valuestring, got);
	cJSON_Delete(json);
	free(text);

	text = text_at(j, 2);
	json = cJSON_Parse(text);
	assert_non_null(json);
	got = cJSON_GetObjectItem(json, "detail")->valuestring;
	assert_int_equal(strlen(got), max - 1 + 3); /* the straddling character goes */
	assert_string_equal(got + max - 1, "...");
	cJSON_Delete(json);
	free(text);

	text = text_at(j, 3);
	json = cJSON_Parse(text);
	assert_non_null(json);
	assert_string_equal(cJSON_GetObjectItem(json, "detail")->valuestring, exact);
	cJSON_Delete(json);
	free(text);

	assert_chain_intact(j, 3);
	free(long_ascii);
	free(long_utf8);
	free(exact);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- entries */

static void test_audit_accept_of_duplicate_becomes_duplicate_with_stored_seq(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint8_t a[ID], b[ID], given[ID];
	uint8_t data[4] = {1, 2, 3, 4};
	blo_journal_entry_t e[3];
	blo_audit_record_t audit[6];
	blo_journal_batch_t batch = {0};
	char want[512];

	(void)state;
	id_of(1, a);
	id_of(2, b);
	memset(given, 0xab, ID);
	/* First batch: a is stored under seq 1. */
	e[0] = (blo_journal_entry_t){.id = a, .data = data, .len = 4, .time_ms = 10};
	audit[0] = rec(BLO_AUDIT_ACCEPT, 10, "th-customs", NULL);
	audit[0].entry_index = 0;
	batch = (blo_journal_batch_t){.entries = e, .n_entries = 1, .audit = audit, .n_audit = 1};
	E(blo_journal_commit(j, &batch, NULL));
	assert_int_equal(e[0].seq, 1);

	/* Second batch: a again, b new, b again within the batch. */
	e[0] = (blo_journal_entry_t){.id = a, .data = data, .len = 4, .time_ms = 20};
	e[1] = (blo_journal_entry_t){.id = b, .data = data, .len = 4, .time_ms = 20};
	e[2] = (blo_journal_entry_t){.id = b, .data = data, .len = 4, .time_ms = 20};
	for (int i = 0; i < 3; i++) {
		audit[i] = rec(BLO_AUDIT_ACCEPT, 20, "th-customs", NULL);
		audit[i].entry_index = i;
	}
	/* A DUPLICATE about an entry that was stored says accept. */
	audit[3] = rec(BLO_AUDIT_DUPLICATE, 20, "th-customs", NULL);
	audit[3].entry_index = 1;
	/* Other events keep their name and take seq (and alert) only. */
	audit[4] = rec(BLO_AUDIT_DELIVER, 21, "la-console-1", "sub:la-console-1");
	audit[4].entry_index = 0;
	/* An alert_id given wins over the entry's; a seq given does not. */
	audit[5] = rec(BLO_AUDIT_FORWARD, 22, "vn-broker", NULL);
	audit[5].entry_index = 1;
	audit[5].alert_id = given;
	audit[5].seq = 999;
	batch = (blo_journal_batch_t){.entries = e, .n_entries = 3, .audit = audit, .n_audit = 6};
	E(blo_journal_commit(j, &batch, NULL));
	assert_int_equal(e[0].result, BLO_EDUPLICATE);
	assert_int_equal(e[1].result, 0);
	assert_int_equal(e[2].result, BLO_EDUPLICATE);

	{
		char hex[2 * ID + 1];

		sodium_bin2hex(hex, sizeof(hex), a, ID);
		snprintf(want, sizeof(want),
			 "{\"aseq\":2,\"time_ms\":20,\"event\":\"duplicate\","
			 "\"principal\":\"th-customs\",\"alert\":\"%s\",\"seq\":1}",
			 hex);
		assert_text_at(j, 2, want);
		snprintf(want, sizeof(want),
			 "{\"aseq\":6,\"time_ms\":21,\"event\":\"deliver\","
			 "\"principal\":\"la-console-1\",\"alert\":\"%s\",\"seq\":1,"
			 "\"detail\":\"sub:la-console-1\"}",
			 hex);
		assert_text_at(j, 6, want);
		sodium_bin2hex(hex, sizeof(hex), b, ID);
		snprintf(want, sizeof(want),
			 "{\"aseq\":3,\"time_ms\":20,\"event\":\"accept\","
			 "\"principal\":\"th-customs\",\"alert\":\"%s\",\"seq\":2}",
			 hex);
		assert_text_at(j, 3, want);
		snprintf(want, sizeof(want),
			 "{\"aseq\":4,\"time_ms\":20,\"event\":\"duplicate\","
			 "\"principal\":\"th-customs\",\"alert\":\"%s\",\"seq\":2}",
			 hex);
		assert_text_at(j, 4, want);
		snprintf(want, sizeof(want),
			 "{\"aseq\":5,\"time_ms\":20,\"event\":\"accept\","
			 "\"principal\":\"th-customs\",\"alert\":\"%s\",\"seq\":2}",
			 hex);
		assert_text_at(j, 5, want);
		sodium_bin2hex(hex, sizeof(hex), given, ID);
		snprintf(want, sizeof(want),
			 "{\"aseq\":7,\"time_ms\":22,\"event\":\"forward\","
			 "\"principal\":\"vn-broker\",\"alert\":\"%s\",\"seq\":2}",
			 hex);
		assert_text_at(j, 7, want);
	}
	assert_chain_intact(j, 7);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_bad_event_or_entry_index_refuses_the_whole_batch(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint8_t a[ID];
	blo_journal_entry_t e = {.id = a, .data = a, .len = 1, .time_ms = 1};
	blo_audit_record_t audit[2];
	blo_cursor_update_t cursor = {.name = "sub:x", .seq = 1};
	blo_journal_batch_t batch = {
		.entries = &e, .n_entries = 1, .cursors = &cursor, .n_cursors = 1,
		.audit = audit, .n_audit = 2};
	blo_err_t err = {0};
	blo_journal_stats_t st;
	uint64_t seq = 0, head = 0;

	(void)state;
	id_of(1, a);
	audit[0] = rec(BLO_AUDIT_ACCEPT, 1, "p", NULL);
	audit[1] = rec((blo_audit_event_t)0, 1, "p", NULL); /* a zeroed event */
	assert_int_equal(blo_journal_commit(j, &batch, &err), BLO_EINVAL);
	assert_non_null(strstr(err.msg, "audit record 1"));
	assert_int_equal(e.result, BLO_EINVAL);
	assert_int_equal(e.seq, 0);

	audit[1] = rec(BLO_AUDIT_ACCEPT, 1, "p", NULL);
	audit[1].entry_index = 1; /* the batch has one entry */
	assert_int_equal(blo_journal_commit(j, &batch, &err), BLO_EINVAL);
	assert_non_null(strstr(err.msg, "entry_index 1"));
	audit[1].entry_index = -2;
	assert_int_equal(blo_journal_commit(j, &batch, &err), BLO_EINVAL);
	/* A zeroed record in a batch without entries points at no entry. */
	memset(&audit[1], 0, sizeof(audit[1]));
	audit[1].event = BLO_AUDIT_ADMIN;
	batch.n_entries = 0;
	assert_int_equal(blo_journal_commit(j, &batch, &err), BLO_EINVAL);

	/* Nothing of the refused batches was stored. */
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.last_seq, 0);
	assert_int_equal(blo_journal_cursor_get(j, "sub:x", &seq), BLO_ENOTFOUND);
	E(blo_journal_audit_head(j, &head, NULL));
	assert_int_equal(head, 0);
	assert_chain_intact(j, 0);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- chain */

/* Recomputes BLAKE2b-256(prev || text) over the log as the test reads it. */
static void chain_of(blo_journal_t *j, uint8_t out[HASH], uint64_t *count)
{
	texts_t t = {0};

	memset(out, 0, HASH);
	E(blo_journal_audit_scan(j, 1, 0, collect_text, &t));
	for (size_t i = 0; i < t.n; i++) {
		crypto_generichash_state st;

		crypto_generichash_init(&st, NULL, 0, HASH);
		crypto_generichash_update(&st, out, HASH);
		crypto_generichash_update(&st, (const uint8_t *)t.text[i], strlen(t.text[i]));
		crypto_generichash_final(&st, out, HASH);
	}
	*count = t.n;
	texts_free(&t);
}

static void test_audit_chain_is_blake2b_of_previous_hash_and_text(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint8_t head_hash[HASH], want[HASH], zero[HASH] = {0};
	uint64_t head = 99, count = 0;

	(void)state;
	E(blo_journal_audit_head(j, &head, head_hash));
	assert_int_equal(head, 0);
	assert_memory_equal(head_hash, zero, HASH);
	commit_numbered(j, 1, 5);
	commit_numbered(j, 6, 1);
	E(blo_journal_audit_head(j, &head, head_hash));
	assert_int_equal(head, 6);
	chain_of(j, want, &count);
	assert_int_equal(count, 6);
	assert_memory_equal(head_hash, want, HASH);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_chain_verifies_on_clean_log_and_across_reopen(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint8_t before[HASH], after[HASH];
	uint64_t head = 0;

	(void)state;
	assert_chain_intact(j, 0); /* empty */
	for (uint64_t n = 1; n <= 200; n += 40)
		commit_numbered(j, n, 40);
	assert_chain_intact(j, 200);
	E(blo_journal_audit_head(j, &head, before));
	blo_journal_close(&j);

	j = blo_test_journal_open(dir, 0);
	E(blo_journal_audit_head(j, &head, after));
	assert_int_equal(head, 200);
	assert_memory_equal(before, after, HASH);
	assert_chain_intact(j, 200);
	/* The chain goes on from the stored head. */
	commit_numbered(j, 201, 3);
	assert_chain_intact(j, 203);
	assert_text_at(j, 201, "{\"aseq\":201,\"time_ms\":201,\"event\":\"deliver\","
			       "\"principal\":\"la-console-1\",\"detail\":\"record 201\"}");
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_scan_from_aseq_up_to_max_and_stops_early(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	texts_t t = {0};

	(void)state;
	E(blo_journal_audit_scan(j, 0, 0, collect_text, &t));
	assert_int_equal(t.n, 0);
	commit_numbered(j, 1, 30);
	E(blo_journal_audit_scan(j, 0, 0, collect_text, &t)); /* 0: from the first */
	assert_int_equal(t.n, 30);
	assert_int_equal(t.first_aseq, 1);
	texts_free(&t);
	E(blo_journal_audit_scan(j, 25, 3, collect_text, &t));
	assert_int_equal(t.n, 3);
	assert_int_equal(t.first_aseq, 25);
	assert_non_null(strstr(t.text[2], "\"detail\":\"record 27\""));
	texts_free(&t);
	t.stop_after = 2;
	assert_int_equal(blo_journal_audit_scan(j, 10, 0, collect_text, &t), 7);
	assert_int_equal(t.n, 2);
	texts_free(&t);
	E(blo_journal_audit_scan(j, 31, 0, collect_text, &t)); /* past the end */
	assert_int_equal(t.n, 0);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_records_are_never_purged(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint8_t ids[20][ID];
	blo_journal_entry_t e[20];
	blo_audit_record_t audit[20];
	blo_journal_batch_t batch = {.entries = e, .n_entries = 20, .audit = audit, .n_audit = 20};
	blo_journal_stats_t st;
	uint64_t purged = 0;
	char *text;

	(void)state;
	for (int i = 0; i < 20; i++) {
		id_of((uint64_t)i, ids[i]);
		e[i] = (blo_journal_entry_t){.id = ids[i], .data = ids[i], .len = ID, .time_ms = i};
		audit[i] = rec(BLO_AUDIT_ACCEPT, i, "th-customs", NULL);
		audit[i].entry_index = i;
	}
	E(blo_journal_commit(j, &batch, NULL));
	E(blo_journal_purge(j, 1000, 0, &purged, NULL));
	assert_int_equal(purged, 20);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.count, 0);
	assert_chain_intact(j, 20);
	text = text_at(j, 20);
	assert_non_null(strstr(text, "\"seq\":20}"));
	free(text);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- tampering */

/* Changes the byte `offset` bytes after marker in the journal's data file
 * (the journal must be closed), in the one live copy of the marked record.
 * That record is made big enough for an overflow page of its own, which
 * LMDB writes once, its value right after the 16-byte page header. Other
 * occurrences can exist: LMDB reuses page buffers without clearing them,
 * so a later page may carry stale bytes of the record in its free space;
 * they are no value of any database. */
static void flip_byte_after_marker(const char *dir, const char *marker, size_t offset)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE); /* LMDB's page size */
	const uint16_t overflow_flag = 0x04;                 /* LMDB's P_OVERFLOW */
	char *path = NULL;
	FILE *f;
	long size;
	uint8_t *buf, *live = NULL;
	size_t lives = 0;

	assert_true(asprintf(&path, "%s/data.mdb", dir) > 0);
	f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size > 0);
	buf = malloc((size_t)size);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	for (uint8_t *hit = buf; (hit = memmem(hit, (size_t)size - (size_t)(hit - buf), marker,
					       strlen(marker))) != NULL;
	     hit++) {
		uint8_t *start = buf + (size_t)(hit - buf) / page * page;
		uint16_t flags;

		memcpy(&flags, start + 10, 2);
		if ((flags & overflow_flag) != 0 && memcmp(start + 16, "{\"aseq\":", 8) == 0) {
			live = hit;
			lives++;
		}
	}
	assert_int_equal(lives, 1); /* the marker is unique among live values */
	assert_true((size_t)(live - buf) + offset < (size_t)size);
	live[offset] ^= 0x01;
	assert_int_equal(fseek(f, (long)(live - buf) + (long)offset, SEEK_SET), 0);
	assert_int_equal(fwrite(&live[offset], 1, 1, f), 1);
	assert_int_equal(fclose(f), 0);
	free(buf);
	free(path);
}

/* Ten records, the fifth carrying marker then 3000 'x' as its detail. */
static void write_log_with_marked_record(const char *dir, const char *marker)
{
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	char *detail = malloc(strlen(marker) + 3001);
	blo_audit_record_t audit;

	assert_non_null(detail);
	strcpy(detail, marker);
	memset(detail + strlen(marker), 'x', 3000);
	detail[strlen(marker) + 3000] = '\0';
	commit_numbered(j, 1, 4);
	audit = rec(BLO_AUDIT_REJECT, 5, "th-customs", detail);
	commit_audit(j, &audit, 1);
	commit_numbered(j, 6, 5);
	assert_chain_intact(j, 10);
	blo_journal_close(&j);
	free(detail);
}

static void test_audit_verify_finds_one_changed_byte_of_a_record_text(void **state)
{
	char *dir = blo_test_mkdtemp();
	const char *marker = "MARK-text-5c1e9b";
	blo_journal_t *j;
	char *text;

	(void)state;
	write_log_with_marked_record(dir, marker);
	flip_byte_after_marker(dir, marker, 5); /* "MARK-" + 't' -> 'u' */
	j = blo_test_journal_open(dir, 0); /* LMDB checks no value: it opens */
	text = text_at(j, 5);
	assert_non_null(strstr(text, "MARK-uext"));
	free(text);
	assert_chain_broken_at(j, 5);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_verify_finds_one_changed_byte_of_a_record_hash(void **state)
{
	char *dir = blo_test_mkdtemp();
	const char *marker = "MARK-hash-73d0a2";
	blo_journal_t *j;

	(void)state;
	write_log_with_marked_record(dir, marker);
	/* The text ends with the detail, a quote and a brace; the hash
	 * follows. */
	flip_byte_after_marker(dir, marker, strlen(marker) + 3000 + 2 + 7);
	j = blo_test_journal_open(dir, 0);
	assert_chain_broken_at(j, 5);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* Opens the journal's LMDB store directly, as someone with the file would
 * (the journal must be closed). */
static void raw_open(const char *dir, MDB_env **env, MDB_txn **txn, MDB_dbi *audit)
{
	assert_int_equal(mdb_env_create(env), 0);
	assert_int_equal(mdb_env_set_maxdbs(*env, 8), 0);
	assert_int_equal(mdb_env_set_mapsize(*env, (size_t)1 << 30), 0);
	assert_int_equal(mdb_env_open(*env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(*env, NULL, 0, txn), 0);
	assert_int_equal(mdb_dbi_open(*txn, "audit", 0, audit), 0);
}

static void raw_commit(MDB_env *env, MDB_txn *txn)
{
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static MDB_val aseq_key(uint8_t buf[8], uint64_t aseq)
{
	MDB_val key = {.mv_size = 8, .mv_data = buf};

	for (int i = 7; i >= 0; i--) {
		buf[i] = (uint8_t)aseq;
		aseq >>= 8;
	}
	return key;
}

static void raw_delete(const char *dir, uint64_t aseq)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi audit;
	uint8_t buf[8];
	MDB_val key = aseq_key(buf, aseq);

	raw_open(dir, &env, &txn, &audit);
	assert_int_equal(mdb_del(txn, audit, &key, NULL), 0);
	raw_commit(env, txn);
}

static void test_audit_verify_finds_a_removed_record(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);

	(void)state;
	commit_numbered(j, 1, 10);
	blo_journal_close(&j);
	raw_delete(dir, 4);
	j = blo_test_journal_open(dir, 0);
	assert_chain_broken_at(j, 4);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_verify_finds_the_newest_record_removed(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);

	(void)state;
	commit_numbered(j, 1, 10);
	blo_journal_close(&j);
	raw_delete(dir, 10); /* what remains is a whole chain, short of the head */
	j = blo_test_journal_open(dir, 0);
	assert_chain_broken_at(j, 10);
	/* New records go on after the head: the gap stays in evidence. */
	commit_numbered(j, 11, 1);
	assert_chain_broken_at(j, 10);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_verify_finds_swapped_records(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi audit;
	uint8_t buf6[8], buf7[8];
	MDB_val k6 = aseq_key(buf6, 6), k7 = aseq_key(buf7, 7), v6, v7;
	void *copy6, *copy7;

	(void)state;
	commit_numbered(j, 1, 10);
	blo_journal_close(&j);
	raw_open(dir, &env, &txn, &audit);
	assert_int_equal(mdb_get(txn, audit, &k6, &v6), 0);
	assert_int_equal(mdb_get(txn, audit, &k7, &v7), 0);
	copy6 = malloc(v6.mv_size);
	copy7 = malloc(v7.mv_size);
	assert_non_null(copy6);
	assert_non_null(copy7);
	memcpy(copy6, v6.mv_data, v6.mv_size);
	memcpy(copy7, v7.mv_data, v7.mv_size);
	v6.mv_data = copy6;
	v7.mv_data = copy7;
	assert_int_equal(mdb_put(txn, audit, &k6, &v7, 0), 0);
	assert_int_equal(mdb_put(txn, audit, &k7, &v6, 0), 0);
	raw_commit(env, txn);
	free(copy6);
	free(copy7);
	j = blo_test_journal_open(dir, 0);
	assert_chain_broken_at(j, 6);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_refuses_to_write_over_a_record_beyond_the_head(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi audit;
	uint8_t buf[8];
	MDB_val key = aseq_key(buf, 4);
	char forged[64] = "{\"aseq\":4,\"time_ms\":0,\"event\":\"admin\"}";
	MDB_val val = {.mv_size = sizeof(forged), .mv_data = forged};
	blo_audit_record_t r = rec(BLO_AUDIT_ADMIN, 1, "operator", NULL);
	blo_journal_batch_t batch = {.audit = &r, .n_audit = 1};
	blo_err_t err = {0};

	(void)state;
	commit_numbered(j, 1, 3);
	blo_journal_close(&j);
	raw_open(dir, &env, &txn, &audit);
	assert_int_equal(mdb_put(txn, audit, &key, &val, 0), 0);
	raw_commit(env, txn);
	j = blo_test_journal_open(dir, 0);
	assert_chain_broken_at(j, 4);
	assert_int_equal(blo_journal_commit(j, &batch, &err), BLO_ECORRUPT);
	assert_non_null(strstr(err.msg, "audit record 4"));
	assert_chain_broken_at(j, 4); /* the evidence is still there */
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- full map */

/* Commits batches of `batch` entries of len bytes, each with an ACCEPT
 * record, until one is refused; returns that refusal. The audit head must
 * not move on the refusal. */
static int fill_with_audited_entries(blo_journal_t *j, uint64_t *next, size_t batch, size_t len)
{
	uint8_t *data = calloc(1, len + 1);
	blo_journal_entry_t *e = calloc(batch, sizeof(*e));
	blo_audit_record_t *audit = calloc(batch, sizeof(*audit));
	uint8_t (*ids)[ID] = calloc(batch, ID);
	uint64_t head_before = 0, head_after = 0;
	int rc = 0;

	assert_non_null(data);
	assert_non_null(e);
	assert_non_null(audit);
	assert_non_null(ids);
	while (rc == 0) {
		blo_journal_batch_t b = {
			.entries = e, .n_entries = batch, .audit = audit, .n_audit = batch};

		assert_true(*next < 1000000);
		for (size_t i = 0; i < batch; i++) {
			id_of(*next + i, ids[i]);
			e[i] = (blo_journal_entry_t){
				.id = ids[i], .data = data, .len = len, .time_ms = 0};
			audit[i] = rec(BLO_AUDIT_ACCEPT, 0, "th-customs", NULL);
			audit[i].entry_index = (int)i;
		}
		E(blo_journal_audit_head(j, &head_before, NULL));
		rc = blo_journal_commit(j, &b, NULL);
		if (rc == 0)
			*next += batch;
	}
	E(blo_journal_audit_head(j, &head_after, NULL));
	assert_int_equal(head_after, head_before);
	free(ids);
	free(audit);
	free(e);
	free(data);
	return rc;
}

static void test_audit_only_batch_commits_after_map_full_refuses_a_batch(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 1 << 20);
	uint64_t next = 1, stored, head = 0, purged = 0, seq = 0;
	blo_audit_record_t refusals[10];
	blo_cursor_update_t cursor = {.name = "sub:la-console-1", .seq = 5};
	blo_journal_batch_t batch = {.cursors = &cursor, .n_cursors = 1,
				     .audit = refusals, .n_audit = 10};
	blo_journal_stats_t st;
	blo_err_t err = {0};

	(void)state;
	/* Fill to the brim: until not even one empty envelope fits. */
	assert_int_equal(fill_with_audited_entries(j, &next, 20, 500), BLO_EFULL);
	assert_int_equal(fill_with_audited_entries(j, &next, 1, 0), BLO_EFULL);
	stored = next - 1;
	assert_chain_intact(j, stored);

	/* The refusals are audited, with a cursor, in one batch. */
	for (int i = 0; i < 10; i++)
		refusals[i] = rec(BLO_AUDIT_REJECT, 1, "th-customs", "journal full");
	E(blo_journal_commit(j, &batch, &err));
	E(blo_journal_audit_head(j, &head, NULL));
	assert_int_equal(head, stored + 10);
	E(blo_journal_cursor_get(j, "sub:la-console-1", &seq));
	assert_int_equal(seq, 5);
	/* And go on doing so beyond the brim, into the reserve. */
	E(blo_journal_stats(j, &st));
	while (st.map_size == 1 << 20) {
		assert_true(head < stored + 100000);
		commit_audit(j, refusals, 10);
		head += 10;
		E(blo_journal_stats(j, &st));
	}
	assert_true(st.map_size <= (1 << 20) + 64 * 4096);

	/* Entries are refused from then on, even one empty envelope, and say
	 * why... */
	assert_int_equal(fill_with_audited_entries(j, &next, 1, 0), BLO_EFULL);
	{
		uint8_t id[ID];
		blo_journal_entry_t e = {.id = id, .data = id, .len = 0};

		id_of(next, id);
		assert_int_equal(blo_journal_append(j, &e, 1, &err), BLO_EFULL);
		assert_int_equal(e.result, BLO_EFULL);
		assert_int_equal(e.seq, 0);
		assert_non_null(strstr(err.msg, "1048576"));
		assert_non_null(strstr(err.msg, dir));
	}
	/* ...while audit records keep going in. */
	for (int round = 0; round < 20; round++)
		commit_audit(j, refusals, 10);
	head += 200;
	assert_chain_intact(j, head);

	/* A purge makes room for entries again. */
	E(blo_journal_purge(j, 0, 10, &purged, NULL));
	assert_int_equal(purged, stored - 10);
	assert_int_equal(fill_with_audited_entries(j, &next, 20, 500), BLO_EFULL);
	assert_true(next - 1 > stored + 100);
	E(blo_journal_audit_head(j, &head, NULL));
	assert_chain_intact(j, head);
	E(blo_journal_stats(j, &st));
	assert_true(st.map_size <= (1 << 20) + 64 * 4096);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_reserve_of_a_full_map_is_bounded(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 1 << 20);
	uint64_t next = 1, head = 0;
	char detail[256];
	blo_audit_record_t audit[50];
	blo_journal_batch_t batch = {.audit = audit, .n_audit = 50};
	blo_journal_stats_t st;
	size_t batches = 0;
	int rc = 0;

	(void)state;
	memset(detail, 'r', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	for (int i = 0; i < 50; i++)
		audit[i] = rec(BLO_AUDIT_REJECT, i, "th-customs", detail);
	assert_int_equal(fill_with_audited_entries(j, &next, 10, 300), BLO_EFULL);
	while (rc == 0) {
		assert_true(batches < 10000);
		rc = blo_journal_commit(j, &batch, NULL);
		if (rc == 0)
			batches++;
	}
	assert_int_equal(rc, BLO_EFULL);
	assert_true(batches > 0);
	E(blo_journal_stats(j, &st));
	assert_true(st.map_size <= (1 << 20) + 64 * 4096);
	E(blo_journal_audit_head(j, &head, NULL));
	assert_int_equal(head, next - 1 + 50 * batches);
	assert_chain_intact(j, head);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- threads */

typedef struct {
	blo_journal_t *j;
	atomic_int stop;
	uint64_t checks;
	int failure;
} verifier_arg_t;

static void *verifier_thread(void *p)
{
	verifier_arg_t *arg = p;
	uint64_t last = 0;

	while (!atomic_load(&arg->stop) && arg->failure == 0) {
		uint64_t records = 0, bad = 0;
		int rc = blo_journal_audit_verify(arg->j, &records, &bad, NULL);

		if (rc != 0)
			arg->failure = rc;
		else if (records % 25 != 0 || records < last)
			arg->failure = 1; /* a batch seen in part, or going back */
		last = records;
		arg->checks++;
	}
	return NULL;
}

static void test_audit_verify_in_another_thread_sees_whole_batches(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	verifier_arg_t arg = {.j = j};
	pthread_t thread;

	(void)state;
	assert_int_equal(pthread_create(&thread, NULL, verifier_thread, &arg), 0);
	for (uint64_t n = 1; n <= 200 * 25; n += 25)
		commit_numbered(j, n, 25);
	atomic_store(&arg.stop, 1);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(arg.failure, 0);
	assert_true(arg.checks > 0);
	assert_chain_intact(j, 200 * 25);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_record_text_is_compact_json_in_fixed_order),
		cmocka_unit_test(test_audit_every_event_has_its_name),
		cmocka_unit_test(test_audit_strings_are_escaped_as_valid_utf8_json),
		cmocka_unit_test(test_audit_long_fields_are_cut_at_a_character_boundary),
		cmocka_unit_test(test_audit_accept_of_duplicate_becomes_duplicate_with_stored_seq),
		cmocka_unit_test(test_audit_bad_event_or_entry_index_refuses_the_whole_batch),
		cmocka_unit_test(test_audit_chain_is_blake2b_of_previous_hash_and_text),
		cmocka_unit_test(test_audit_chain_verifies_on_clean_log_and_across_reopen),
		cmocka_unit_test(test_audit_scan_from_aseq_up_to_max_and_stops_early),
		cmocka_unit_test(test_audit_records_are_never_purged),
		cmocka_unit_test(test_audit_verify_finds_one_changed_byte_of_a_record_text),
		cmocka_unit_test(test_audit_verify_finds_one_changed_byte_of_a_record_hash),
		cmocka_unit_test(test_audit_verify_finds_a_removed_record),
		cmocka_unit_test(test_audit_verify_finds_the_newest_record_removed),
		cmocka_unit_test(test_audit_verify_finds_swapped_records),
		cmocka_unit_test(test_audit_refuses_to_write_over_a_record_beyond_the_head),
		cmocka_unit_test(test_audit_only_batch_commits_after_map_full_refuses_a_batch),
		cmocka_unit_test(test_audit_reserve_of_a_full_map_is_bounded),
		cmocka_unit_test(test_audit_verify_in_another_thread_sees_whole_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

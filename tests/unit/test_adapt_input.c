/*
 * Unit tests for blo_adapt_input: record framing of JSON Lines and CSV with
 * record and line numbers, blank lines, CRLF, byte order marks, quoted CSV
 * fields across lines, and every kind of unreadable record coming back
 * named, with the records after it read as usual.
 */
#include "blo_test.h"

#include "blo_adapt.h"

typedef struct {
	FILE *f;
	blo_adapt_input_t *in;
} reader_t;

static void open_reader(reader_t *r, blo_adapt_format_t fmt, const char *text, size_t len)
{
	blo_err_t err = { 0 };

	r->f = fmemopen((void *)text, len, "r");
	assert_non_null(r->f);
	E(blo_adapt_input_open(&r->in, fmt, r->f, &err));
}

static void close_reader(reader_t *r)
{
	blo_adapt_input_close(&r->in);
	assert_null(r->in);
	blo_adapt_input_close(&r->in);
	fclose(r->f);
}

static void next_ok(reader_t *r, blo_adapt_record_t *rec)
{
	blo_err_t err = { 0 };

	assert_int_equal(blo_adapt_input_next(r->in, rec, &err), 1);
}

static void at_end(reader_t *r)
{
	blo_adapt_record_t rec;
	blo_err_t err = { 0 };

	assert_int_equal(blo_adapt_input_next(r->in, &rec, &err), 0);
	assert_int_equal(blo_adapt_input_next(r->in, &rec, &err), 0);
}

static void test_json_lines_skip_blanks_and_count_lines(void **state)
{
	static const char text[] = "\xef\xbb\xbf{\"a\":1}\r\n\r\n   \n{\"b\":2}\n\t\n{\"c\":3}";
	blo_adapt_record_t rec;
	reader_t r;

	(void)state;
	open_reader(&r, BLO_ADAPT_JSON_LINES, text, sizeof(text) - 1);
	next_ok(&r, &rec);
	assert_int_equal(rec.number, 1);
	assert_int_equal(rec.line, 1);
	assert_string_equal(rec.text, "{\"a\":1}"); /* no BOM, no CR */
	assert_int_equal(rec.len, 7);
	assert_null(rec.problem);
	next_ok(&r, &rec);
	assert_int_equal(rec.number, 2);
	assert_int_equal(rec.line, 4);
	assert_string_equal(rec.text, "{\"b\":2}");
	next_ok(&r, &rec);
	assert_int_equal(rec.number, 3);
	assert_int_equal(rec.line, 6);
	assert_string_equal(rec.text, "{\"c\":3}"); /* no final newline */
	at_end(&r);
	assert_int_equal(blo_adapt_input_lines(r.in), 6);
	close_reader(&r);
}

static void test_empty_input_has_no_record(void **state)
{
	reader_t r;

	(void)state;
	open_reader(&r, BLO_ADAPT_JSON_LINES, "\n\n", 2);
	at_end(&r);
	close_reader(&r);
}

static void test_bad_bytes_are_named_and_reading_goes_on(void **state)
{
	static const char text[] = "{\"a\":\"\xc3\x28\"}\n{\"b\":\"\xed\xa0\x80\"}\n{\"c\":\"x\0y\"}\n"
				   "{\"d\":\"\xe0\xb8\x81\"}\n";
	blo_adapt_record_t rec;
	reader_t r;

	(void)state;
	open_reader(&r, BLO_ADAPT_JSON_LINES, text, sizeof(text) - 1);
	next_ok(&r, &rec);
	assert_string_equal(rec.problem, "not valid UTF-8 at byte 6");
	next_ok(&r, &rec); /* a UTF-16 surrogate */
	assert_string_equal(rec.problem, "not valid UTF-8 at byte 6");
	next_ok(&r, &rec);
	assert_string_equal(rec.problem, "a NUL byte at byte 7");
	next_ok(&r, &rec); /* Thai ko kai: fine */
	assert_null(rec.problem);
	assert_int_equal(rec.number, 4);
	at_end(&r);
	close_reader(&r);
}

static void test_a_record_too_long_is_refused_alone(void **state)
{
	size_t big = BLO_ADAPT_RECORD_MAX_BYTES * 3;
	char *text = malloc(big + 64);
	blo_adapt_record_t rec;
	size_t n = 0;
	reader_t r;

	(void)state;
	assert_non_null(text);
	n += (size_t)sprintf(text, "{\"a\":1}\n");
	memset(text + n, 'x', big);
	n += big;
	n += (size_t)sprintf(text + n, "\n{\"b\":2}\n");
	open_reader(&r, BLO_ADAPT_JSON_LINES, text, n);
	next_ok(&r, &rec);
	assert_null(rec.problem);
	next_ok(&r, &rec);
	assert_int_equal(rec.number, 2);
	assert_int_equal(rec.line, 2);
	assert_non_null(strstr(rec.problem, "longer than"));
	next_ok(&r, &rec);
	assert_int_equal(rec.number, 3);
	assert_int_equal(rec.line, 3);
	assert_string_equal(rec.text, "{\"b\":2}");
	at_end(&r);
	close_reader(&r);
	free(text);
}

static void test_csv_fields_unquote_commas_quotes_and_line_breaks(void **state)
{
	static const char text[] =
		"a,b,c\r\n"
		"1,\"x, y\",\"say \"\"hi\"\"\"\r\n"
		"2,\"two\r\nlines\",\r\n"
		",,\r\n"
		"3,ก ข,\"\"\n";
	blo_adapt_record_t rec;
	reader_t r;

	(void)state;
	open_reader(&r, BLO_ADAPT_CSV, text, sizeof(text) - 1);
	next_ok(&r, &rec);
	assert_int_equal(rec.number, 0); /* the header */
	assert_int_equal(rec.n_fields, 3);
	assert_string_equal(rec.fields[2], "c");
	next_ok(&r, &rec);
	assert_int_equal(rec.number, 1);
	assert_int_equal(rec.line, 2);
	assert_int_equal(rec.n_fields, 3);
	assert_string_equal(rec.fields[0], "1");
	assert_string_equal(rec.fields[1], "x, y");
	assert_string_equal(rec.fields[2], "say \"hi\"");
	next_ok(&r, &rec);
	assert_int_equal(rec.number, 2);
	assert_int_equal(rec.line, 3);
	assert_int_equal(rec.n_fields, 3);
	assert_string_equal(rec.fields[1], "two\nlines");
	assert_string_equal(rec.fields[2], "");
	assert_string_equal(rec.text, "2,\"two\nlines\",");
	next_ok(&r, &rec);
	assert_int_equal(rec.number, 3);
	assert_int_equal(rec.line, 5);
	assert_int_equal(rec.n_fields, 3);
	assert_string_equal(rec.fields[0], "");
	next_ok(&r, &rec);
	assert_int_equal(rec.line, 6);
	assert_string_equal(rec.fields[1], "ก ข");
	assert_string_equal(rec.fields[2], "");
	at_end(&r);
	close_reader(&r);
}

static void test_csv_quote_that_never_closes_gives_back_later_rows(void **state)
{
	static const char text[] = "h1,h2\n"
				   "1,\"open\n"
				   "2,two\n"
				   "3,three\n";
	blo_adapt_record_t rec;
	reader_t r;

	(void)state;
	open_reader(&r, BLO_ADAPT_CSV, text, sizeof(text) - 1);
	next_ok(&r, &rec); /* header */
	next_ok(&r, &rec);
	assert_int_equal(rec.number, 1);
	assert_int_equal(rec.line, 2);
	assert_string_equal(rec.problem, "a quoted field is not closed");
	assert_string_equal(rec.text, "1,\"open");
	next_ok(&r, &rec);
	assert_null(rec.problem);
	assert_int_equal(rec.number, 2);
	assert_int_equal(rec.line, 3);
	assert_string_equal(rec.fields[1], "two");
	next_ok(&r, &rec);
	assert_int_equal(rec.line, 4);
	assert_string_equal(rec.fields[1], "three");
	at_end(&r);
	close_reader(&r);
}

static void test_csv_malformed_rows_name_their_column(void **state)
{
	static const char text[] = "a,b,c\n"
				   "1,x\"y,3\n"
				   "1,\"q\"z,3\n"
				   "ok,ok,ok\n";
	blo_adapt_record_t rec;
	reader_t r;

	(void)state;
	open_reader(&r, BLO_ADAPT_CSV, text, sizeof(text) - 1);
	next_ok(&r, &rec);
	next_ok(&r, &rec);
	assert_string_equal(rec.problem, "a quote inside an unquoted field");
	assert_int_equal(rec.problem_column, 2);
	next_ok(&r, &rec);
	assert_string_equal(rec.problem, "text after the closing quote");
	assert_int_equal(rec.problem_column, 2);
	next_ok(&r, &rec);
	assert_null(rec.problem);
	assert_int_equal(rec.n_fields, 3);
	at_end(&r);
	close_reader(&r);
}

static void test_csv_too_many_fields(void **state)
{
	char text[1024];
	size_t n = 0;
	blo_adapt_record_t rec;
	reader_t r;

	(void)state;
	for (int i = 0; i < BLO_ADAPT_CSV_MAX_FIELDS + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%sf", i > 0 ? "," : "");
	text[n++] = '\n';
	open_reader(&r, BLO_ADAPT_CSV, text, n);
	next_ok(&r, &rec);
	assert_non_null(rec.problem);
	assert_non_null(strstr(rec.problem, "more than"));
	at_end(&r);
	close_reader(&r);
}

static void test_utf8_check_is_strict(void **state)
{
	(void)state;
	assert_int_equal(blo_adapt_utf8_check("abc", 3), 3);
	assert_int_equal(blo_adapt_utf8_check("\xe0\xb8\x81\xe1\x80\x80", 6), 6); /* Thai, Burmese */
	assert_int_equal(blo_adapt_utf8_check("\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(blo_adapt_utf8_check("a\xc0\xaf", 3), 1);     /* overlong */
	assert_int_equal(blo_adapt_utf8_check("\xe0\x80\xaf", 3), 0);  /* overlong */
	assert_int_equal(blo_adapt_utf8_check("\xed\xb0\x80", 3), 0);  /* surrogate */
	assert_int_equal(blo_adapt_utf8_check("\xf4\x90\x80\x80", 4), 0); /* past U+10FFFF */
	assert_int_equal(blo_adapt_utf8_check("ab\xe0\xb8", 4), 2);    /* cut short */
	assert_int_equal(blo_adapt_utf8_check("\x80", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_lines_skip_blanks_and_count_lines),
		cmocka_unit_test(test_empty_input_has_no_record),
		cmocka_unit_test(test_bad_bytes_are_named_and_reading_goes_on),
		cmocka_unit_test(test_a_record_too_long_is_refused_alone),
		cmocka_unit_test(test_csv_fields_unquote_commas_quotes_and_line_breaks),
		cmocka_unit_test(test_csv_quote_that_never_closes_gives_back_later_rows),
		cmocka_unit_test(test_csv_malformed_rows_name_their_column),
		cmocka_unit_test(test_csv_too_many_fields),
		cmocka_unit_test(test_utf8_check_is_strict),
	};

	return cmocka_run_group_tests_name("adapt_input", tests, NULL, NULL);
}

/*
 * Unit tests of blo_console_text: UTF-8 decoding, cleaning of what a
 * terminal must never see, display widths of the region's scripts, fitting
 * to columns and wrapping.
 */
#include "blo_test.h"

#include "blo_console_text.h"

#include <locale.h>

/* Thai "methamphetamine" (yaba): the tone mark U+0E49 takes no cell. */
#define THAI_YABA "\xE0\xB8\xA2\xE0\xB8\xB2\xE0\xB8\x9A\xE0\xB9\x89\xE0\xB8\xB2"
/* Chinese "pangolin scales", two cells a character. */
#define ZH_SCALES "\xE7\xA9\xBF\xE5\xB1\xB1\xE7\x94\xB2\xE9\xB3\x9E\xE7\x89\x87"
/* Vietnamese "e" with dot below and circumflex, decomposed: one cell. */
#define VI_E_DECOMPOSED "e\xCC\xA3\xCC\x82"
/* Khmer KA + vowel sign I (U+17B7, no cell). */
#define KHMER_KI "\xE1\x9E\x80\xE1\x9E\xB7"
/* Lao DO + vowel sign II (U+0EB5, no cell). */
#define LAO_DI "\xE0\xBA\x94\xE0\xBA\xB5"

static int setup(void **state)
{
	(void)state;
	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		fail_msg("the C.UTF-8 locale is missing");
	return 0;
}

static void test_decode_accepts_valid_and_refuses_overlong_and_surrogates(void **state)
{
	int32_t cp;

	(void)state;
	assert_int_equal(blo_console_text_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(blo_console_text_decode("\xE0\xB8\xA2", 3, &cp), 3);
	assert_int_equal(cp, 0x0E22);
	assert_int_equal(blo_console_text_decode("\xF0\x9F\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1F600);
	/* Overlong '/', a lone continuation byte, a surrogate, a cut sequence. */
	assert_int_equal(blo_console_text_decode("\xC0\xAF", 2, &cp), 1);
	assert_int_equal(cp, -1);
	assert_int_equal(blo_console_text_decode("\x80", 1, &cp), 1);
	assert_int_equal(cp, -1);
	assert_int_equal(blo_console_text_decode("\xED\xA0\x80", 3, &cp), 1);
	assert_int_equal(cp, -1);
	assert_int_equal(blo_console_text_decode("\xE0\xB8", 2, &cp), 1);
	assert_int_equal(cp, -1);
	assert_int_equal(blo_console_text_decode("", 0, &cp), 0);
}

static void test_clean_removes_escape_sequences_and_control_characters(void **state)
{
	char *s;

	(void)state;
	/* A headline trying to retitle the terminal and clear the screen. */
	s = blo_console_text_clean("a\x1b]0;owned\x07" "b\x1b[2Jc\x9b" "d", false);
	assert_non_null(s);
	assert_null(strchr(s, '\x1b'));
	assert_null(strchr(s, '\x07'));
	assert_string_equal(s, "a\xEF\xBF\xBD]0;owned\xEF\xBF\xBD" "b\xEF\xBF\xBD[2Jc\xEF\xBF\xBD" "d");
	free(s);
	/* A C1 control written as UTF-8 (U+009B CSI) and raw. */
	s = blo_console_text_clean("x\xC2\x9By\x9Bz", false);
	assert_string_equal(s, "x\xEF\xBF\xBDy\xEF\xBF\xBDz");
	free(s);
}

static void test_clean_replaces_bidi_overrides_and_invalid_utf8(void **state)
{
	char *s;

	(void)state;
	/* U+202E RIGHT-TO-LEFT OVERRIDE would reverse what follows. */
	s = blo_console_text_clean("abc\xE2\x80\xAE" "fed", false);
	assert_string_equal(s, "abc\xEF\xBF\xBD" "fed");
	free(s);
	s = blo_console_text_clean("ok\xFF\xFEok", false);
	assert_string_equal(s, "ok\xEF\xBF\xBD\xEF\xBF\xBDok");
	free(s);
	s = blo_console_text_clean(NULL, false);
	assert_string_equal(s, "");
	free(s);
}

static void test_clean_keeps_newlines_only_when_asked(void **state)
{
	char *s;

	(void)state;
	s = blo_console_text_clean("one\r\ntwo\tthree", true);
	assert_string_equal(s, "one\ntwo three");
	free(s);
	s = blo_console_text_clean("one\ntwo", false);
	assert_string_equal(s, "one two");
	free(s);
}

static void test_clean_keeps_every_script_of_the_region(void **state)
{
	const char *text = THAI_YABA " " ZH_SCALES " " VI_E_DECOMPOSED " " KHMER_KI " " LAO_DI
			   " \xE1\x80\x99\xE1\x80\xBC\xE1\x80\x94\xE1\x80\xBA\xE1\x80\x99\xE1\x80\xAC";
	char *s;

	(void)state;
	s = blo_console_text_clean(text, false);
	assert_string_equal(s, text);
	free(s);
}

static void test_width_counts_cells_not_bytes(void **state)
{
	(void)state;
	assert_int_equal(blo_console_text_width("abc"), 3);
	assert_int_equal(blo_console_text_width(THAI_YABA), 4);
	assert_int_equal(blo_console_text_width(ZH_SCALES), 10);
	assert_int_equal(blo_console_text_width(VI_E_DECOMPOSED), 1);
	assert_int_equal(blo_console_text_width(KHMER_KI), 1);
	assert_int_equal(blo_console_text_width(LAO_DI), 1);
	assert_int_equal(blo_console_text_cp_width(0x1037), 0); /* Burmese dot below */
	assert_int_equal(blo_console_text_cp_width(0x4E2D), 2);
}

static void test_fit_pads_to_exact_width(void **state)
{
	char buf[128];

	(void)state;
	blo_console_text_fit(buf, sizeof(buf), THAI_YABA, 8);
	assert_int_equal(blo_console_text_width(buf), 8);
	assert_string_equal(buf, THAI_YABA "    ");
	blo_console_text_fit(buf, sizeof(buf), "", 3);
	assert_string_equal(buf, "   ");
}

static void test_fit_cuts_with_ellipsis_keeping_marks_on_their_base(void **state)
{
	char buf[128];

	(void)state;
	blo_console_text_fit(buf, sizeof(buf), "abcdefgh", 5);
	assert_string_equal(buf, "abcd\xE2\x80\xA6");
	/* ย า บ+tone า: 4 cells cut to 4 with the ellipsis: the tone mark stays
	 * with its consonant, never alone at the edge. */
	blo_console_text_fit(buf, sizeof(buf), THAI_YABA "x", 4);
	assert_string_equal(buf, "\xE0\xB8\xA2\xE0\xB8\xB2\xE0\xB8\x9A\xE0\xB9\x89\xE2\x80\xA6");
	assert_int_equal(blo_console_text_width(buf), 4);
}

static void test_fit_never_splits_a_wide_character(void **state)
{
	char buf[128];

	(void)state;
	/* 5 CJK characters (10 cells) into 6: two characters and the
	 * ellipsis; the third character would straddle the edge, so a space
	 * fills the cell that is left. */
	blo_console_text_fit(buf, sizeof(buf), ZH_SCALES, 6);
	assert_int_equal(blo_console_text_width(buf), 6);
	assert_string_equal(buf, "\xE7\xA9\xBF\xE5\xB1\xB1\xE2\x80\xA6 ");
}

static void test_fit_respects_a_small_buffer(void **state)
{
	char buf[8];
	size_t n;

	(void)state;
	n = blo_console_text_fit(buf, sizeof(buf), ZH_SCALES, 40);
	assert_true(n < sizeof(buf));
	assert_int_equal(strlen(buf), n);
}

static void test_wrap_breaks_at_spaces(void **state)
{
	char **lines = NULL;
	size_t n = 0;

	(void)state;
	E(blo_console_text_wrap("the quick brown fox jumps", 10, &lines, &n));
	assert_int_equal(n, 3);
	assert_string_equal(lines[0], "the quick");
	assert_string_equal(lines[1], "brown fox");
	assert_string_equal(lines[2], "jumps");
	blo_console_text_lines_free(&lines, n);
	assert_null(lines);
}

static void test_wrap_breaks_thai_without_spaces_between_characters(void **state)
{
	char **lines = NULL;
	size_t n = 0;

	(void)state;
	E(blo_console_text_wrap(THAI_YABA THAI_YABA THAI_YABA, 5, &lines, &n));
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_true(blo_console_text_width(lines[i]) <= 5);
	/* The tone mark is never first on a line. */
	for (size_t i = 0; i < n; i++)
		assert_memory_not_equal(lines[i], "\xE0\xB9\x89", 3);
	blo_console_text_lines_free(&lines, n);
}

static void test_wrap_keeps_paragraphs(void **state)
{
	char **lines = NULL;
	size_t n = 0;

	(void)state;
	E(blo_console_text_wrap("one\n\ntwo", 20, &lines, &n));
	assert_int_equal(n, 3);
	assert_string_equal(lines[0], "one");
	assert_string_equal(lines[1], "");
	assert_string_equal(lines[2], "two");
	blo_console_text_lines_free(&lines, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_accepts_valid_and_refuses_overlong_and_surrogates),
		cmocka_unit_test(test_clean_removes_escape_sequences_and_control_characters),
		cmocka_unit_test(test_clean_replaces_bidi_overrides_and_invalid_utf8),
		cmocka_unit_test(test_clean_keeps_newlines_only_when_asked),
		cmocka_unit_test(test_clean_keeps_every_script_of_the_region),
		cmocka_unit_test(test_width_counts_cells_not_bytes),
		cmocka_unit_test(test_fit_pads_to_exact_width),
		cmocka_unit_test(test_fit_cuts_with_ellipsis_keeping_marks_on_their_base),
		cmocka_unit_test(test_fit_never_splits_a_wide_character),
		cmocka_unit_test(test_fit_respects_a_small_buffer),
		cmocka_unit_test(test_wrap_breaks_at_spaces),
		cmocka_unit_test(test_wrap_breaks_thai_without_spaces_between_characters),
		cmocka_unit_test(test_wrap_keeps_paragraphs),
	};

	return cmocka_run_group_tests_name("console_text", tests, setup, NULL);
}

/*
 * blo_console_text: text from the network made safe and measurable for a
 * terminal. Names, places and notes arrive in Thai, Lao, Khmer, Burmese,
 * Vietnamese and Chinese; columns are measured in display cells (wcwidth),
 * never in bytes or code points, and nothing that a terminal would obey
 * (escape sequences, other control characters, bidirectional overrides)
 * reaches the screen.
 *
 * Widths come from wcwidth(3), so the process must run with a UTF-8
 * LC_CTYPE: call blo_console_text_init once at start.
 */
#ifndef BLO_CONSOLE_TEXT_H
#define BLO_CONSOLE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sets the locale from the environment and, if its character set is not
 * UTF-8, LC_CTYPE to C.UTF-8. Returns true when LC_CTYPE is UTF-8 after. */
bool blo_console_text_init(void);

/* Decodes one UTF-8 sequence at s[0..len). Returns its length (1-4) and the
 * code point in *cp, or 1 with *cp = -1 for a byte that does not start a
 * valid, shortest-form sequence of a Unicode scalar value. len 0: returns
 * 0. */
size_t blo_console_text_decode(const char *s, size_t len, int32_t *cp);

/* Display cells of one code point after cleaning: 0 for combining marks and
 * other zero-width characters, 2 for wide (CJK) ones, else 1. */
int blo_console_text_cp_width(int32_t cp);

/* A copy of s safe to print: invalid UTF-8, C0 and C1 control characters,
 * DEL and bidirectional embedding, override and isolate characters become
 * U+FFFD; a tab becomes a space; a newline stays only if keep_newlines (a
 * carriage return is dropped then), else it becomes a space. NULL s gives
 * "". Caller frees; NULL only when out of memory. */
char *blo_console_text_clean(const char *s, bool keep_newlines);

/* Display cells of s, which must be clean (blo_console_text_clean). */
size_t blo_console_text_width(const char *s);

/* Writes s (clean) into out (outsz bytes, NUL-terminated) fitted to exactly
 * `columns` cells: cut at a character boundary with "…" when it is wider
 * (zero-width marks stay with their base character), padded with spaces
 * when narrower. A wide character that would straddle the edge is left
 * out and a space fills its cell. If outsz is too small the text is cut earlier. Returns the
 * bytes written, without the NUL. */
size_t blo_console_text_fit(char *out, size_t outsz, const char *s, int columns);

/* Wraps s (clean; newlines start new lines) into lines of at most width
 * cells (width >= 2), breaking after a space where possible and anywhere
 * between characters otherwise (Thai, Lao, Khmer and Burmese have no spaces
 * between words). *lines is a malloc()ed array of *n malloc()ed strings:
 * free with blo_console_text_lines_free. Returns 0 or BLO_ENOMEM. */
int blo_console_text_wrap(const char *s, int width, char ***lines, size_t *n);

/* Frees an array from blo_console_text_wrap (or any array of n malloc()ed
 * strings) and sets *lines_p to NULL. */
void blo_console_text_lines_free(char ***lines_p, size_t n);

#endif

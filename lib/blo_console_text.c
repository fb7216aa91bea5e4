/*
 * blo_console_text: cleaning, measuring, fitting and wrapping UTF-8 text for
 * the terminal, in display cells.
 */
#include "blo_console_text.h"

#include "blo_err.h"

#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define REPLACEMENT 0xFFFD

bool blo_console_text_init(void)
{
	const char *cs;

	setlocale(LC_ALL, "");
	cs = nl_langinfo(CODESET);
	if (cs != NULL && strcmp(cs, "UTF-8") == 0)
		return true;
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		return false;
	cs = nl_langinfo(CODESET);
	return cs != NULL && strcmp(cs, "UTF-8") == 0;
}

size_t blo_console_text_decode(const char *s, size_t len, int32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	int32_t c;
	size_t n;

	if (len == 0) {
		*cp = -1;
		return 0;
	}
	*cp = -1;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if (u[0] >= 0xC2 && u[0] <= 0xDF) {
		n = 2;
		c = u[0] & 0x1F;
	} else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		n = 3;
		c = u[0] & 0x0F;
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		n = 4;
		c = u[0] & 0x07;
	} else {
		return 1;
	}
	if (len < n)
		return 1;
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 1;
		c = (c << 6) | (u[i] & 0x3F);
	}
	/* Shortest form only; no surrogates; nothing past U+10FFFF. */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10FFFF ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 1;
	*cp = c;
	return n;
}

/* Characters a terminal must never see from the network. */
static bool is_unsafe(int32_t cp)
{
	return cp < 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
	       (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

int blo_console_text_cp_width(int32_t cp)
{
	int w;

	if (cp < 0)
		return 1;
	w = wcwidth((wchar_t)cp);
	if (w < 0)
		return 1; /* unassigned: the terminal shows something one cell wide */
	return w > 2 ? 2 : w;
}

static size_t encode(char *out, int32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

char *blo_console_text_clean(const char *s, bool keep_newlines)
{
	size_t len = s != NULL ? strlen(s) : 0, o = 0;
	/* Each input byte becomes at most 3 output bytes (U+FFFD). */
	char *out = malloc(3 * len + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		int32_t cp;
		size_t n = blo_console_text_decode(s + i, len - i, &cp);

		i += n;
		if (cp == '\t' || (cp == '\n' && !keep_newlines)) {
			out[o++] = ' ';
		} else if (cp == '\n') {
			out[o++] = '\n';
		} else if (cp == '\r' && keep_newlines) {
			continue;
		} else if (is_unsafe(cp)) {
			o += encode(out + o, REPLACEMENT);
		} else {
			o += encode(out + o, cp);
		}
	}
	out[o] = '\0';
	return out;
}

size_t blo_console_text_width(const char *s)
{
	size_t len = strlen(s), w = 0;

	for (size_t i = 0; i < len;) {
		int32_t cp;

		i += blo_console_text_decode(s + i, len - i, &cp);
		w += (size_t)blo_console_text_cp_width(cp);
	}
	return w;
}

size_t blo_console_text_fit(char *out, size_t outsz, const char *s, int columns)
{
	static const char ellipsis[] = "\xE2\x80\xA6"; /* U+2026, one cell */
	size_t len = strlen(s), o = 0, width = 0, total;
	size_t limit;
	bool cut;

	if (outsz == 0)
		return 0;
	if (columns < 0)
		columns = 0;
	total = blo_console_text_width(s);
	cut = total > (size_t)columns;
	limit = cut ? (columns > 0 ? (size_t)columns - 1 : 0) : (size_t)columns;
	for (size_t i = 0; i < len;) {
		int32_t cp;
		size_t n = blo_console_text_decode(s + i, len - i, &cp);
		int w = blo_console_text_cp_width(cp);

		if (width + (size_t)w > limit)
			break;
		if (o + n + 1 > outsz)
			goto pad;
		memcpy(out + o, s + i, n);
		o += n;
		width += (size_t)w;
		i += n;
	}
	if (cut && columns > 0 && o + sizeof(ellipsis) <= outsz) {
		memcpy(out + o, ellipsis, sizeof(ellipsis) - 1);
		o += sizeof(ellipsis) - 1;
		width++;
	}
pad:
	while (width < (size_t)columns && o + 2 <= outsz) {
		out[o++] = ' ';
		width++;
	}
	out[o] = '\0';
	return o;
}

typedef struct {
	char **v;
	size_t n, cap;
} lines_t;

static int lines_add(lines_t *l, const char *s, size_t len)
{
	char *copy;

	/* Trailing spaces of a wrapped line carry nothing. */
	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **grown = realloc(l->v, cap * sizeof(*grown));

		if (grown == NULL)
			return BLO_ENOMEM;
		l->v = grown;
		l->cap = cap;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		return BLO_ENOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';
	l->v[l->n++] = copy;
	return 0;
}

/* Wraps one paragraph (no newlines) of p[0..len). */
static int wrap_paragraph(lines_t *l, const char *p, size_t len, size_t width)
{
	size_t start = 0, w = 0, brk = 0, w_at_brk = 0;
	int rc;

	if (len == 0)
		return lines_add(l, p, 0);
	for (size_t i = 0; i < len;) {
		int32_t cp;
		size_t n = blo_console_text_decode(p + i, len - i, &cp);
		size_t cw = (size_t)blo_console_text_cp_width(cp);

		if (cw > 0 && w + cw > width && i > start) {
			if (brk > start) {
				if ((rc = lines_add(l, p + start, brk - start)) != 0)
					return rc;
				w -= w_at_brk;
				start = brk;
			} else {
				if ((rc = lines_add(l, p + start, i - start)) != 0)
					return rc;
				w = 0;
				start = i;
			}
			/* A new line does not start with the spaces it broke at. */
			while (start < i && p[start] == ' ') {
				start++;
				w--;
			}
			brk = start;
			w_at_brk = 0;
		}
		w += cw;
		i += n;
		if (cp == ' ') {
			brk = i;
			w_at_brk = w;
		}
	}
	return lines_add(l, p + start, len - start);
}

int blo_console_text_wrap(const char *s, int width, char ***lines, size_t *n)
{
	lines_t l = {0};
	const char *p = s != NULL ? s : "";
	int rc = 0;

	if (width < 2)
		width = 2;
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if ((rc = wrap_paragraph(&l, p, len, (size_t)width)) != 0)
			break;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (rc != 0) {
		blo_console_text_lines_free(&l.v, l.n);
		*lines = NULL;
		*n = 0;
		return rc;
	}
	*lines = l.v;
	*n = l.n;
	return 0;
}

void blo_console_text_lines_free(char ***lines_p, size_t n)
{
	if (lines_p == NULL || *lines_p == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*lines_p)[i]);
	free(*lines_p);
	*lines_p = NULL;
}

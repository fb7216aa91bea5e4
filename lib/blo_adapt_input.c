/*
 * blo_adapt_input: bounded line reading with a queue of lines read ahead, so
 * a CSV record whose quote never closes gives its later lines back to be
 * read as records of their own.
 */
#include "blo_adapt_input.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *s;       /* NUL-terminated; "" for a line that was too long */
	size_t len;
	size_t lineno;
	bool too_long;
} line_t;

#define QUEUE_MAX 256 /* lines one CSV record may span, at most */

struct blo_adapt_input {
	blo_adapt_format_t format;
	FILE *in;
	size_t lines;   /* physical lines read from in */
	size_t records; /* records returned */
	bool at_start;
	bool eof;

	line_t queue[QUEUE_MAX]; /* read ahead, not yet used */
	size_t q_head, q_len;

	line_t current[QUEUE_MAX]; /* lines of the record being returned */
	size_t n_current;

	char *text;         /* the record's text */
	size_t text_cap;
	char *fieldbuf;     /* CSV: unquoted fields, back to back */
	size_t fieldbuf_cap;
	const char *fields[BLO_ADAPT_CSV_MAX_FIELDS];
	char problem[160];
};

size_t blo_adapt_utf8_check(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (i + n > len)
			return i;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n;
	}
	return len;
}

int blo_adapt_input_open(blo_adapt_input_t **out, blo_adapt_format_t format, FILE *in,
			 blo_err_t *err)
{
	blo_adapt_input_t *self = calloc(1, sizeof(*self));

	*out = NULL;
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->format = format;
	self->in = in;
	self->at_start = true;
	*out = self;
	return 0;
}

static void free_lines(line_t *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(lines[i].s);
		lines[i].s = NULL;
	}
}

void blo_adapt_input_close(blo_adapt_input_t **self_p)
{
	blo_adapt_input_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	for (size_t i = 0; i < self->q_len; i++)
		free(self->queue[(self->q_head + i) % QUEUE_MAX].s);
	free_lines(self->current, self->n_current);
	free(self->text);
	free(self->fieldbuf);
	free(self);
	*self_p = NULL;
}

size_t blo_adapt_input_lines(const blo_adapt_input_t *self)
{
	return self->lines;
}

/* Reads one physical line from the file: 1, 0 at the end, -errno. A line
 * longer than the record bound is read to its end and kept empty, marked
 * too long. The line break (LF or CRLF) is dropped. */
static int read_line(blo_adapt_input_t *self, line_t *line, blo_err_t *err)
{
	size_t cap = 256, len = 0;
	char *s;
	int c = EOF;

	memset(line, 0, sizeof(*line));
	if (self->eof)
		return 0;
	s = malloc(cap);
	if (s == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	while ((c = getc(self->in)) != EOF && c != '\n') {
		if (line->too_long)
			continue;
		if (len + 1 >= cap) {
			char *grown;

			if (len >= BLO_ADAPT_RECORD_MAX_BYTES) {
				line->too_long = true;
				continue;
			}
			cap *= 2;
			grown = realloc(s, cap);
			if (grown == NULL) {
				free(s);
				return blo_err_set(err, BLO_ENOMEM, "out of memory");
			}
			s = grown;
		}
		s[len++] = (char)c;
	}
	if (c == EOF) {
		if (ferror(self->in)) {
			int e = errno != 0 ? errno : EIO;

			free(s);
			return blo_err_set(err, -e, "read: %s", strerror(e));
		}
		self->eof = true;
		if (len == 0 && !line->too_long) {
			free(s);
			return 0;
		}
	}
	if (line->too_long)
		len = 0;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	s[len] = '\0';
	self->lines++;
	line->s = s;
	line->len = len;
	line->lineno = self->lines;
	if (self->at_start) {
		self->at_start = false;
		if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			memmove(s, s + 3, len - 3 + 1);
			line->len -= 3;
		}
	}
	return 1;
}

/* The next line: from the queue of lines given back, else from the file. */
static int next_line(blo_adapt_input_t *self, line_t *line, blo_err_t *err)
{
	if (self->q_len > 0) {
		*line = self->queue[self->q_head];
		self->q_head = (self->q_head + 1) % QUEUE_MAX;
		self->q_len--;
		return 1;
	}
	return read_line(self, line, err);
}

/* Gives lines back, in order, to be read again before the file. */
static void unread_lines(blo_adapt_input_t *self, line_t *lines, size_t n)
{
	for (size_t i = n; i > 0; i--) {
		self->q_head = (self->q_head + QUEUE_MAX - 1) % QUEUE_MAX;
		self->queue[self->q_head] = lines[i - 1];
		self->q_len++;
	}
}

static bool is_blank(const line_t *l)
{
	if (l->too_long)
		return false;
	for (size_t i = 0; i < l->len; i++)
		if (l->s[i] != ' ' && l->s[i] != '\t')
			return false;
	return true;
}

static int set_text(blo_adapt_input_t *self, blo_err_t *err)
{
	size_t need = 1;
	size_t o = 0;

	for (size_t i = 0; i < self->n_current; i++)
		need += self->current[i].len + 1;
	if (need > self->text_cap) {
		char *grown = realloc(self->text, need);

		if (grown == NULL)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
		self->text = grown;
		self->text_cap = need;
	}
	for (size_t i = 0; i < self->n_current; i++) {
		if (i > 0)
			self->text[o++] = '\n';
		memcpy(self->text + o, self->current[i].s, self->current[i].len);
		o += self->current[i].len;
	}
	self->text[o] = '\0';
	return (int)o; /* at most a few records' bound: fits */
}

/* Does a CSV text end inside a quoted field? */
static bool csv_open_quote(const char *s, size_t len)
{
	bool in_quotes = false, field_start = true;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_quotes) {
			if (c == '"') {
				if (i + 1 < len && s[i + 1] == '"')
					i++;
				else
					in_quotes = false;
			}
			continue;
		}
		if (c == '"' && field_start)
			in_quotes = true;
		field_start = c == ',';
	}
	return in_quotes;
}

/* Splits self->text into fields; sets problem on a malformed row. */
static int csv_split(blo_adapt_input_t *self, size_t len, blo_adapt_record_t *rec, blo_err_t *err)
{
	const char *s = self->text;
	size_t i = 0, o = 0, n = 0;

	if (len + 1 > self->fieldbuf_cap) {
		char *grown = realloc(self->fieldbuf, len + 1);

		if (grown == NULL)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
		self->fieldbuf = grown;
		self->fieldbuf_cap = len + 1;
	}
	for (;;) {
		if (n == BLO_ADAPT_CSV_MAX_FIELDS) {
			snprintf(self->problem, sizeof(self->problem), "more than %d fields",
				 BLO_ADAPT_CSV_MAX_FIELDS);
			rec->problem = self->problem;
			return 0;
		}
		self->fields[n++] = self->fieldbuf + o;
		if (i < len && s[i] == '"') {
			i++;
			for (;;) {
				if (i >= len) {
					snprintf(self->problem, sizeof(self->problem),
						 "quoted field not closed");
					rec->problem = self->problem;
					rec->problem_column = n;
					return 0;
				}
				if (s[i] == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						self->fieldbuf[o++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				self->fieldbuf[o++] = s[i++];
			}
			if (i < len && s[i] != ',') {
				snprintf(self->problem, sizeof(self->problem),
					 "text after the closing quote");
				rec->problem = self->problem;
				rec->problem_column = n;
				return 0;
			}
		} else {
			while (i < len && s[i] != ',') {
				if (s[i] == '"') {
					snprintf(self->problem, sizeof(self->problem),
						 "a quote inside an unquoted field");
					rec->problem = self->problem;
					rec->problem_column = n;
					return 0;
				}
				self->fieldbuf[o++] = s[i++];
			}
		}
		self->fieldbuf[o++] = '\0';
		if (i >= len)
			break;
		i++; /* the comma */
	}
	rec->fields = self->fields;
	rec->n_fields = n;
	return 0;
}

int blo_adapt_input_next(blo_adapt_input_t *self, blo_adapt_record_t *rec, blo_err_t *err)
{
	line_t line;
	int rc, len;
	size_t bytes;

	memset(rec, 0, sizeof(*rec));
	free_lines(self->current, self->n_current);
	self->n_current = 0;
	/* The first line that is not blank. */
	do {
		if ((rc = next_line(self, &line, err)) <= 0)
			return rc;
		if (is_blank(&line)) {
			free(line.s);
			line.s = NULL;
			continue;
		}
		break;
	} while (true);
	self->current[self->n_current++] = line;
	bytes = line.len;
	/* A CSV record goes on while a quoted field is open. */
	if (self->format == BLO_ADAPT_CSV && !line.too_long && csv_open_quote(line.s, line.len)) {
		for (;;) {
			line_t more = { 0 };

			rc = self->n_current == QUEUE_MAX || bytes > BLO_ADAPT_RECORD_MAX_BYTES
				     ? 0
				     : next_line(self, &more, err);
			if (rc < 0)
				return rc;
			if (rc == 0 || more.too_long) {
				/* Never closes: the first line alone is the bad record;
				 * the others are read again as records of their own. */
				if (rc > 0)
					unread_lines(self, &more, 1);
				unread_lines(self, self->current + 1, self->n_current - 1);
				self->n_current = 1;
				snprintf(self->problem, sizeof(self->problem),
					 "a quoted field is not closed");
				rec->problem = self->problem;
				break;
			}
			self->current[self->n_current++] = more;
			bytes += more.len + 1;
			if ((len = set_text(self, err)) < 0)
				return len;
			if (!csv_open_quote(self->text, (size_t)len))
				break;
		}
	}
	if ((len = set_text(self, err)) < 0)
		return len;
	rec->line = self->current[0].lineno;
	rec->text = self->text;
	rec->len = (size_t)len;
	if (self->format == BLO_ADAPT_CSV)
		rec->number = self->records++; /* the header is record 0 */
	else
		rec->number = ++self->records;
	if (rec->problem != NULL)
		return 1;
	if (line.too_long || bytes > BLO_ADAPT_RECORD_MAX_BYTES) {
		snprintf(self->problem, sizeof(self->problem), "longer than %u bytes",
			 BLO_ADAPT_RECORD_MAX_BYTES);
		rec->problem = self->problem;
		return 1;
	}
	if (strlen(self->text) != (size_t)len) {
		snprintf(self->problem, sizeof(self->problem), "a NUL byte at byte %zu",
			 strlen(self->text));
		rec->problem = self->problem;
		return 1;
	}
	size_t bad = blo_adapt_utf8_check(self->text, (size_t)len);

	if (bad != (size_t)len) {
		snprintf(self->problem, sizeof(self->problem), "not valid UTF-8 at byte %zu", bad);
		rec->problem = self->problem;
		return 1;
	}
	if (self->format == BLO_ADAPT_CSV)
		return csv_split(self, (size_t)len, rec, err) == 0 ? 1 : BLO_ENOMEM;
	return 1;
}

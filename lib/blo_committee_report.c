/*
 * blo_committee_report: report.json, CSV tables and a self-contained
 * report.html with inline SVG charts, from a snapshot of the aggregates.
 */
#include "blo_committee_report.h"

#include "blo_util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *const blo_committee_report_tables[] = {
	"totals", "types", "categories", "severities", "crossings", "routes", "agencies", "weeks",
	"week_categories", "commodities", "category_units", "reply_times", "modus_operandi", NULL,
};

/* ---------------------------------------------------------------- buffer */

typedef struct {
	char *s;
	size_t len, cap;
	bool failed;
} sb_t;

static void sb_add(sb_t *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		grown = realloc(b->s, cap);
		if (grown == NULL) {
			b->failed = true;
			return;
		}
		b->s = grown;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_puts(sb_t *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sb_t *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		sb_add(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	sb_add(b, big, (size_t)n);
	free(big);
}

static char *sb_take(sb_t *b)
{
	if (b->failed) {
		free(b->s);
		return NULL;
	}
	if (b->s == NULL)
		return strdup("");
	return b->s;
}

/* HTML text and attribute values. */
static void sb_html(sb_t *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&': sb_puts(b, "&amp;"); break;
		case '<': sb_puts(b, "&lt;"); break;
		case '>': sb_puts(b, "&gt;"); break;
		case '"': sb_puts(b, "&quot;"); break;
		case '\'': sb_puts(b, "&#39;"); break;
		default:
			/* Control characters have no place in the page. */
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				sb_puts(b, "\xEF\xBF\xBD");
			else
				sb_add(b, s, 1);
		}
	}
}

/* ---------------------------------------------------------------- values */

void blo_committee_report_quantity(int64_t milli, char *buf, size_t size)
{
	uint64_t m = milli < 0 ? (uint64_t)0 - (uint64_t)milli : (uint64_t)milli;
	char frac[8];
	int n;

	snprintf(frac, sizeof(frac), "%03" PRIu64, m % 1000);
	for (n = 3; n > 0 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	snprintf(buf, size, "%s%" PRIu64 "%s%s", milli < 0 ? "-" : "", m / 1000, n > 0 ? "." : "", frac);
}

static void utc_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm);
}

static void duration(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, size, "%" PRId64 "m %02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRId64 "h %02" PRId64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%" PRId64 "d %02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

/* ---------------------------------------------------------------- JSON */

static void json_rows(cJSON *o, const char *name, const blo_committee_table_t *t,
		      const char *const *keys, const char *count, const char *extra, bool quantity)
{
	cJSON *arr = cJSON_AddArrayToObject(o, name);

	for (size_t i = 0; i < t->n; i++) {
		const blo_committee_row_t *r = &t->rows[i];
		cJSON *row = cJSON_CreateObject();

		for (int k = 0; k < BLO_COMMITTEE_PARTS && keys[k] != NULL; k++)
			cJSON_AddStringToObject(row, keys[k], r->parts[k]);
		cJSON_AddNumberToObject(row, count, (double)r->count);
		if (extra != NULL)
			cJSON_AddNumberToObject(row, extra, (double)r->extra);
		if (quantity) {
			char q[32];

			blo_committee_report_quantity(r->quantity_milli, q, sizeof(q));
			cJSON_AddRawToObject(row, "quantity", q);
			cJSON_AddNumberToObject(row, "quantity_milli", (double)r->quantity_milli);
		}
		cJSON_AddItemToArray(arr, row);
	}
}

char *blo_committee_report_json(const blo_committee_snapshot_t *s,
				const blo_committee_report_info_t *info)
{
	static const char *const k_type[] = {"type", NULL};
	static const char *const k_cat[] = {"category", NULL};
	static const char *const k_sev[] = {"severity", NULL};
	static const char *const k_cross[] = {"crossing", NULL};
	static const char *const k_route[] = {"from_country", "to_country", NULL};
	static const char *const k_agency[] = {"country", "agency", NULL};
	static const char *const k_comm[] = {"kind", "name", "unit"};
	static const char *const k_cu[] = {"category", "unit", NULL};
	cJSON *o = cJSON_CreateObject(), *t, *weeks, *rt, *mo;
	char *text;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "report", "blonet national committee report");
	cJSON_AddStringToObject(o, "committee", info->committee != NULL ? info->committee : "");
	cJSON_AddStringToObject(o, "country", info->country != NULL ? info->country : "");
	cJSON_AddNumberToObject(o, "generated_ms", (double)info->generated_ms);
	cJSON_AddNumberToObject(o, "week_offset_min", s->week_offset_min);
	t = cJSON_AddObjectToObject(o, "totals");
	cJSON_AddNumberToObject(t, "messages", (double)s->messages);
	cJSON_AddNumberToObject(t, "duplicates", (double)s->duplicates);
	cJSON_AddNumberToObject(t, "unverified", (double)s->unverified);
	cJSON_AddNumberToObject(t, "alerts", (double)s->alerts);
	cJSON_AddNumberToObject(t, "seizures", (double)s->seizures);
	cJSON_AddNumberToObject(t, "updated", (double)s->updated);
	cJSON_AddNumberToObject(t, "cancelled", (double)s->cancelled);
	cJSON_AddNumberToObject(t, "unmatched_replies", (double)s->unmatched_replies);
	json_rows(o, "by_type", &s->types, k_type, "count", NULL, false);
	json_rows(o, "by_category", &s->categories, k_cat, "alerts", "seizures", false);
	json_rows(o, "by_severity", &s->severities, k_sev, "alerts", NULL, false);
	json_rows(o, "by_crossing", &s->crossings, k_cross, "alerts", "seizures", false);
	json_rows(o, "by_route", &s->routes, k_route, "alerts", NULL, false);
	json_rows(o, "by_agency", &s->agencies, k_agency, "alerts", NULL, false);
	weeks = cJSON_AddArrayToObject(o, "by_week");
	for (size_t i = 0; i < s->weeks.n; i++) {
		cJSON *w = cJSON_CreateObject(), *bc;

		cJSON_AddStringToObject(w, "week", s->weeks.rows[i].parts[0]);
		cJSON_AddNumberToObject(w, "alerts", (double)s->weeks.rows[i].count);
		bc = cJSON_AddObjectToObject(w, "by_category");
		for (size_t k = 0; k < s->week_categories.n; k++)
			if (strcmp(s->week_categories.rows[k].parts[0], s->weeks.rows[i].parts[0]) == 0)
				cJSON_AddNumberToObject(bc, s->week_categories.rows[k].parts[1],
							(double)s->week_categories.rows[k].count);
		cJSON_AddItemToArray(weeks, w);
	}
	json_rows(o, "commodities", &s->commodities, k_comm, "lines", NULL, true);
	json_rows(o, "quantities_by_category", &s->category_units, k_cu, "lines", NULL, true);
	rt = cJSON_AddArrayToObject(o, "reply_times");
	for (size_t i = 0; i < s->n_replies; i++) {
		const blo_committee_reply_stat_t *r = &s->replies[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "kind", r->kind);
		cJSON_AddStringToObject(x, "from_site", r->from_site);
		cJSON_AddStringToObject(x, "to_site", r->to_site);
		cJSON_AddNumberToObject(x, "count", (double)r->n);
		cJSON_AddNumberToObject(x, "median_ms", (double)r->median_ms);
		cJSON_AddNumberToObject(x, "p90_ms", (double)r->p90_ms);
		cJSON_AddNumberToObject(x, "min_ms", (double)r->min_ms);
		cJSON_AddNumberToObject(x, "max_ms", (double)r->max_ms);
		cJSON_AddItemToArray(rt, x);
	}
	mo = cJSON_AddArrayToObject(o, "modus_operandi");
	for (size_t i = 0; i < s->n_mo; i++) {
		const blo_committee_mo_t *m = &s->mo[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "modus_operandi", m->modus_operandi);
		cJSON_AddStringToObject(x, "headline", m->headline);
		cJSON_AddStringToObject(x, "category", m->category);
		cJSON_AddStringToObject(x, "country", m->country);
		cJSON_AddStringToObject(x, "site", m->site);
		cJSON_AddStringToObject(x, "principal", m->principal);
		cJSON_AddNumberToObject(x, "first_ms", (double)m->first_ms);
		cJSON_AddNumberToObject(x, "last_ms", (double)m->last_ms);
		cJSON_AddNumberToObject(x, "count", (double)m->count);
		cJSON_AddItemToArray(mo, x);
	}
	text = cJSON_Print(o);
	cJSON_Delete(o);
	return text;
}

/* ---------------------------------------------------------------- CSV */

static void csv_cell(sb_t *b, const char *s, bool first)
{
	bool quote = false;

	if (!first)
		sb_puts(b, ",");
	if (s == NULL)
		s = "";
	for (const char *p = s; *p != '\0'; p++)
		if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r')
			quote = true;
	if (s[0] == ' ' || (s[0] != '\0' && s[strlen(s) - 1] == ' '))
		quote = true;
	if (quote)
		sb_puts(b, "\"");
	if (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')
		sb_puts(b, "'");
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"')
			sb_puts(b, "\"\"");
		else
			sb_add(b, p, 1);
	}
	if (quote)
		sb_puts(b, "\"");
}

static void csv_num(sb_t *b, int64_t v)
{
	sb_printf(b, ",%" PRId64, v);
}

static void csv_table(sb_t *b, const blo_committee_table_t *t, const char *header, int parts,
		      bool extra, bool quantity)
{
	sb_puts(b, header);
	sb_puts(b, "\r\n");
	for (size_t i = 0; i < t->n; i++) {
		const blo_committee_row_t *r = &t->rows[i];

		for (int k = 0; k < parts; k++)
			csv_cell(b, r->parts[k], k == 0);
		csv_num(b, r->count);
		if (extra)
			csv_num(b, r->extra);
		if (quantity) {
			char q[32];

			blo_committee_report_quantity(r->quantity_milli, q, sizeof(q));
			sb_printf(b, ",%s", q);
		}
		sb_puts(b, "\r\n");
	}
}

char *blo_committee_report_csv(const blo_committee_snapshot_t *s, const char *table)
{
	sb_t b = {0};

	if (strcmp(table, "totals") == 0) {
		sb_printf(&b, "name,value\r\nmessages,%" PRId64 "\r\nduplicates,%" PRId64
			  "\r\nunverified,%" PRId64 "\r\nalerts,%" PRId64 "\r\nseizures,%" PRId64
			  "\r\nupdated,%" PRId64 "\r\ncancelled,%" PRId64 "\r\nunmatched_replies,%" PRId64
			  "\r\n",
			  s->messages, s->duplicates, s->unverified, s->alerts, s->seizures, s->updated,
			  s->cancelled, s->unmatched_replies);
	} else if (strcmp(table, "types") == 0) {
		csv_table(&b, &s->types, "type,count", 1, false, false);
	} else if (strcmp(table, "categories") == 0) {
		csv_table(&b, &s->categories, "category,alerts,seizures", 1, true, false);
	} else if (strcmp(table, "severities") == 0) {
		csv_table(&b, &s->severities, "severity,alerts", 1, false, false);
	} else if (strcmp(table, "crossings") == 0) {
		csv_table(&b, &s->crossings, "crossing,alerts,seizures", 1, true, false);
	} else if (strcmp(table, "routes") == 0) {
		csv_table(&b, &s->routes, "from_country,to_country,alerts", 2, false, false);
	} else if (strcmp(table, "agencies") == 0) {
		csv_table(&b, &s->agencies, "country,agency,alerts", 2, false, false);
	} else if (strcmp(table, "weeks") == 0) {
		csv_table(&b, &s->weeks, "week,alerts", 1, false, false);
	} else if (strcmp(table, "week_categories") == 0) {
		csv_table(&b, &s->week_categories, "week,category,alerts", 2, false, false);
	} else if (strcmp(table, "commodities") == 0) {
		csv_table(&b, &s->commodities, "kind,name,unit,lines,quantity", 3, false, true);
	} else if (strcmp(table, "category_units") == 0) {
		csv_table(&b, &s->category_units, "category,unit,lines,quantity", 2, false, true);
	} else if (strcmp(table, "reply_times") == 0) {
		sb_puts(&b, "kind,from_site,to_site,count,median_ms,p90_ms,min_ms,max_ms\r\n");
		for (size_t i = 0; i < s->n_replies; i++) {
			const blo_committee_reply_stat_t *r = &s->replies[i];

			csv_cell(&b, r->kind, true);
			csv_cell(&b, r->from_site, false);
			csv_cell(&b, r->to_site, false);
			sb_printf(&b, ",%zu,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "\r\n", r->n,
				  r->median_ms, r->p90_ms, r->min_ms, r->max_ms);
		}
	} else if (strcmp(table, "modus_operandi") == 0) {
		sb_puts(&b, "first_seen_ms,last_seen_ms,count,category,country,site,principal,headline,"
			    "modus_operandi\r\n");
		for (size_t i = 0; i < s->n_mo; i++) {
			const blo_committee_mo_t *m = &s->mo[i];

			sb_printf(&b, "%" PRId64 ",%" PRId64 ",%" PRId64, m->first_ms, m->last_ms, m->count);
			csv_cell(&b, m->category, false);
			csv_cell(&b, m->country, false);
			csv_cell(&b, m->site, false);
			csv_cell(&b, m->principal, false);
			csv_cell(&b, m->headline, false);
			csv_cell(&b, m->modus_operandi, false);
			sb_puts(&b, "\r\n");
		}
	} else {
		return NULL;
	}
	return sb_take(&b);
}

/* ---------------------------------------------------------------- HTML */

/* One colour per category, in enum order, and grey for anything else. */
static const char *category_colour(const char *cat)
{
	static const struct {
		const char *name, *colour;
	} palette[] = {
		{"DRUGS", "#c0392b"},      {"PRECURSORS", "#e67e22"}, {"TRAFFICKING_IN_PERSONS", "#8e44ad"},
		{"MIGRANT_SMUGGLING", "#2980b9"}, {"WILDLIFE", "#27ae60"}, {"TIMBER", "#795548"},
		{"COUNTERFEIT", "#f1c40f"}, {"WEAPONS", "#34495e"},    {"CURRENCY", "#16a085"},
		{"CATEGORY_OTHER", "#95a5a6"},
	};

	for (size_t i = 0; i < sizeof(palette) / sizeof(palette[0]); i++)
		if (strcmp(palette[i].name, cat) == 0)
			return palette[i].colour;
	return "#7f8c8d";
}

typedef struct {
	const char *label;
	int64_t value;
	int64_t value2; /* a second mark (p90), or -1 */
	const char *text; /* shown after the bar; NULL: the value */
} bar_t;

/* A horizontal bar chart. */
static void svg_bars(sb_t *b, const char *title, const bar_t *bars, size_t n, const char *colour)
{
	const int label_w = 230, bar_w = 420, row_h = 22, top = 30;
	int64_t max = 1;
	int h = top + (int)n * row_h + 10;

	for (size_t i = 0; i < n; i++) {
		if (bars[i].value > max)
			max = bars[i].value;
		if (bars[i].value2 > max)
			max = bars[i].value2;
	}
	sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\" "
		     "aria-label=\"",
		  label_w + bar_w + 140, h);
	sb_html(b, title);
	sb_puts(b, "\">\n<text x=\"0\" y=\"18\" class=\"t\">");
	sb_html(b, title);
	sb_puts(b, "</text>\n");
	if (n == 0)
		sb_printf(b, "<text x=\"0\" y=\"%d\" class=\"l\">no data yet</text>\n", top + 14);
	for (size_t i = 0; i < n; i++) {
		int y = top + (int)i * row_h;
		int w = (int)((double)bars[i].value * bar_w / (double)max);
		char num[32];

		sb_printf(b, "<text x=\"%d\" y=\"%d\" class=\"l\" text-anchor=\"end\">", label_w - 6, y + 14);
		sb_html(b, bars[i].label);
		sb_printf(b, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>",
			  label_w, y + 3, w > 0 ? w : 1, row_h - 6, colour);
		if (bars[i].value2 >= 0) {
			int x2 = label_w + (int)((double)bars[i].value2 * bar_w / (double)max);

			sb_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\" "
				     "stroke-width=\"2\"/>",
				  x2, y + 1, x2, y + row_h - 1);
		}
		snprintf(num, sizeof(num), "%" PRId64, bars[i].value);
		sb_printf(b, "<text x=\"%d\" y=\"%d\" class=\"v\">", label_w + (w > 0 ? w : 1) + 6, y + 14);
		sb_html(b, bars[i].text != NULL ? bars[i].text : num);
		sb_puts(b, "</text>\n");
	}
	sb_puts(b, "</svg>\n");
}

/* Alerts per week, stacked by category. */
static void svg_weeks(sb_t *b, const blo_committee_snapshot_t *s)
{
	const int left = 50, plot_h = 220, top = 30, bottom = 70;
	int bw, width, height = top + plot_h + bottom;
	int64_t max = 1;
	const char *cats[32];
	size_t n_cats = 0;

	for (size_t i = 0; i < s->weeks.n; i++)
		if (s->weeks.rows[i].count > max)
			max = s->weeks.rows[i].count;
	for (size_t k = 0; k < s->week_categories.n && n_cats < 32; k++) {
		const char *c = s->week_categories.rows[k].parts[1];
		bool have = false;

		for (size_t j = 0; j < n_cats; j++)
			have = have || strcmp(cats[j], c) == 0;
		if (!have)
			cats[n_cats++] = c;
	}
	bw = s->weeks.n > 0 ? 600 / (int)s->weeks.n : 600;
	if (bw > 60)
		bw = 60;
	if (bw < 8)
		bw = 8;
	width = left + bw * (int)s->weeks.n + 240;
	if (width < 700)
		width = 700;
	sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\" "
		     "aria-label=\"Alerts per week by category\">\n"
		     "<text x=\"0\" y=\"18\" class=\"t\">Alerts per week by category</text>\n"
		     "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n"
		     "<text x=\"%d\" y=\"%d\" class=\"v\" text-anchor=\"end\">%" PRId64 "</text>\n",
		  width, height, left, top + plot_h, left + bw * (int)s->weeks.n, top + plot_h, left - 4,
		  top + 10, max);
	if (s->weeks.n == 0)
		sb_printf(b, "<text x=\"%d\" y=\"%d\" class=\"l\">no data yet</text>\n", left, top + 40);
	for (size_t i = 0; i < s->weeks.n; i++) {
		const char *week = s->weeks.rows[i].parts[0];
		int x = left + (int)i * bw, y = top + plot_h;

		for (size_t k = 0; k < s->week_categories.n; k++) {
			const blo_committee_row_t *r = &s->week_categories.rows[k];
			int h;

			if (strcmp(r->parts[0], week) != 0)
				continue;
			h = (int)((double)r->count * plot_h / (double)max);
			if (h < 1)
				h = 1;
			y -= h;
			sb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>",
				  x + 1, y, bw - 2, h, category_colour(r->parts[1]));
			sb_html(b, week);
			sb_puts(b, " ");
			sb_html(b, r->parts[1]);
			sb_printf(b, ": %" PRId64 "</title></rect>\n", r->count);
		}
		sb_printf(b, "<text x=\"%d\" y=\"%d\" class=\"v\" transform=\"rotate(60 %d %d)\">",
			  x + bw / 2, top + plot_h + 12, x + bw / 2, top + plot_h + 12);
		sb_html(b, week);
		sb_puts(b, "</text>\n");
	}
	for (size_t j = 0; j < n_cats; j++) {
		int lx = left + bw * (int)s->weeks.n + 20, ly = top + 10 + (int)j * 18;

		sb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			     "<text x=\"%d\" y=\"%d\" class=\"l\">",
			  lx, ly, category_colour(cats[j]), lx + 18, ly + 11);
		sb_html(b, cats[j]);
		sb_puts(b, "</text>\n");
	}
	sb_puts(b, "</svg>\n");
}

static void html_table(sb_t *b, const char *id, const char *title, const char *const *heads,
		       const blo_committee_table_t *t, int parts, bool extra, bool quantity)
{
	sb_printf(b, "<h3>%s</h3>\n<table id=\"%s\">\n<tr>", title, id);
	for (int k = 0; heads[k] != NULL; k++)
		sb_printf(b, "<th>%s</th>", heads[k]);
	sb_puts(b, "</tr>\n");
	for (size_t i = 0; i < t->n; i++) {
		const blo_committee_row_t *r = &t->rows[i];

		sb_printf(b, "<tr data-table=\"%s\" data-key=\"", id);
		for (int k = 0; k < parts; k++) {
			if (k)
				sb_puts(b, "|");
			sb_html(b, r->parts[k]);
		}
		sb_puts(b, "\">");
		for (int k = 0; k < parts; k++) {
			sb_puts(b, "<td>");
			sb_html(b, r->parts[k]);
			sb_puts(b, "</td>");
		}
		sb_printf(b, "<td class=\"n\">%" PRId64 "</td>", r->count);
		if (extra)
			sb_printf(b, "<td class=\"n\">%" PRId64 "</td>", r->extra);
		if (quantity) {
			char q[32];

			blo_committee_report_quantity(r->quantity_milli, q, sizeof(q));
			sb_printf(b, "<td class=\"n\">%s</td>", q);
		}
		sb_puts(b, "</tr>\n");
	}
	if (t->n == 0)
		sb_puts(b, "<tr><td colspan=\"5\">none yet</td></tr>\n");
	sb_puts(b, "</table>\n");
}

char *blo_committee_report_html(const blo_committee_snapshot_t *s,
				const blo_committee_report_info_t *info)
{
	static const char *const h_cat[] = {"Category", "Alerts", "Seizures", NULL};
	static const char *const h_sev[] = {"Severity", "Alerts", NULL};
	static const char *const h_cross[] = {"Crossing", "Alerts", "Seizures", NULL};
	static const char *const h_route[] = {"From", "To", "Alerts", NULL};
	static const char *const h_agency[] = {"Country", "Agency", "Alerts", NULL};
	static const char *const h_week[] = {"ISO week", "Alerts", NULL};
	static const char *const h_type[] = {"Message type", "Count", NULL};
	static const char *const h_comm[] = {"Kind", "Commodity", "Unit", "Lines", "Quantity", NULL};
	static const char *const h_cu[] = {"Category", "Unit", "Lines", "Quantity", NULL};
	sb_t b = {0};
	char when[64];
	bar_t *bars = NULL;
	size_t n = s->crossings.n;

	if (s->routes.n > n)
		n = s->routes.n;
	if (s->n_replies > n)
		n = s->n_replies;
	bars = calloc(n + 1, sizeof(*bars));
	if (bars == NULL)
		return NULL;
	utc_time(info->generated_ms, when, sizeof(when));
	sb_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	sb_puts(&b, "National committee report ");
	sb_html(&b, info->country);
	sb_puts(&b, "</title>\n<style>\n"
		    "body{font-family:\"Noto Sans\",\"Noto Sans Thai\",\"Noto Sans Lao\",\"Noto Sans Khmer\","
		    "\"Noto Sans Myanmar\",\"Noto Sans CJK SC\",sans-serif;margin:2em;color:#222}\n"
		    "table{border-collapse:collapse;margin:0 0 1.5em 0}\n"
		    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\n"
		    "th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
		    "svg{display:block;margin:1em 0}svg .t{font:bold 14px sans-serif}\n"
		    "svg .l{font:12px sans-serif;fill:#222}svg .v{font:11px sans-serif;fill:#444}\n"
		    ".totals td{min-width:6em}\n"
		    "</style>\n</head>\n<body>\n<h1>National committee report: ");
	sb_html(&b, info->country);
	sb_puts(&b, "</h1>\n<p>Committee <b>");
	sb_html(&b, info->committee);
	sb_printf(&b, "</b>. Generated %s. ISO weeks at UTC%+d min. Figures are kept as alerts arrive;"
		      " cancelled alerts are left out, updated ones counted as updated.</p>\n",
		  when, s->week_offset_min);

	sb_printf(&b, "<h2>Totals</h2>\n<table class=\"totals\" id=\"totals\">\n"
		      "<tr><th>Messages received</th><td class=\"n\" data-total=\"messages\">%" PRId64 "</td></tr>\n"
		      "<tr><th>Alerts counted</th><td class=\"n\" data-total=\"alerts\">%" PRId64 "</td></tr>\n"
		      "<tr><th>Seizures (alerts with commodities)</th><td class=\"n\" data-total=\"seizures\">%" PRId64 "</td></tr>\n"
		      "<tr><th>Updated</th><td class=\"n\" data-total=\"updated\">%" PRId64 "</td></tr>\n"
		      "<tr><th>Cancelled</th><td class=\"n\" data-total=\"cancelled\">%" PRId64 "</td></tr>\n"
		      "<tr><th>Duplicates ignored</th><td class=\"n\" data-total=\"duplicates\">%" PRId64 "</td></tr>\n"
		      "<tr><th>Not verified (not counted)</th><td class=\"n\" data-total=\"unverified\">%" PRId64 "</td></tr>\n"
		      "<tr><th>Replies to unknown messages</th><td class=\"n\" data-total=\"unmatched_replies\">%" PRId64 "</td></tr>\n"
		      "</table>\n",
		  s->messages, s->alerts, s->seizures, s->updated, s->cancelled, s->duplicates,
		  s->unverified, s->unmatched_replies);

	sb_puts(&b, "<h2>Trends</h2>\n");
	svg_weeks(&b, s);
	html_table(&b, "weeks", "Alerts per ISO week", h_week, &s->weeks, 1, false, false);

	sb_puts(&b, "<h2>Crossings</h2>\n");
	n = 0;
	for (size_t i = 0; i < s->crossings.n; i++) {
		bars[n].label = s->crossings.rows[i].parts[0];
		bars[n].value = s->crossings.rows[i].extra;
		bars[n].value2 = -1;
		n++;
	}
	svg_bars(&b, "Seizures by crossing", bars, n, "#c0392b");
	html_table(&b, "crossings", "Alerts and seizures by crossing", h_cross, &s->crossings, 1, true, false);

	sb_puts(&b, "<h2>Routes</h2>\n");
	{
		char (*labels)[64] = calloc(s->routes.n + 1, sizeof(*labels));

		n = 0;
		for (size_t i = 0; labels != NULL && i < s->routes.n && n < 10; i++) {
			snprintf(labels[n], sizeof(labels[n]), "%s \xE2\x86\x92 %s", s->routes.rows[i].parts[0],
				 s->routes.rows[i].parts[1]);
			bars[n].label = labels[n];
			bars[n].value = s->routes.rows[i].count;
			bars[n].value2 = -1;
			bars[n].text = NULL;
			n++;
		}
		svg_bars(&b, "Top routes (alerts, from \xE2\x86\x92 to country)", bars, n, "#2980b9");
		free(labels);
	}
	html_table(&b, "routes", "Alerts by route", h_route, &s->routes, 2, false, false);

	sb_puts(&b, "<h2>Acknowledgement and response times</h2>\n");
	{
		char (*labels)[160] = calloc(s->n_replies + 1, sizeof(*labels));
		char (*texts)[64] = calloc(s->n_replies + 1, sizeof(*texts));

		n = 0;
		for (size_t i = 0; labels != NULL && texts != NULL && i < s->n_replies; i++) {
			const blo_committee_reply_stat_t *r = &s->replies[i];
			char m[32], p[32];

			duration(r->median_ms, m, sizeof(m));
			duration(r->p90_ms, p, sizeof(p));
			snprintf(labels[n], sizeof(labels[n]), "%s %s \xE2\x86\x92 %s", r->kind, r->from_site,
				 r->to_site);
			snprintf(texts[n], sizeof(texts[n]), "median %s, p90 %s (n=%zu)", m, p, r->n);
			bars[n].label = labels[n];
			bars[n].value = r->median_ms;
			bars[n].value2 = r->p90_ms;
			bars[n].text = texts[n];
			n++;
		}
		svg_bars(&b, "Time to first reply by pair of BLOs (bar: median, mark: p90)", bars, n,
			 "#16a085");
		free(labels);
		free(texts);
	}
	sb_puts(&b, "<table id=\"reply_times\">\n<tr><th>Kind</th><th>From (replied to)</th><th>To (replying)"
		    "</th><th>Count</th><th>Median</th><th>p90</th><th>Min</th><th>Max</th></tr>\n");
	for (size_t i = 0; i < s->n_replies; i++) {
		const blo_committee_reply_stat_t *r = &s->replies[i];
		char m[32], p[32], lo[32], hi[32];

		duration(r->median_ms, m, sizeof(m));
		duration(r->p90_ms, p, sizeof(p));
		duration(r->min_ms, lo, sizeof(lo));
		duration(r->max_ms, hi, sizeof(hi));
		sb_puts(&b, "<tr data-table=\"reply_times\" data-key=\"");
		sb_html(&b, r->kind);
		sb_puts(&b, "|");
		sb_html(&b, r->from_site);
		sb_puts(&b, "|");
		sb_html(&b, r->to_site);
		sb_printf(&b, "\" data-median-ms=\"%" PRId64 "\" data-p90-ms=\"%" PRId64 "\"><td>", r->median_ms,
			  r->p90_ms);
		sb_html(&b, r->kind);
		sb_puts(&b, "</td><td>");
		sb_html(&b, r->from_site);
		sb_puts(&b, "</td><td>");
		sb_html(&b, r->to_site);
		sb_printf(&b, "</td><td class=\"n\">%zu</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
			      "<td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
			  r->n, m, p, lo, hi);
	}
	if (s->n_replies == 0)
		sb_puts(&b, "<tr><td colspan=\"8\">none yet</td></tr>\n");
	sb_puts(&b, "</table>\n");

	sb_puts(&b, "<h2>Categories, agencies, seizures</h2>\n");
	html_table(&b, "categories", "Alerts by category", h_cat, &s->categories, 1, true, false);
	html_table(&b, "severities", "Alerts by severity", h_sev, &s->severities, 1, false, false);
	html_table(&b, "agencies", "Alerts by origin agency", h_agency, &s->agencies, 2, false, false);
	html_table(&b, "commodities", "Seized commodities and quantities", h_comm, &s->commodities, 3,
		   false, true);
	html_table(&b, "category_units", "Quantities by category and unit", h_cu, &s->category_units, 2,
		   false, true);
	html_table(&b, "types", "Messages by type", h_type, &s->types, 1, false, false);

	sb_puts(&b, "<h2>Modus operandi seen in bulletins</h2>\n<table id=\"modus_operandi\">\n"
		    "<tr><th>First seen</th><th>Last seen</th><th>Times</th><th>Category</th><th>From</th>"
		    "<th>Headline</th><th>Modus operandi</th></tr>\n");
	for (size_t i = 0; i < s->n_mo; i++) {
		const blo_committee_mo_t *m = &s->mo[i];
		char first[64], last[64];

		utc_time(m->first_ms, first, sizeof(first));
		utc_time(m->last_ms, last, sizeof(last));
		sb_printf(&b, "<tr data-table=\"modus_operandi\"><td>%s</td><td>%s</td><td class=\"n\">%" PRId64
			      "</td><td>",
			  first, last, m->count);
		sb_html(&b, m->category);
		sb_puts(&b, "</td><td>");
		sb_html(&b, m->site[0] ? m->site : m->country);
		sb_puts(&b, " (");
		sb_html(&b, m->principal);
		sb_puts(&b, ")</td><td>");
		sb_html(&b, m->headline);
		sb_puts(&b, "</td><td>");
		sb_html(&b, m->modus_operandi);
		sb_puts(&b, "</td></tr>\n");
	}
	if (s->n_mo == 0)
		sb_puts(&b, "<tr><td colspan=\"7\">none yet</td></tr>\n");
	sb_puts(&b, "</table>\n</body>\n</html>\n");
	free(bars);
	return sb_take(&b);
}

/* ---------------------------------------------------------------- files */

static int write_text(const char *dir, const char *name, char *text, blo_err_t *err)
{
	char path[4096];
	int rc;

	if (text == NULL)
		return blo_err_set(err, BLO_ENOMEM, "%s/%s: out of memory", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = blo_write_file_atomic(path, text, strlen(text), 0644);
	free(text);
	if (rc != 0)
		return blo_err_set(err, rc, "%s: %s", path, blo_strerror(rc));
	return 0;
}

int blo_committee_report_write(const blo_committee_snapshot_t *s,
			       const blo_committee_report_info_t *info, const char *dir,
			       blo_err_t *err)
{
	int rc;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return blo_err_set(err, -errno, "%s: %s", dir, strerror(errno));
	for (size_t i = 0; blo_committee_report_tables[i] != NULL; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s.csv", blo_committee_report_tables[i]);
		if ((rc = write_text(dir, name, blo_committee_report_csv(s, blo_committee_report_tables[i]),
				     err)) != 0)
			return rc;
	}
	if ((rc = write_text(dir, "report.json", blo_committee_report_json(s, info), err)) != 0)
		return rc;
	/* The page last: whoever watches for it finds the rest in place. */
	return write_text(dir, "report.html", blo_committee_report_html(s, info), err);
}

/*
 * blo_console_view: rows, detail, and event lines of the console (see
 * blo_console_view.h).
 */
#include "blo_console_view.h"

#include "blo_codec.h"
#include "blo_console_text.h"
#include "blo_envelope.h"
#include "blo_util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- names */

const char *blo_console_view_enum(const ProtobufCEnumDescriptor *d, int value)
{
	const char *s = blo_enum_name(d, value);

	return s != NULL ? s : "";
}

const char *blo_console_view_tlp_label(Blonet__Tlp tlp)
{
	switch (tlp) {
	case BLONET__TLP__TLP_CLEAR: return "TLP:CLEAR";
	case BLONET__TLP__TLP_GREEN: return "TLP:GREEN";
	case BLONET__TLP__TLP_AMBER: return "TLP:AMBER";
	case BLONET__TLP__TLP_AMBER_STRICT: return "TLP:AMBER+STRICT";
	case BLONET__TLP__TLP_RED: return "TLP:RED";
	default: return "TLP:?";
	}
}

/* The TLP 2.0 definitions (FIRST), shortened. */
const char *blo_console_view_tlp_meaning(Blonet__Tlp tlp)
{
	switch (tlp) {
	case BLONET__TLP__TLP_CLEAR:
		return "disclosure is not limited (still only within the releasability below)";
	case BLONET__TLP__TLP_GREEN:
		return "share within your community, not publicly";
	case BLONET__TLP__TLP_AMBER:
		return "share on a need-to-know basis within your organisation and its clients only";
	case BLONET__TLP__TLP_AMBER_STRICT:
		return "share on a need-to-know basis within your organisation only";
	case BLONET__TLP__TLP_RED:
		return "for the named recipients only: no further disclosure";
	default:
		return "no marking: treat as TLP:AMBER";
	}
}

static const char *tlp_short(Blonet__Tlp tlp)
{
	switch (tlp) {
	case BLONET__TLP__TLP_CLEAR: return "CLEAR";
	case BLONET__TLP__TLP_GREEN: return "GREEN";
	case BLONET__TLP__TLP_AMBER: return "AMBER";
	case BLONET__TLP__TLP_AMBER_STRICT: return "AMB+S";
	case BLONET__TLP__TLP_RED: return "RED";
	default: return "?";
	}
}

const char *blo_console_view_category_short(Blonet__Category c)
{
	switch (c) {
	case BLONET__CATEGORY__DRUGS: return "DRUGS";
	case BLONET__CATEGORY__PRECURSORS: return "PRECURSORS";
	case BLONET__CATEGORY__TRAFFICKING_IN_PERSONS: return "TIP";
	case BLONET__CATEGORY__MIGRANT_SMUGGLING: return "SMUGGLING";
	case BLONET__CATEGORY__WILDLIFE: return "WILDLIFE";
	case BLONET__CATEGORY__TIMBER: return "TIMBER";
	case BLONET__CATEGORY__COUNTERFEIT: return "COUNTERFEIT";
	case BLONET__CATEGORY__WEAPONS: return "WEAPONS";
	case BLONET__CATEGORY__CURRENCY: return "CURRENCY";
	case BLONET__CATEGORY__CATEGORY_OTHER: return "OTHER";
	default: return "-";
	}
}

const char *blo_console_view_severity_short(Blonet__Severity s)
{
	switch (s) {
	case BLONET__SEVERITY__MINOR: return "MINR";
	case BLONET__SEVERITY__MODERATE: return "MODR";
	case BLONET__SEVERITY__SEVERE: return "SEVR";
	case BLONET__SEVERITY__EXTREME: return "EXTR";
	default: return "----";
	}
}

const char *blo_console_view_agency_short(Blonet__AgencyKind a)
{
	switch (a) {
	case BLONET__AGENCY_KIND__CUSTOMS: return "CUSTOMS";
	case BLONET__AGENCY_KIND__IMMIGRATION: return "IMMIGRATION";
	case BLONET__AGENCY_KIND__NARCOTICS_POLICE: return "NARCOTICS";
	case BLONET__AGENCY_KIND__BORDER_POLICE: return "BORDER POL";
	case BLONET__AGENCY_KIND__WILDLIFE_FORESTRY: return "WILDLIFE";
	case BLONET__AGENCY_KIND__COORDINATION: return "BLO";
	case BLONET__AGENCY_KIND__AGENCY_OTHER: return "OTHER";
	default: return "?";
	}
}

static const char *type_name(Blonet__MessageType t)
{
	return blo_console_view_enum(&blonet__message_type__descriptor, (int)t);
}

static const char *pub_name(blo_console_pub_t p)
{
	switch (p) {
	case BLO_CONSOLE_PUB_PENDING: return "pending";
	case BLO_CONSOLE_PUB_ACCEPTED: return "accepted";
	case BLO_CONSOLE_PUB_DUPLICATE: return "duplicate";
	case BLO_CONSOLE_PUB_REJECTED: return "rejected";
	default: return "";
	}
}

/* ---------------------------------------------------------------- times */

void blo_console_view_time(int64_t ms, bool full, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || localtime_r(&t, &tm) == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	strftime(buf, size, full ? "%Y-%m-%d %H:%M:%S %z" : "%m-%d %H:%M", &tm);
}

void blo_console_view_duration(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, size, "-");
	else if (s < 60)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, size, "%" PRId64 "m %02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRId64 "h %02" PRId64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%" PRId64 "d %02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

/* ---------------------------------------------------------------- rows */

void blo_console_view_status(const blo_console_t *c, size_t item, char *buf, size_t size)
{
	const blo_console_item_t *it = blo_console_item(c, item);
	blo_console_state_t st;
	char took[32];

	buf[0] = '\0';
	if (it == NULL)
		return;
	blo_console_state(c, item, &st);
	blo_console_view_duration(st.first_reply_ms, took, sizeof(took));
	if (st.cancelled) {
		snprintf(buf, size, "CANCELLED");
	} else if (it->flags & BLO_CONSOLE_MINE) {
		if (it->pub == BLO_CONSOLE_PUB_PENDING)
			snprintf(buf, size, "SENDING");
		else if (it->pub == BLO_CONSOLE_PUB_REJECTED)
			snprintf(buf, size, "NOT SENT");
		else if (st.responses > 0)
			snprintf(buf, size, "ANSWERED %s", took);
		else if (st.acks > 0)
			snprintf(buf, size, "ACK %s %s",
				 st.last_ack == BLONET__ACK_STATUS__ACTING ? "ACTING" : "RCVD", took);
		else
			snprintf(buf, size, "SENT");
	} else if (st.my_ack != 0) {
		if (st.my_ack_pub == BLO_CONSOLE_PUB_PENDING)
			snprintf(buf, size, "ACKING");
		else if (st.my_ack_pub == BLO_CONSOLE_PUB_REJECTED)
			snprintf(buf, size, "ACK REFUSED");
		else
			snprintf(buf, size, "ACKED %s",
				 st.my_ack == BLONET__ACK_STATUS__ACTING ? "ACTING" : "RECEIVED");
	} else if (st.my_responses > 0) {
		snprintf(buf, size, "ANSWERED");
	} else if (it->ours && (st.acks > 0 || st.responses > 0)) {
		if (st.acks + st.responses > 1)
			snprintf(buf, size, "%zu REPLIES %s", st.acks + st.responses, took);
		else if (st.acks > 0)
			snprintf(buf, size, "ACK %s %s",
				 st.last_ack == BLONET__ACK_STATUS__ACTING ? "ACTING" : "RCVD", took);
		else
			snprintf(buf, size, "ANSWERED %s", took);
	} else if (st.updates > 0) {
		snprintf(buf, size, "UPDATED");
	}
}

typedef struct {
	int width;
	bool time, from;
	int cross, status, headline;
} layout_t;

#define W_MARK 2
#define W_SEV 4
#define W_TLP 5
#define W_CAT 11
#define W_TIME 11
#define W_FROM 14

/* Columns for a width: time from 100 cells, origin from 130; below 80 the
 * crossing and status columns narrow so the headline keeps some room. */
static layout_t layout(int width)
{
	layout_t l = {.width = width < 60 ? 60 : width, .cross = 14, .status = 18};
	int fixed;

	if (l.width < 80) {
		l.cross = 10;
		l.status = 12;
	}
	fixed = W_MARK + 1 + W_SEV + 1 + W_TLP + 1 + W_CAT + 1 + l.cross + 1 + 1 + l.status;
	l.time = l.width >= 100;
	l.from = l.width >= 130;
	if (l.time)
		fixed += W_TIME + 1;
	if (l.from)
		fixed += W_FROM + 1;
	l.headline = l.width - fixed;
	return l;
}

/* Appends s fitted to cols cells and a space (unless last). */
static size_t cell(char *buf, size_t size, size_t o, const char *s, int cols, bool last)
{
	if (o >= size)
		return o;
	o += blo_console_text_fit(buf + o, size - o, s, cols);
	if (!last && o + 1 < size) {
		buf[o++] = ' ';
		buf[o] = '\0';
	}
	return o;
}

void blo_console_view_row_header(int width, char *buf, size_t size)
{
	layout_t l = layout(width);
	size_t o = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	o = cell(buf, size, o, "", W_MARK, false);
	o = cell(buf, size, o, "SEV", W_SEV, false);
	o = cell(buf, size, o, "TLP", W_TLP, false);
	o = cell(buf, size, o, "CATEGORY", W_CAT, false);
	o = cell(buf, size, o, "CROSSING", l.cross, false);
	if (l.time)
		o = cell(buf, size, o, "TIME", W_TIME, false);
	if (l.from)
		o = cell(buf, size, o, "FROM", W_FROM, false);
	o = cell(buf, size, o, "HEADLINE", l.headline, false);
	cell(buf, size, o, "STATUS", l.status, true);
}

void blo_console_view_row(const blo_console_t *c, size_t item, int width, char *buf, size_t size)
{
	const blo_console_item_t *it = blo_console_item(c, item);
	layout_t l = layout(width);
	char mark[3], when[32], from[64], status[64], *headline = NULL;
	size_t o = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (it == NULL)
		return;
	mark[0] = (it->flags & BLO_CONSOLE_READ) ? ' ' : '*';
	mark[1] = (it->flags & BLO_CONSOLE_VERIFIED) ? ' ' : '!';
	mark[2] = '\0';
	blo_console_view_time(it->sent_ms > 0 ? it->sent_ms : it->received_ms, false, when, sizeof(when));
	snprintf(from, sizeof(from), "%s %s", it->country, blo_console_view_agency_short(it->agency));
	blo_console_view_status(c, item, status, sizeof(status));
	if (it->type != BLONET__MESSAGE_TYPE__ALERT &&
	    asprintf(&headline, "%s: %s", type_name(it->type), it->headline) < 0)
		headline = NULL;
	o = cell(buf, size, o, mark, W_MARK, false);
	o = cell(buf, size, o, blo_console_view_severity_short(it->severity), W_SEV, false);
	o = cell(buf, size, o, tlp_short(it->tlp), W_TLP, false);
	o = cell(buf, size, o, blo_console_view_category_short(it->category), W_CAT, false);
	o = cell(buf, size, o, it->crossing[0] ? it->crossing : "-", l.cross, false);
	if (l.time)
		o = cell(buf, size, o, when, W_TIME, false);
	if (l.from)
		o = cell(buf, size, o, from, W_FROM, false);
	o = cell(buf, size, o, headline != NULL ? headline : it->headline, l.headline, false);
	cell(buf, size, o, status, l.status, true);
	free(headline);
}

/* ---------------------------------------------------------------- detail */

typedef struct {
	char **v;
	size_t n, cap;
	int width;
	int rc;
} out_t;

static void out_push(out_t *o, char *line)
{
	if (line == NULL) {
		o->rc = BLO_ENOMEM;
		return;
	}
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		char **grown = realloc(o->v, cap * sizeof(*grown));

		if (grown == NULL) {
			free(line);
			o->rc = BLO_ENOMEM;
			return;
		}
		o->v = grown;
		o->cap = cap;
	}
	o->v[o->n++] = line;
}

/* Adds text (already clean) wrapped to the width; continuation lines and,
 * if indent > 0, every line are indented by indent cells. */
static void out_wrapped(out_t *o, const char *text, int first_indent, int indent)
{
	char **lines = NULL;
	size_t n = 0;
	int w = o->width - (indent > first_indent ? indent : first_indent);

	if (o->rc != 0)
		return;
	if (blo_console_text_wrap(text, w < 10 ? 10 : w, &lines, &n) != 0) {
		o->rc = BLO_ENOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *line = NULL;
		int pad = i == 0 ? first_indent : indent;

		if (asprintf(&line, "%*s%s", pad, "", lines[i]) < 0)
			line = NULL;
		out_push(o, line);
	}
	blo_console_text_lines_free(&lines, n);
}

/* printf into a wrapped paragraph; every %s argument must be clean. */
__attribute__((format(printf, 3, 4))) static void out_f(out_t *o, int indent, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL) {
		o->rc = BLO_ENOMEM;
		return;
	}
	out_wrapped(o, s, indent, indent + 2);
	free(s);
}

/* A labelled field from the network: cleaned, wrapped under its label. */
static void out_field(out_t *o, int indent, const char *label, const char *value)
{
	char *clean, *s = NULL;

	if (value == NULL || value[0] == '\0')
		return;
	clean = blo_console_text_clean(value, true);
	if (clean == NULL) {
		o->rc = BLO_ENOMEM;
		return;
	}
	if (strchr(clean, '\n') != NULL) {
		/* Multi-line text: the label on its own line. */
		out_f(o, indent, "%s:", label);
		out_wrapped(o, clean, indent + 2, indent + 2);
	} else {
		if (asprintf(&s, "%s: %s", label, clean) < 0)
			s = NULL;
		if (s == NULL)
			o->rc = BLO_ENOMEM;
		else
			out_wrapped(o, s, indent, indent + 2);
		free(s);
	}
	free(clean);
}

/* A cleaned copy for use in out_f, freed by the caller. */
static char *cl(const char *s)
{
	return blo_console_text_clean(s, false);
}

static void join_clean(char *buf, size_t size, char *const *v, size_t n, const char *none)
{
	size_t o = 0;

	buf[0] = '\0';
	if (n == 0) {
		snprintf(buf, size, "%s", none);
		return;
	}
	for (size_t i = 0; i < n && o < size; i++) {
		char *c = cl(v[i]);

		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", c != NULL ? c : "");
		free(c);
	}
}

static void fmt_quantity(char *buf, size_t size, double q)
{
	snprintf(buf, size, "%.15g", q);
}

static void detail_subjects(out_t *o, const Blonet__Alert *a)
{
	if (a->n_subjects == 0)
		return;
	out_f(o, 0, "Subjects (%zu):", a->n_subjects);
	for (size_t i = 0; i < a->n_subjects; i++) {
		const Blonet__Subject *s = a->subjects[i];
		char *name = cl(s->name), *role = cl(s->role), *nat = cl(s->nationality), *born = cl(s->birth_date);
		char extra[256] = "";
		size_t e = 0;

		if (role != NULL && role[0])
			e += (size_t)snprintf(extra + e, sizeof(extra) - e, " (%s)", role);
		if (nat != NULL && nat[0] && e < sizeof(extra))
			e += (size_t)snprintf(extra + e, sizeof(extra) - e, ", nationality %s", nat);
		if (born != NULL && born[0] && e < sizeof(extra))
			snprintf(extra + e, sizeof(extra) - e, ", born %s", born);
		out_f(o, 2, "%zu. %s: %s%s", i + 1,
		      blo_console_view_enum(&blonet__subject_kind__descriptor, (int)s->kind),
		      name != NULL && name[0] ? name : "(no name)", extra);
		for (size_t k = 0; k < s->n_identifiers; k++) {
			char *sch = cl(s->identifiers[k]->scheme), *val = cl(s->identifiers[k]->value),
			     *iss = cl(s->identifiers[k]->issuer);

			out_f(o, 5, "%s %s%s%s%s", sch != NULL && sch[0] ? sch : "id", val != NULL ? val : "",
			      iss != NULL && iss[0] ? " (" : "", iss != NULL ? iss : "",
			      iss != NULL && iss[0] ? ")" : "");
			free(sch);
			free(val);
			free(iss);
		}
		out_field(o, 5, "description", s->description);
		free(name);
		free(role);
		free(nat);
		free(born);
	}
}

static void detail_commodities(out_t *o, const Blonet__Alert *a)
{
	if (a->n_commodities == 0)
		return;
	out_f(o, 0, "Commodities (%zu):", a->n_commodities);
	for (size_t i = 0; i < a->n_commodities; i++) {
		const Blonet__Commodity *c = a->commodities[i];
		char *name = cl(c->name), *hs = cl(c->hs_code), *sp = cl(c->species), *conc = cl(c->concealment);
		char qty[64] = "", extra[512] = "";
		size_t e = 0;

		if (c->quantity != 0 || c->unit != 0) {
			fmt_quantity(qty, sizeof(qty), c->quantity);
			e += (size_t)snprintf(extra + e, sizeof(extra) - e, ", %s %s", qty,
					      blo_console_view_enum(&blonet__unit__descriptor, (int)c->unit));
		}
		if (sp != NULL && sp[0] && e < sizeof(extra))
			e += (size_t)snprintf(extra + e, sizeof(extra) - e, ", species %s", sp);
		if (hs != NULL && hs[0] && e < sizeof(extra))
			e += (size_t)snprintf(extra + e, sizeof(extra) - e, ", HS %s", hs);
		if (conc != NULL && conc[0] && e < sizeof(extra))
			snprintf(extra + e, sizeof(extra) - e, ", concealed: %s", conc);
		out_f(o, 2, "%zu. %s: %s%s", i + 1,
		      blo_console_view_enum(&blonet__commodity_kind__descriptor, (int)c->kind),
		      name != NULL && name[0] ? name : "(unnamed)", extra);
		free(name);
		free(hs);
		free(sp);
		free(conc);
	}
}

static void detail_where(out_t *o, const Blonet__Alert *a)
{
	const Blonet__Location *l = a->location;
	char *site, *place, pos[64] = "";

	if (l == NULL)
		return;
	site = cl(l->site);
	place = cl(l->place_name);
	if (l->position != NULL)
		snprintf(pos, sizeof(pos), " (%.5f, %.5f)", l->position->latitude, l->position->longitude);
	out_f(o, 0, "Where: %s%s%s%s%s%s", site != NULL && site[0] ? site : "-",
	      place != NULL && place[0] ? ", " : "", place != NULL ? place : "", pos,
	      l->direction != 0 ? ", " : "",
	      l->direction != 0 ? blo_console_view_enum(&blonet__direction__descriptor, (int)l->direction)
				: "");
	free(site);
	free(place);
	if (l->route != NULL) {
		const Blonet__Route *r = l->route;
		char *fp = cl(r->from_place), *tp = cl(r->to_place), via[512];

		join_clean(via, sizeof(via), r->via, r->n_via, "");
		out_f(o, 0, "Route: %s%s%s%s -> %s%s%s%s%s%s", r->from_country[0] ? r->from_country : "?",
		      fp != NULL && fp[0] ? " (" : "", fp != NULL ? fp : "", fp != NULL && fp[0] ? ")" : "",
		      r->to_country[0] ? r->to_country : "?", tp != NULL && tp[0] ? " (" : "",
		      tp != NULL ? tp : "", tp != NULL && tp[0] ? ")" : "", via[0] ? ", via " : "", via);
		free(fp);
		free(tp);
	}
}

static void detail_replies(out_t *o, blo_console_t *c, const blo_console_item_t *it)
{
	const blo_console_item_t *orig = it->original >= 0 ? blo_console_item(c, (size_t)it->original) : NULL;
	char took[32], when[64];

	if (orig != NULL) {
		blo_console_view_duration(it->sent_ms - orig->sent_ms, took, sizeof(took));
		out_f(o, 0, "In reply to: #%" PRIu64 " %s \"%s\" from %s, %s later", orig->local_seq,
		      type_name(orig->type), orig->headline, orig->principal, took);
	} else if (it->has_ref) {
		char hex[2 * BLO_ID_BYTES + 1];

		blo_hex_encode(hex, sizeof(hex), it->ref, BLO_ID_BYTES);
		out_f(o, 0, "In reply to: %s (not in this console's store)", hex);
	}
	if (it->n_related == 0)
		return;
	out_f(o, 0, "Replies and follow-ups (%zu):", it->n_related);
	for (size_t i = 0; i < it->n_related; i++) {
		const blo_console_item_t *r = blo_console_item(c, it->related[i]);
		const char *what = r->type == BLONET__MESSAGE_TYPE__ACK
					   ? blo_console_view_enum(&blonet__ack_status__descriptor,
								   (int)r->ack_status)
					   : "";
		Blonet__Alert *ra = NULL;
		char *desc = NULL;

		blo_console_view_duration(r->sent_ms - it->sent_ms, took, sizeof(took));
		blo_console_view_time(r->sent_ms, false, when, sizeof(when));
		if (blo_console_load(c, it->related[i], &ra, NULL, NULL, NULL) == 0 && ra->description != NULL)
			desc = cl(ra->description);
		out_f(o, 2, "#%" PRIu64 " %s%s%s %s %s (%s) at %s, after %s%s%s%s", r->local_seq,
		      type_name(r->type), what[0] ? " " : "", what,
		      (r->flags & BLO_CONSOLE_MINE) ? "sent by" : "from", r->principal,
		      r->origin_site[0] ? r->origin_site : r->country, when, took,
		      (r->flags & BLO_CONSOLE_MINE) ? " [" : "",
		      (r->flags & BLO_CONSOLE_MINE) ? pub_name(r->pub) : "",
		      (r->flags & BLO_CONSOLE_MINE) ? "]" : "");
		if (desc != NULL && desc[0])
			out_f(o, 6, "%s", desc);
		free(desc);
		blo_alert_free(&ra);
	}
}

int blo_console_view_detail(blo_console_t *c, size_t item, int width, char ***lines, size_t *n,
			    blo_err_t *err)
{
	const blo_console_item_t *it = blo_console_item(c, item);
	Blonet__Alert *a = NULL;
	Blonet__Envelope *env = NULL;
	char note[BLO_CONSOLE_NOTE_MAX], t1[64], t2[64], t3[64], buf[1024];
	out_t o = {.width = width < 20 ? 20 : width};
	const Blonet__Handling *h;
	const Blonet__Origin *org;
	int rc;

	*lines = NULL;
	*n = 0;
	if (it == NULL)
		return blo_err_set(err, BLO_ENOTFOUND, "no such message");
	if ((rc = blo_console_load(c, item, &a, &env, note, err)) != 0)
		return rc;
	h = a->handling;
	org = a->origin;

	{
		char status[32] = "";

		if (a->status != BLONET__STATUS__ACTUAL && a->status != 0)
			snprintf(status, sizeof(status), "  [%s]",
				 blo_console_view_enum(&blonet__status__descriptor, (int)a->status));
		out_f(&o, 0, "#%" PRIu64 " %s  %s  %s  %s%s", it->local_seq, type_name(a->type),
		      blo_console_view_tlp_label(h != NULL ? h->tlp : 0),
		      blo_console_view_enum(&blonet__severity__descriptor,
					    a->assessment != NULL ? (int)a->assessment->severity : 0),
		      blo_console_view_enum(&blonet__category__descriptor,
					    a->assessment != NULL ? (int)a->assessment->category : 0),
		      status);
	}
	if (h != NULL) {
		char rel[256], to[512], *op = cl(h->operation);

		out_f(&o, 0, "%s: %s", blo_console_view_tlp_label(h->tlp), blo_console_view_tlp_meaning(h->tlp));
		if (h->n_releasable_to == 0)
			snprintf(rel, sizeof(rel), "%s only", org != NULL ? org->country : "origin country");
		else {
			char list[200];

			join_clean(list, sizeof(list), h->releasable_to, h->n_releasable_to, "");
			snprintf(rel, sizeof(rel), "%s and %s", org != NULL ? org->country : "origin", list);
		}
		join_clean(to, sizeof(to), h->addressed_to, h->n_addressed_to, "-");
		out_f(&o, 0, "Releasable to: %s. Addressed to: %s. Operation: %s.", rel, to,
		      op != NULL && op[0] ? op : "-");
		free(op);
	}
	out_field(&o, 0, "Headline", a->headline);
	{
		char *src = cl(a->source_ref), *lang = cl(a->language);

		out_f(&o, 0, "Id: %s%s%s%s%s", it->id_hex, src != NULL && src[0] ? "  Source ref: " : "",
		      src != NULL ? src : "", lang != NULL && lang[0] ? "  Language: " : "",
		      lang != NULL ? lang : "");
		free(src);
		free(lang);
	}
	if (org != NULL) {
		char *pr = cl(org->principal), *an = cl(org->agency_name), *site = cl(org->site);

		out_f(&o, 0, "From: %s, %s%s%s%s, %s%s%s", pr != NULL ? pr : "",
		      blo_console_view_enum(&blonet__agency_kind__descriptor, (int)org->agency),
		      an != NULL && an[0] ? " (" : "", an != NULL ? an : "", an != NULL && an[0] ? ")" : "",
		      org->country, site != NULL && site[0] ? ", site " : "", site != NULL ? site : "");
		free(pr);
		free(an);
		free(site);
	}
	blo_console_view_time(a->sent_ms, true, t1, sizeof(t1));
	blo_console_view_time(a->observed_ms, true, t2, sizeof(t2));
	blo_console_view_time(it->received_ms, true, t3, sizeof(t3));
	out_f(&o, 0, "Sent: %s. Observed: %s. Received: %s.", t1, t2, t3);
	if (a->expires_ms > 0) {
		blo_console_view_time(a->expires_ms, true, t1, sizeof(t1));
		out_f(&o, 0, "Expires: %s.", t1);
	}
	if (a->assessment != NULL) {
		const Blonet__Assessment *s = a->assessment;

		out_f(&o, 0, "Assessment: urgency %s, certainty %s, source %s, information %s",
		      blo_console_view_enum(&blonet__urgency__descriptor, (int)s->urgency),
		      blo_console_view_enum(&blonet__certainty__descriptor, (int)s->certainty),
		      blo_console_view_enum(&blonet__source_reliability__descriptor, (int)s->source_reliability),
		      blo_console_view_enum(&blonet__information_grade__descriptor, (int)s->information_grade));
	}
	if (a->type == BLONET__MESSAGE_TYPE__ACK)
		out_f(&o, 0, "Acknowledgement: %s",
		      blo_console_view_enum(&blonet__ack_status__descriptor, (int)a->ack_status));
	detail_where(&o, a);
	out_field(&o, 0, "Description", a->description);
	out_field(&o, 0, "Modus operandi", a->modus_operandi);
	detail_subjects(&o, a);
	detail_commodities(&o, a);
	if (a->n_attributes > 0) {
		out_f(&o, 0, "Attributes:");
		for (size_t i = 0; i < a->n_attributes; i++)
			out_field(&o, 2, a->attributes[i]->key != NULL ? a->attributes[i]->key : "?",
				  a->attributes[i]->value);
	}
	if (it->flags & BLO_CONSOLE_MINE) {
		out_f(&o, 0, "Signature: signed by this console (%s)", it->principal);
	} else if (it->flags & BLO_CONSOLE_VERIFIED) {
		out_f(&o, 0, "Signature: verified, signed by %s", it->principal);
	} else {
		char *cn = cl(note);

		out_f(&o, 0, "Signature: NOT VERIFIED (%s)", cn != NULL ? cn : "");
		free(cn);
	}
	if (env != NULL && env->n_trace > 0) {
		size_t k = 0;

		buf[0] = '\0';
		for (size_t i = 0; i < env->n_trace && k < sizeof(buf); i++) {
			char *b = cl(env->trace[i]->broker);

			blo_console_view_time(env->trace[i]->at_ms, true, t1, sizeof(t1));
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s at %s", i ? " -> " : "",
					      b != NULL ? b : "", t1);
			free(b);
		}
		out_f(&o, 0, "Trace: %s", buf);
	} else {
		out_f(&o, 0, "Trace: -");
	}
	if (it->flags & BLO_CONSOLE_MINE) {
		char *cn = cl(note);

		out_f(&o, 0, "Broker: %s%s%s", pub_name(it->pub), cn != NULL && cn[0] ? ": " : "",
		      cn != NULL ? cn : "");
		free(cn);
	}
	detail_replies(&o, c, it);
	{
		blo_console_state_t st;

		blo_console_state(c, item, &st);
		if (st.my_ack != 0)
			out_f(&o, 0, "This console: acknowledged %s [%s]",
			      blo_console_view_enum(&blonet__ack_status__descriptor, (int)st.my_ack),
			      pub_name(st.my_ack_pub));
		if (st.cancelled)
			out_f(&o, 0, "CANCELLED by its originator");
	}
	blo_alert_free(&a);
	blo_envelope_free(&env);
	if (o.rc != 0) {
		blo_console_text_lines_free(&o.v, o.n);
		return blo_err_set(err, o.rc, "out of memory");
	}
	*lines = o.v;
	*n = o.n;
	return 0;
}

/* ---------------------------------------------------------------- JSON */

static void add_state(cJSON *o, const blo_console_t *c, size_t item)
{
	blo_console_state_t st;
	cJSON *s;

	blo_console_state(c, item, &st);
	s = cJSON_AddObjectToObject(o, "state");
	if (st.my_ack != 0) {
		cJSON_AddStringToObject(s, "my_ack",
					blo_console_view_enum(&blonet__ack_status__descriptor, (int)st.my_ack));
		cJSON_AddStringToObject(s, "my_ack_pub", pub_name(st.my_ack_pub));
	}
	cJSON_AddNumberToObject(s, "acks", (double)st.acks);
	if (st.acks > 0)
		cJSON_AddStringToObject(s, "last_ack",
					blo_console_view_enum(&blonet__ack_status__descriptor, (int)st.last_ack));
	cJSON_AddNumberToObject(s, "responses", (double)st.responses);
	if (st.my_responses > 0)
		cJSON_AddNumberToObject(s, "my_responses", (double)st.my_responses);
	if (st.first_reply_ms >= 0)
		cJSON_AddNumberToObject(s, "first_reply_ms", (double)st.first_reply_ms);
	cJSON_AddNumberToObject(s, "updates", (double)st.updates);
	cJSON_AddBoolToObject(s, "cancelled", st.cancelled);
}

static cJSON *item_json(blo_console_t *c, size_t item, bool with_alert, const char *event)
{
	const blo_console_item_t *it = blo_console_item(c, item);
	cJSON *o = cJSON_CreateObject();
	char note[BLO_CONSOLE_NOTE_MAX] = "";
	Blonet__Alert *a = NULL;
	Blonet__Envelope *env = NULL;

	if (o == NULL || it == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	if (event != NULL)
		cJSON_AddStringToObject(o, "event", event);
	cJSON_AddNumberToObject(o, "n", (double)it->local_seq);
	cJSON_AddStringToObject(o, "id", it->id_hex);
	cJSON_AddStringToObject(o, "type", type_name(it->type));
	cJSON_AddNumberToObject(o, "received_ms", (double)it->received_ms);
	if (it->broker_seq != 0) {
		cJSON_AddStringToObject(o, "broker", blo_console_broker_id(c));
		cJSON_AddNumberToObject(o, "broker_seq", (double)it->broker_seq);
	}
	cJSON_AddBoolToObject(o, "verified", (it->flags & BLO_CONSOLE_VERIFIED) != 0);
	if (it->flags & BLO_CONSOLE_VERIFIED)
		cJSON_AddStringToObject(o, "signer", it->principal);
	cJSON_AddBoolToObject(o, "unread", !(it->flags & BLO_CONSOLE_READ));
	cJSON_AddBoolToObject(o, "ours", it->ours);
	cJSON_AddBoolToObject(o, "mine", (it->flags & BLO_CONSOLE_MINE) != 0);
	if (it->flags & BLO_CONSOLE_MINE)
		cJSON_AddStringToObject(o, "pub", pub_name(it->pub));
	add_state(o, c, item);
	if (it->original >= 0) {
		const blo_console_item_t *orig = blo_console_item(c, (size_t)it->original);
		cJSON *r = cJSON_AddObjectToObject(o, "in_reply_to");

		cJSON_AddNumberToObject(r, "n", (double)orig->local_seq);
		cJSON_AddStringToObject(r, "id", orig->id_hex);
		cJSON_AddStringToObject(r, "type", type_name(orig->type));
		cJSON_AddStringToObject(r, "headline", orig->headline);
		cJSON_AddStringToObject(r, "from", orig->principal);
		cJSON_AddNumberToObject(r, "took_ms",
					(double)(it->sent_ms > orig->sent_ms ? it->sent_ms - orig->sent_ms : 0));
		cJSON_AddBoolToObject(r, "ours", orig->ours);
	}
	if (with_alert && blo_console_load(c, item, &a, &env, note, NULL) == 0) {
		cJSON *aj = NULL, *trace = cJSON_AddArrayToObject(o, "trace");

		for (size_t i = 0; i < env->n_trace; i++) {
			cJSON *h = cJSON_CreateObject();

			cJSON_AddStringToObject(h, "broker", env->trace[i]->broker);
			cJSON_AddNumberToObject(h, "at_ms", (double)env->trace[i]->at_ms);
			cJSON_AddItemToArray(trace, h);
		}
		if (note[0] != '\0')
			cJSON_AddStringToObject(o, "note", note);
		if (blo_message_to_json(&a->base, &aj) == 0)
			cJSON_AddItemToObject(o, "alert", aj);
	}
	blo_alert_free(&a);
	blo_envelope_free(&env);
	return o;
}

cJSON *blo_console_view_item_json(blo_console_t *c, size_t item, bool with_alert)
{
	return item_json(c, item, with_alert, NULL);
}

static char *event_json(blo_console_t *c, const blo_console_event_t *ev)
{
	cJSON *o = NULL;
	char *text;

	switch (ev->kind) {
	case BLO_CONSOLE_EV_RECEIVED:
		o = item_json(c, ev->item, true, "received");
		break;
	case BLO_CONSOLE_EV_SENT:
		o = item_json(c, ev->item, true, "sent");
		break;
	case BLO_CONSOLE_EV_PUBLISHED: {
		const blo_console_item_t *it = blo_console_item(c, ev->item);

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "event", "published");
		if (it != NULL) {
			cJSON_AddNumberToObject(o, "n", (double)it->local_seq);
			cJSON_AddStringToObject(o, "id", it->id_hex);
			cJSON_AddStringToObject(o, "type", type_name(it->type));
			cJSON_AddStringToObject(o, "status", pub_name(it->pub));
		}
		if (ev->text != NULL)
			cJSON_AddStringToObject(o, "reason", ev->text);
		break;
	}
	case BLO_CONSOLE_EV_LINK:
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "event", "link");
		cJSON_AddStringToObject(o, "broker", blo_console_broker_id(c));
		cJSON_AddBoolToObject(o, "up", ev->link_up);
		break;
	case BLO_CONSOLE_EV_ERROR:
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "event", "error");
		cJSON_AddStringToObject(o, "text", ev->text != NULL ? ev->text : "");
		break;
	case BLO_CONSOLE_EV_PRUNED:
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "event", "pruned");
		cJSON_AddNumberToObject(o, "count", (double)ev->pruned);
		cJSON_AddNumberToObject(o, "before_ms", (double)ev->before_ms);
		break;
	}
	if (o == NULL)
		return NULL;
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* "| 2 subjects: PERSON name, VEHICLE plate | 200000 TABLET methamphetamine
 * tablets", or "" when the alert names neither. Clean; caller frees. */
static char *what_summary(blo_console_t *c, size_t item)
{
	Blonet__Alert *a = NULL;
	char buf[512];
	size_t o = 0;

	buf[0] = '\0';
	if (blo_console_load(c, item, &a, NULL, NULL, NULL) != 0)
		return strdup("");
	for (size_t i = 0; i < a->n_subjects && o < sizeof(buf); i++) {
		char *name = cl(a->subjects[i]->name);

		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s %s", i == 0 ? " | " : ", ",
				      blo_console_view_enum(&blonet__subject_kind__descriptor,
							    (int)a->subjects[i]->kind),
				      name != NULL ? name : "");
		free(name);
	}
	for (size_t i = 0; i < a->n_commodities && o < sizeof(buf); i++) {
		const Blonet__Commodity *m = a->commodities[i];
		char *name = cl(m->name), q[64];

		fmt_quantity(q, sizeof(q), m->quantity);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s %s %s", i == 0 ? " | " : ", ", q,
				      blo_console_view_enum(&blonet__unit__descriptor, (int)m->unit),
				      name != NULL ? name : "");
		free(name);
	}
	blo_alert_free(&a);
	return strdup(buf);
}

static char *received_text(blo_console_t *c, size_t item, const char *verb)
{
	const blo_console_item_t *it = blo_console_item(c, item);
	const blo_console_item_t *orig;
	char when[32], took[32], *s = NULL, *what;

	if (it == NULL)
		return NULL;
	orig = it->original >= 0 ? blo_console_item(c, (size_t)it->original) : NULL;
	blo_console_view_time(it->sent_ms, false, when, sizeof(when));
	if ((it->type == BLONET__MESSAGE_TYPE__ACK || it->type == BLONET__MESSAGE_TYPE__RESPONSE) &&
	    orig != NULL) {
		blo_console_view_duration(it->sent_ms - orig->sent_ms, took, sizeof(took));
		if (asprintf(&s, "#%" PRIu64 " %s %s%s%s %s %s (%s) for #%" PRIu64 " \"%s\" after %s%s",
			     it->local_seq, verb, type_name(it->type),
			     it->type == BLONET__MESSAGE_TYPE__ACK ? " " : "",
			     it->type == BLONET__MESSAGE_TYPE__ACK
				     ? blo_console_view_enum(&blonet__ack_status__descriptor, (int)it->ack_status)
				     : "",
			     (it->flags & BLO_CONSOLE_MINE) ? "to" : "from",
			     (it->flags & BLO_CONSOLE_MINE) ? orig->principal : it->principal,
			     (it->flags & BLO_CONSOLE_MINE) ? (orig->origin_site[0] ? orig->origin_site : orig->country)
							    : (it->origin_site[0] ? it->origin_site : it->country),
			     orig->local_seq, orig->headline, took,
			     (it->flags & BLO_CONSOLE_VERIFIED) ? "" : "  NOT VERIFIED") < 0)
			s = NULL;
		return s;
	}
	what = what_summary(c, item);
	if (asprintf(&s, "#%" PRIu64 " %s %s %s %s %s %s from %s %s (%s) at %s: %s%s  [id %.12s]%s",
		     it->local_seq, verb, type_name(it->type),
		     blo_console_view_enum(&blonet__severity__descriptor, (int)it->severity),
		     blo_console_view_enum(&blonet__category__descriptor, (int)it->category),
		     blo_console_view_tlp_label(it->tlp), it->crossing[0] ? it->crossing : "-", it->country,
		     blo_console_view_agency_short(it->agency), it->principal, when, it->headline,
		     what != NULL ? what : "", it->id_hex,
		     (it->flags & BLO_CONSOLE_VERIFIED) ? "" : "  NOT VERIFIED") < 0)
		s = NULL;
	free(what);
	return s;
}

static char *event_text(blo_console_t *c, const blo_console_event_t *ev)
{
	const blo_console_item_t *it = blo_console_item(c, ev->item);
	char *s = NULL, *t;

	switch (ev->kind) {
	case BLO_CONSOLE_EV_RECEIVED:
		return received_text(c, ev->item, "NEW");
	case BLO_CONSOLE_EV_SENT:
		return received_text(c, ev->item, "SENT");
	case BLO_CONSOLE_EV_PUBLISHED:
		if (it == NULL)
			return strdup("published");
		t = cl(ev->text);
		if (asprintf(&s, "#%" PRIu64 " %s %s by broker %s%s%s", it->local_seq, type_name(it->type),
			     pub_name(it->pub), blo_console_broker_id(c), t != NULL && t[0] ? ": " : "",
			     t != NULL ? t : "") < 0)
			s = NULL;
		free(t);
		return s;
	case BLO_CONSOLE_EV_LINK:
		if (asprintf(&s, "link to broker %s %s", blo_console_broker_id(c), ev->link_up ? "up" : "down") < 0)
			s = NULL;
		return s;
	case BLO_CONSOLE_EV_ERROR:
		t = cl(ev->text);
		/* The broker's errors, and the store's own (which name it). */
		if (asprintf(&s, "%s%s", ev->text != NULL && strncmp(ev->text, "console store", 13) == 0
						 ? "" : "broker: ",
			     t != NULL ? t : "") < 0)
			s = NULL;
		free(t);
		return s;
	case BLO_CONSOLE_EV_PRUNED: {
		char when[32];

		blo_console_view_time(ev->before_ms, false, when, sizeof(when));
		if (asprintf(&s, "pruned %zu old messages (conversations last received before %s)",
			     ev->pruned, when) < 0)
			s = NULL;
		return s;
	}
	}
	return NULL;
}

char *blo_console_view_event(blo_console_t *c, const blo_console_event_t *ev, bool json)
{
	return json ? event_json(c, ev) : event_text(c, ev);
}

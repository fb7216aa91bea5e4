/*
 * The console's full screen: a list of messages (newest first, unread in
 * bold, the TLP cell in its colour), an alert's detail, filters picked from
 * menus, and the officer's actions, with the keys always listed at the
 * bottom. Text in any script is drawn as UTF-8 through ncursesw; columns
 * are fitted in display cells by blo_console_view.
 */
#include "tui.h"

#include <stdio.h>

#ifndef BLO_HAVE_NCURSESW

int tui_run(blo_console_t *c, volatile sig_atomic_t *stop)
{
	(void)c;
	(void)stop;
	fprintf(stderr, "blonet-console: built without ncursesw: no full-screen mode; "
			"use --line or --json\n");
	return 2;
}

bool tui_available(void)
{
	return false;
}

#else

#define NCURSES_WIDECHAR 1
#include "blo_console_text.h"
#include "blo_console_view.h"
#include "blo_util.h"

#include <curses.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define TEXT_MAX 2048
#define PAIR_RED 1
#define PAIR_AMBER 2
#define PAIR_GREEN 3
#define PAIR_CLEAR 4
#define PAIR_ALERT 5

typedef enum { SCREEN_LIST, SCREEN_DETAIL } screen_t;

typedef struct {
	blo_console_t *c;
	blo_console_filter_t filter;
	size_t *view;
	size_t n_view;
	long sel_item;  /* the selected item, or -1 */
	size_t sel;     /* its position in view */
	size_t top;
	screen_t screen;
	size_t detail_item;
	char **detail;
	size_t n_detail;
	size_t detail_top;
	char status[1024];
	bool status_alert;
	bool dirty;
	bool colors;
	bool refused;
	bool in_prompt; /* the bottom line is the officer's: do not redraw */
	/* The ids of the selected and the opened item, taken before each poll:
	 * pruning (BLO_CONSOLE_EV_PRUNED) renumbers every item. */
	uint8_t sel_id[BLO_ID_BYTES], detail_id[BLO_ID_BYTES];
	volatile sig_atomic_t *stop;
} tui_t;

/* ---------------------------------------------------------------- drawing */

static int tlp_pair(Blonet__Tlp tlp)
{
	switch (tlp) {
	case BLONET__TLP__TLP_RED: return PAIR_RED;
	case BLONET__TLP__TLP_AMBER:
	case BLONET__TLP__TLP_AMBER_STRICT: return PAIR_AMBER;
	case BLONET__TLP__TLP_GREEN: return PAIR_GREEN;
	default: return PAIR_CLEAR;
	}
}

static int width_of_screen(void)
{
	/* The last cell of a line is left alone: writing it may scroll. */
	return COLS > 2 ? COLS - 1 : 1;
}

/* Draws clean text s fitted to the screen's width at row y. */
static void put_line(int y, const char *s, attr_t attr)
{
	int w = width_of_screen();
	size_t size = 4 * (size_t)w + 64;
	char *buf = malloc(size);

	if (buf == NULL || y < 0 || y >= LINES) {
		free(buf);
		return;
	}
	blo_console_text_fit(buf, size, s, w);
	attron(attr);
	mvaddstr(y, 0, buf);
	attroff(attr);
	free(buf);
}

static void put_clean_line(int y, const char *raw, attr_t attr)
{
	char *s = blo_console_text_clean(raw, false);

	put_line(y, s != NULL ? s : "", attr);
	free(s);
}

static void set_status(tui_t *t, bool alert, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_status(tui_t *t, bool alert, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->status, sizeof(t->status), fmt, ap);
	va_end(ap);
	t->status_alert = alert;
	t->dirty = true;
}

static const char *category_label(Blonet__Category c)
{
	return c == 0 ? "all" : blo_console_view_enum(&blonet__category__descriptor, (int)c);
}

static void draw_header(tui_t *t, const char *what)
{
	const blo_principal_t *me = blo_console_me(t->c);
	char head[512];
	bool up = blo_console_link_up(t->c);

	snprintf(head, sizeof(head), " BLONET CONSOLE  %s  %s (%s)  %s  broker %s: %s  %zu unread",
		 me->id, me->site[0] ? me->site : "-", me->country, what, blo_console_broker_id(t->c),
		 !blo_console_online(t->c) ? "OFFLINE" : t->refused ? "REFUSED" : up ? "LINK UP" : "LINK DOWN",
		 blo_console_unread(t->c));
	put_clean_line(0, head, A_REVERSE | A_BOLD);
}

static void draw_footer(tui_t *t, const char *keys)
{
	put_clean_line(LINES - 2, t->status,
		       t->status_alert ? (A_BOLD | (t->colors ? COLOR_PAIR(PAIR_ALERT) : 0)) : A_NORMAL);
	put_line(LINES - 1, keys, A_REVERSE);
}

static void draw_list(tui_t *t)
{
	int w = width_of_screen(), rows = LINES - 5;
	size_t size = 4 * (size_t)w + 64;
	char *row = malloc(size), filt[512];

	if (row == NULL)
		return;
	erase();
	{
		char what[64];

		snprintf(what, sizeof(what), "%zu shown of %zu", t->n_view, blo_console_count(t->c));
		draw_header(t, what);
	}
	snprintf(filt, sizeof(filt), " Filter: category %s | severity %s%s | crossing %s | %s",
		 category_label(t->filter.category),
		 t->filter.min_severity == 0 ? "any" : ">= ",
		 t->filter.min_severity == 0 ? "" : blo_console_view_enum(&blonet__severity__descriptor,
									(int)t->filter.min_severity),
		 t->filter.crossing[0] ? t->filter.crossing : "all",
		 t->filter.unread_only ? "UNREAD ONLY" : "read and unread");
	put_clean_line(1, filt, A_NORMAL);
	blo_console_view_row_header(w, row, size);
	put_line(2, row, A_BOLD | A_UNDERLINE);
	if (t->n_view == 0)
		put_line(3, "  No messages match the filter.", A_NORMAL);
	for (int r = 0; r < rows && t->top + (size_t)r < t->n_view; r++) {
		size_t pos = t->top + (size_t)r;
		const blo_console_item_t *it = blo_console_item(t->c, t->view[pos]);
		attr_t attr = A_NORMAL;

		blo_console_view_row(t->c, t->view[pos], w, row, size);
		if (!(it->flags & BLO_CONSOLE_READ))
			attr |= A_BOLD;
		if (pos == t->sel)
			attr |= A_REVERSE;
		put_line(3 + r, row, attr);
		if (t->colors)
			mvchgat(3 + r, BLO_CONSOLE_VIEW_TLP_COL, BLO_CONSOLE_VIEW_TLP_CELLS, attr | A_BOLD,
				(short)tlp_pair(it->tlp), NULL);
	}
	draw_footer(t, " Up/Down move  Enter open  a ack  A acting  r answer RFI  R send RFI  b bulletin"
		       "  c category  s severity  x crossing  u unread  f clear  m read/unread  q quit");
	free(row);
}

static void free_detail(tui_t *t)
{
	blo_console_text_lines_free(&t->detail, t->n_detail);
	t->n_detail = 0;
}

static void build_detail(tui_t *t)
{
	blo_err_t err = {0};

	free_detail(t);
	if (blo_console_view_detail(t->c, t->detail_item, width_of_screen(), &t->detail, &t->n_detail,
				    &err) != 0)
		set_status(t, true, "cannot show it: %s", err.msg);
	if (t->n_detail > 0 && t->detail_top >= t->n_detail)
		t->detail_top = t->n_detail - 1;
}

static void draw_detail(tui_t *t)
{
	const blo_console_item_t *it = blo_console_item(t->c, t->detail_item);
	int rows = LINES - 5;
	char banner[512], what[64];

	erase();
	snprintf(what, sizeof(what), "message #%" PRIu64, it->local_seq);
	draw_header(t, what);
	snprintf(banner, sizeof(banner), " %s  %s", blo_console_view_tlp_label(it->tlp),
		 blo_console_view_tlp_meaning(it->tlp));
	put_line(1, banner, A_BOLD | A_REVERSE | (t->colors ? COLOR_PAIR(tlp_pair(it->tlp)) : 0));
	for (int r = 0; r < rows + 1 && t->detail_top + (size_t)r < t->n_detail; r++)
		put_line(2 + r, t->detail[t->detail_top + (size_t)r], A_NORMAL);
	draw_footer(t, " Up/Down PgUp/PgDn scroll  a ack received  A ack acting  r answer RFI"
		       "  Esc/q/Left back");
}

static void draw(tui_t *t)
{
	if (t->screen == SCREEN_DETAIL)
		draw_detail(t);
	else
		draw_list(t);
	refresh();
}

/* ---------------------------------------------------------------- model */

static void rebuild_view(tui_t *t)
{
	int rows = LINES - 5;

	free(t->view);
	t->view = NULL;
	t->n_view = 0;
	if (blo_console_view(t->c, &t->filter, &t->view, &t->n_view) != 0)
		set_status(t, true, "out of memory");
	t->sel = 0;
	for (size_t i = 0; i < t->n_view && t->sel_item >= 0; i++) {
		if ((long)t->view[i] == t->sel_item) {
			t->sel = i;
			break;
		}
	}
	t->sel_item = t->n_view > 0 ? (long)t->view[t->sel] : -1;
	if (rows < 1)
		rows = 1;
	if (t->sel < t->top)
		t->top = t->sel;
	if (t->sel >= t->top + (size_t)rows)
		t->top = t->sel - (size_t)rows + 1;
	if (t->top > t->sel)
		t->top = t->sel;
}

static void remember_ids(tui_t *t)
{
	const blo_console_item_t *it;

	if (t->sel_item >= 0 && (it = blo_console_item(t->c, (size_t)t->sel_item)) != NULL)
		memcpy(t->sel_id, it->id, BLO_ID_BYTES);
	if (t->screen == SCREEN_DETAIL && (it = blo_console_item(t->c, t->detail_item)) != NULL)
		memcpy(t->detail_id, it->id, BLO_ID_BYTES);
}

/* After pruning: find the selected and the opened item again by id; an
 * opened item that was pruned closes. */
static void follow_pruning(tui_t *t)
{
	long i;

	if (t->sel_item >= 0)
		t->sel_item = blo_console_find_id(t->c, t->sel_id);
	if (t->screen == SCREEN_DETAIL) {
		i = blo_console_find_id(t->c, t->detail_id);
		if (i >= 0) {
			t->detail_item = (size_t)i;
		} else {
			t->screen = SCREEN_LIST;
			free_detail(t);
		}
	}
}

static void on_event(blo_console_t *c, const blo_console_event_t *ev, void *arg)
{
	tui_t *t = arg;
	const blo_console_item_t *it = blo_console_item(c, ev->item);
	char *line;

	t->dirty = true;
	if (ev->kind == BLO_CONSOLE_EV_PRUNED)
		follow_pruning(t);
	if (ev->kind == BLO_CONSOLE_EV_RECEIVED && it != NULL && (it->flags & BLO_CONSOLE_MINE))
		return;
	line = blo_console_view_event(c, ev, false);
	if (line != NULL) {
		bool alert = ev->kind == BLO_CONSOLE_EV_ERROR ||
			     (ev->kind == BLO_CONSOLE_EV_LINK && !ev->link_up) ||
			     (ev->kind == BLO_CONSOLE_EV_PUBLISHED && it != NULL &&
			      it->pub == BLO_CONSOLE_PUB_REJECTED) ||
			     (ev->kind == BLO_CONSOLE_EV_RECEIVED && it != NULL &&
			      it->severity >= BLONET__SEVERITY__SEVERE);

		set_status(t, alert, "%s", line);
		if (ev->kind == BLO_CONSOLE_EV_RECEIVED && alert)
			beep();
		free(line);
	}
}

static bool service(tui_t *t)
{
	blo_err_t err = {0};
	int rc;

	remember_ids(t);
	rc = blo_console_poll(t->c, 0, &err);

	if (rc == BLO_EPERM) {
		t->refused = true;
		set_status(t, true, "%s", err.msg);
	} else if (rc != 0) {
		set_status(t, true, "%s", err.msg);
	}
	if (t->dirty && !t->in_prompt) {
		rebuild_view(t);
		if (t->screen == SCREEN_DETAIL)
			build_detail(t);
		draw(t);
		t->dirty = false;
	}
	return !*t->stop;
}

/* ---------------------------------------------------------------- input */

/* Reads a key, servicing the network while waiting. ERR when stopped. */
static int read_key(tui_t *t, wint_t *ch)
{
	for (;;) {
		int r;

		if (!service(t))
			return ERR;
		r = get_wch(ch);
		if (r != ERR)
			return r;
	}
}

/* A line of text at the bottom. Returns false when cancelled (Esc). */
static bool prompt(tui_t *t, const char *label, const char *initial, char *out, size_t size)
{
	size_t len;

	snprintf(out, size, "%s", initial != NULL ? initial : "");
	len = strlen(out);
	curs_set(1);
	t->in_prompt = true;
	for (;;) {
		int w = width_of_screen(), lw = (int)blo_console_text_width(label);
		const char *shown = out;
		wint_t ch;
		int r;

		/* Show the end of the text if it is wider than the line. */
		while (*shown != '\0' && (int)blo_console_text_width(shown) > w - lw - 1) {
			int32_t cp;

			shown += blo_console_text_decode(shown, strlen(shown), &cp);
		}
		move(LINES - 2, 0);
		clrtoeol();
		attron(A_BOLD);
		mvaddstr(LINES - 2, 0, label);
		attroff(A_BOLD);
		{
			char *clean = blo_console_text_clean(shown, false);

			addstr(clean != NULL ? clean : "");
			free(clean);
		}
		put_line(LINES - 1, " Enter accept  Esc cancel  Backspace delete  Ctrl-U clear", A_REVERSE);
		move(LINES - 2, lw + (int)blo_console_text_width(shown));
		refresh();
		r = read_key(t, &ch);
		if (r == ERR) {
			curs_set(0);
			t->in_prompt = false;
			return false;
		}
		if (r == KEY_CODE_YES) {
			if (ch == KEY_ENTER)
				break;
			if (ch == KEY_BACKSPACE && len > 0) {
				do
					len--;
				while (len > 0 && ((unsigned char)out[len] & 0xC0) == 0x80);
				out[len] = '\0';
			}
			continue;
		}
		if (ch == 27) {
			curs_set(0);
			t->in_prompt = false;
			t->dirty = true;
			return false;
		}
		if (ch == '\n' || ch == '\r')
			break;
		if (ch == 127 || ch == 8) {
			if (len > 0) {
				do
					len--;
				while (len > 0 && ((unsigned char)out[len] & 0xC0) == 0x80);
				out[len] = '\0';
			}
			continue;
		}
		if (ch == 21) { /* Ctrl-U */
			len = 0;
			out[0] = '\0';
			continue;
		}
		if (ch >= 32) {
			char mb[MB_LEN_MAX];
			mbstate_t st;
			size_t n;

			memset(&st, 0, sizeof(st));
			n = wcrtomb(mb, (wchar_t)ch, &st);
			if (n != (size_t)-1 && len + n + 1 < size) {
				memcpy(out + len, mb, n);
				len += n;
				out[len] = '\0';
			}
		}
	}
	curs_set(0);
	t->in_prompt = false;
	t->dirty = true;
	return true;
}

static const char hotkeys[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* A menu in a box. Returns the index chosen, or -1 when cancelled. */
static int pick(tui_t *t, const char *title, const char *const *labels, size_t n, size_t initial)
{
	int h = (int)n + 2, w = (int)blo_console_text_width(title) + 4, top = 0, result = -1;
	size_t cur = initial < n ? initial : 0;
	WINDOW *win;

	for (size_t i = 0; i < n; i++) {
		int lw = (int)blo_console_text_width(labels[i]) + 6;

		if (lw > w)
			w = lw;
	}
	if (h > LINES - 2)
		h = LINES - 2;
	if (w > COLS - 2)
		w = COLS - 2;
	if (h < 3 || w < 8)
		return -1;
	win = newwin(h, w, (LINES - h) / 2, (COLS - w) / 2);
	if (win == NULL)
		return -1;
	keypad(win, TRUE);
	for (;;) {
		int rows = h - 2;
		wint_t ch;
		int r;

		if ((int)cur < top)
			top = (int)cur;
		if ((int)cur >= top + rows)
			top = (int)cur - rows + 1;
		werase(win);
		box(win, 0, 0);
		mvwaddstr(win, 0, 2, title);
		for (int i = 0; i < rows && top + i < (int)n; i++) {
			size_t k = (size_t)(top + i);
			size_t size = 4 * (size_t)w + 16;
			char *line = malloc(size), label[16];

			if (line == NULL)
				continue;
			snprintf(label, sizeof(label), "%c ", k < sizeof(hotkeys) - 1 ? hotkeys[k] : ' ');
			{
				char *full = NULL;

				if (asprintf(&full, "%s%s", label, labels[k]) >= 0) {
					blo_console_text_fit(line, size, full, w - 4);
					free(full);
				}
			}
			if (k == cur)
				wattron(win, A_REVERSE);
			mvwaddstr(win, 1 + i, 2, line);
			if (k == cur)
				wattroff(win, A_REVERSE);
			free(line);
		}
		wrefresh(win);
		/* The network is serviced while the menu waits. */
		wtimeout(win, 200);
		r = wget_wch(win, &ch);
		if (r == ERR) {
			blo_console_poll(t->c, 0, NULL);
			if (*t->stop)
				break;
			continue;
		}
		if (r == KEY_CODE_YES) {
			if (ch == KEY_UP && cur > 0)
				cur--;
			else if (ch == KEY_DOWN && cur + 1 < n)
				cur++;
			else if (ch == KEY_ENTER) {
				result = (int)cur;
				break;
			}
			continue;
		}
		if (ch == 27)
			break;
		if (ch == '\n' || ch == '\r') {
			result = (int)cur;
			break;
		}
		{
			const char *hk = ch < 128 && ch > 0 ? strchr(hotkeys, (int)ch) : NULL;

			if (hk != NULL && (size_t)(hk - hotkeys) < n) {
				result = (int)(hk - hotkeys);
				break;
			}
		}
	}
	delwin(win);
	/* Repaint what the menu covered, before the next menu or prompt. */
	touchwin(stdscr);
	refresh();
	t->dirty = true;
	return result;
}

static bool confirm(tui_t *t, const char *question)
{
	const char *labels[] = {"no, cancel", "yes, send"};

	return pick(t, question, labels, 2, 0) == 1;
}

/* ---------------------------------------------------------------- actions */

static long selected(const tui_t *t)
{
	if (t->screen == SCREEN_DETAIL)
		return (long)t->detail_item;
	return t->n_view > 0 ? (long)t->view[t->sel] : -1;
}

static void do_ack(tui_t *t, Blonet__AckStatus status)
{
	long item = selected(t);
	blo_err_t err = {0};
	size_t sent;

	if (item < 0)
		return;
	if (blo_console_ack(t->c, (size_t)item, status, NULL, &sent, &err) != 0)
		set_status(t, true, "ack: %s", err.msg);
	else
		set_status(t, false, "ACK %s sent for #%" PRIu64 ": waiting for the broker",
			   blo_console_view_enum(&blonet__ack_status__descriptor, (int)status),
			   blo_console_item(t->c, (size_t)item)->local_seq);
	blo_console_mark_read(t->c, (size_t)item, NULL);
}

static void do_respond(tui_t *t)
{
	long item = selected(t);
	char text[TEXT_MAX];
	blo_err_t err = {0};

	if (item < 0)
		return;
	if (blo_console_item(t->c, (size_t)item)->type != BLONET__MESSAGE_TYPE__RFI) {
		set_status(t, true, "only an RFI is answered: this is not one");
		return;
	}
	if (!prompt(t, "Answer to the RFI: ", NULL, text, sizeof(text)) || text[0] == '\0') {
		set_status(t, false, "answer cancelled");
		return;
	}
	if (blo_console_respond(t->c, (size_t)item, text, NULL, &err) != 0)
		set_status(t, true, "respond: %s", err.msg);
	else
		set_status(t, false, "RESPONSE sent: waiting for the broker");
}

static void do_send(tui_t *t, Blonet__MessageType type)
{
	const char *kind = type == BLONET__MESSAGE_TYPE__RFI ? "RFI" : "bulletin";
	size_t n_sites, n = 0;
	const char *const *sites = blo_console_sites(t->c, &n_sites);
	const char *counterpart = blo_console_counterpart(t->c), *site, *country;
	const char **choices = calloc(n_sites + 1, sizeof(*choices));
	const char *tlps[5], *cats[10], *rels[16];
	char title[128], headline[TEXT_MAX], body[TEXT_MAX], rel[256], question[512];
	blo_console_outgoing_t m = {.type = type};
	blo_err_t err = {0};
	char *save = NULL;
	int k;

	if (choices == NULL)
		return;
	if (counterpart != NULL && counterpart[0])
		choices[n++] = counterpart;
	for (size_t i = 0; i < n_sites; i++)
		if (counterpart == NULL || strcmp(sites[i], counterpart) != 0)
			choices[n++] = sites[i];
	if (n == 0) {
		set_status(t, true, "no other BLO in the registry to send to");
		goto out;
	}
	snprintf(title, sizeof(title), "Send the %s to which BLO?", kind);
	if ((k = pick(t, title, choices, n, 0)) < 0)
		goto cancelled;
	site = choices[k];
	for (int i = 0; i < 5; i++)
		tlps[i] = blo_console_view_tlp_label((Blonet__Tlp)(i + 1));
	if ((k = pick(t, "Marking (TLP 2.0)", tlps, 5, 2)) < 0)
		goto cancelled;
	m.tlp = (Blonet__Tlp)(k + 1);
	for (int i = 0; i < 10; i++)
		cats[i] = blo_console_view_enum(&blonet__category__descriptor, i + 1);
	if ((k = pick(t, "Category", cats, 10, 0)) < 0)
		goto cancelled;
	m.category = (Blonet__Category)(k + 1);
	if (!prompt(t, "Headline: ", NULL, headline, sizeof(headline)) || headline[0] == '\0')
		goto cancelled;
	if (!prompt(t, type == BLONET__MESSAGE_TYPE__RFI ? "Question, details: " : "Modus operandi: ",
		    NULL, body, sizeof(body)))
		goto cancelled;
	country = blo_console_site_country(t->c, site);
	snprintf(rel, sizeof(rel), "%s",
		 country != NULL && strcmp(country, blo_console_me(t->c)->country) != 0 ? country : "");
	if (!prompt(t, "Releasable to (other countries, space-separated; empty: none): ", rel, rel,
		    sizeof(rel)))
		goto cancelled;
	for (char *cc = strtok_r(rel, " ,", &save); cc != NULL && m.n_releasable_to < 16;
	     cc = strtok_r(NULL, " ,", &save))
		rels[m.n_releasable_to++] = cc;
	m.releasable_to = rels;
	m.releasable_set = true;
	m.to_site = site;
	m.headline = headline;
	if (type == BLONET__MESSAGE_TYPE__RFI)
		m.description = body;
	else
		m.modus_operandi = body;
	snprintf(question, sizeof(question), "Send this %s to %s as %s?", kind, site,
		 blo_console_view_tlp_label(m.tlp));
	if (!confirm(t, question))
		goto cancelled;
	if (blo_console_send(t->c, &m, NULL, &err) != 0)
		set_status(t, true, "%s: %s", kind, err.msg);
	else
		set_status(t, false, "%s sent to %s: waiting for the broker", kind, site);
	goto out;
cancelled:
	set_status(t, false, "%s cancelled", kind);
out:
	free(choices);
}

static void pick_category(tui_t *t)
{
	const char *labels[11];
	char text[11][64];
	int k;

	for (int i = 0; i <= 10; i++) {
		size_t count = 0;
		blo_console_filter_t f = t->filter;

		f.category = (Blonet__Category)i;
		for (size_t j = 0; j < blo_console_count(t->c); j++)
			if (blo_console_filter_match(t->c, &f, j))
				count++;
		snprintf(text[i], sizeof(text[i]), "%s (%zu)", i == 0 ? "all categories"
						       : blo_console_view_enum(&blonet__category__descriptor, i), count);
		labels[i] = text[i];
	}
	if ((k = pick(t, "Show category", labels, 11, (size_t)t->filter.category)) >= 0) {
		t->filter.category = (Blonet__Category)k;
		t->top = 0;
	}
}

static void pick_severity(tui_t *t)
{
	const char *labels[] = {"any severity", "MINOR or more", "MODERATE or more", "SEVERE or more",
				"EXTREME"};
	int k = pick(t, "Show severity", labels, 5, (size_t)t->filter.min_severity);

	if (k >= 0)
		t->filter.min_severity = (Blonet__Severity)k;
}

static void pick_crossing(tui_t *t)
{
	size_t n;
	const char *const *cross = blo_console_crossings(t->c, &n);
	const char **labels = calloc(n + 1, sizeof(*labels));
	int k;

	if (labels == NULL)
		return;
	labels[0] = "all crossings";
	for (size_t i = 0; i < n; i++)
		labels[i + 1] = cross[i];
	k = pick(t, "Show crossing", labels, n + 1, 0);
	if (k == 0)
		t->filter.crossing[0] = '\0';
	else if (k > 0)
		snprintf(t->filter.crossing, sizeof(t->filter.crossing), "%s", cross[k - 1]);
	free(labels);
}

static void open_detail(tui_t *t)
{
	long item = selected(t);

	if (item < 0)
		return;
	t->screen = SCREEN_DETAIL;
	t->detail_item = (size_t)item;
	t->detail_top = 0;
	blo_console_mark_read(t->c, (size_t)item, NULL);
	build_detail(t);
}

static void toggle_read(tui_t *t)
{
	long item = selected(t);
	const blo_console_item_t *it;

	if (item < 0)
		return;
	it = blo_console_item(t->c, (size_t)item);
	/* Unread again: for a colleague on the next shift. */
	if (it->flags & BLO_CONSOLE_READ)
		blo_console_mark_unread(t->c, (size_t)item, NULL);
	else
		blo_console_mark_read(t->c, (size_t)item, NULL);
}

/* Returns false to quit. */
static bool handle_key(tui_t *t, int r, wint_t ch)
{
	int rows = LINES - 5 > 1 ? LINES - 5 : 1;

	if (t->screen == SCREEN_DETAIL) {
		size_t max_top = t->n_detail > (size_t)rows ? t->n_detail - (size_t)rows : 0;

		if (r == KEY_CODE_YES) {
			switch (ch) {
			case KEY_UP: if (t->detail_top > 0) t->detail_top--; break;
			case KEY_DOWN: if (t->detail_top < max_top) t->detail_top++; break;
			case KEY_PPAGE: t->detail_top = t->detail_top > (size_t)rows ? t->detail_top - (size_t)rows : 0; break;
			case KEY_NPAGE: t->detail_top = t->detail_top + (size_t)rows < max_top ? t->detail_top + (size_t)rows : max_top; break;
			case KEY_LEFT:
			case KEY_BACKSPACE: t->screen = SCREEN_LIST; break;
			case KEY_RESIZE: build_detail(t); break;
			default: break;
			}
			return true;
		}
		switch (ch) {
		case 27: case 'q': case 127: case 8: t->screen = SCREEN_LIST; break;
		case 'k': if (t->detail_top > 0) t->detail_top--; break;
		case 'j': case ' ': if (t->detail_top < max_top) t->detail_top++; break;
		case 'a': do_ack(t, BLONET__ACK_STATUS__RECEIVED); break;
		case 'A': do_ack(t, BLONET__ACK_STATUS__ACTING); break;
		case 'r': do_respond(t); break;
		default: break;
		}
		return true;
	}
	if (r == KEY_CODE_YES) {
		switch (ch) {
		case KEY_UP: if (t->sel > 0) t->sel--; break;
		case KEY_DOWN: if (t->sel + 1 < t->n_view) t->sel++; break;
		case KEY_PPAGE: t->sel = t->sel > (size_t)rows ? t->sel - (size_t)rows : 0; break;
		case KEY_NPAGE: t->sel = t->sel + (size_t)rows < t->n_view ? t->sel + (size_t)rows : (t->n_view ? t->n_view - 1 : 0); break;
		case KEY_HOME: t->sel = 0; break;
		case KEY_END: t->sel = t->n_view ? t->n_view - 1 : 0; break;
		case KEY_ENTER: case KEY_RIGHT: open_detail(t); break;
		default: break;
		}
		t->sel_item = t->n_view > 0 ? (long)t->view[t->sel] : -1;
		return true;
	}
	switch (ch) {
	case 'q': case 'Q': return false;
	case 'k': if (t->sel > 0) t->sel--; break;
	case 'j': if (t->sel + 1 < t->n_view) t->sel++; break;
	case '\n': case '\r': case 'o': open_detail(t); break;
	case 'a': do_ack(t, BLONET__ACK_STATUS__RECEIVED); break;
	case 'A': do_ack(t, BLONET__ACK_STATUS__ACTING); break;
	case 'r': do_respond(t); break;
	case 'R': do_send(t, BLONET__MESSAGE_TYPE__RFI); break;
	case 'b': do_send(t, BLONET__MESSAGE_TYPE__BULLETIN); break;
	case 'c': pick_category(t); break;
	case 's': pick_severity(t); break;
	case 'x': pick_crossing(t); break;
	case 'u': t->filter.unread_only = !t->filter.unread_only; break;
	case 'f': memset(&t->filter, 0, sizeof(t->filter)); break;
	case 'm': toggle_read(t); break;
	default: break;
	}
	if (t->n_view > 0 && t->sel < t->n_view)
		t->sel_item = (long)t->view[t->sel];
	return true;
}

bool tui_available(void)
{
	return true;
}

int tui_run(blo_console_t *c, volatile sig_atomic_t *stop)
{
	tui_t t = {.c = c, .sel_item = -1, .dirty = true, .stop = stop};
	int exit_code = 0;

	if (initscr() == NULL) {
		fprintf(stderr, "blonet-console: cannot start full screen (TERM?)\n");
		return 2;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	timeout(200);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_RED, COLOR_RED, -1);
		init_pair(PAIR_AMBER, COLOR_YELLOW, -1);
		init_pair(PAIR_GREEN, COLOR_GREEN, -1);
		init_pair(PAIR_CLEAR, COLOR_WHITE, -1);
		init_pair(PAIR_ALERT, COLOR_RED, -1);
		t.colors = true;
	}
	set_status(&t, false, "Keys are listed below. New alerts appear at the top; * marks unread.");
	blo_console_set_listener(c, on_event, &t);
	for (;;) {
		wint_t ch;
		int r = read_key(&t, &ch);

		if (r == ERR)
			break;
		if (!handle_key(&t, r, ch))
			break;
		t.dirty = true;
	}
	if (t.refused)
		exit_code = 1;
	blo_console_set_listener(c, NULL, NULL);
	endwin();
	free_detail(&t);
	free(t.view);
	return exit_code;
}

#endif

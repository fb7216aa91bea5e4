/*
 * blo_policy: the delivery policy of design section 4, as one pure function,
 * and the subscriber's own filter. Everything unknown is refused.
 */
#include "blo_policy.h"

#include <string.h>

static bool is_blank(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static bool list_has(char *const *list, size_t n, const char *s)
{
	if (is_blank(s))
		return false;
	for (size_t i = 0; i < n; i++)
		if (list[i] != NULL && strcmp(list[i], s) == 0)
			return true;
	return false;
}

static bool is_reply(const Blonet__Alert *a)
{
	return a->type == BLONET__MESSAGE_TYPE__ACK || a->type == BLONET__MESSAGE_TYPE__RESPONSE;
}

static bool is_reader(const blo_principal_t *q)
{
	return !q->revoked && (q->role == BLO_ROLE_CONSOLE || q->role == BLO_ROLE_COMMITTEE);
}

/* Rules 3-5 for a peer broker: it may hold the alert when its country is
 * the origin's (the origin's own country holds whatever its principals
 * publish, and its brokers store and relay it whatever the marking), or
 * when some console or committee of its country may receive it. Whoever
 * else the alert names (a revoked principal, an agent, an administrator, the
 * broker itself) opens no country to it.
 * One way through: a reply released to a country may cross it on its way
 * back to the originator (VN's answer to TH through LA, VN having released
 * it to LA), when it is marked no stricter than AMBER and its operation, if
 * any, has a console or committee of that country among its members. */
static bool broker_may_receive(const Blonet__Alert *a, const blo_principal_t *p,
			       const blo_registry_t *reg, const Blonet__Origin *ref)
{
	const Blonet__Handling *h = a->handling;
	bool member_here = is_blank(h->operation);

	if (h->tlp < BLONET__TLP__TLP_CLEAR || h->tlp > BLONET__TLP__TLP_RED)
		return false;
	if (strcmp(p->country, a->origin->country) == 0)
		return true;
	for (size_t i = 0, n = blo_registry_count(reg); i < n; i++) {
		const blo_principal_t *q = blo_registry_at(reg, i);

		if (!is_reader(q) || strcmp(q->country, p->country) != 0)
			continue;
		if (blo_policy_may_receive(a, q, reg, ref))
			return true;
		if (!member_here && blo_registry_is_member(reg, h->operation, q->id))
			member_here = true;
	}
	return is_reply(a) && h->tlp <= BLONET__TLP__TLP_AMBER && member_here;
}

bool blo_policy_may_receive(const Blonet__Alert *a, const blo_principal_t *p,
			    const blo_registry_t *reg, const Blonet__Origin *ref)
{
	const Blonet__Handling *h;
	bool reply, gate, originator = false, site_console = false;

	if (a == NULL || p == NULL || reg == NULL || p->revoked)
		return false;
	if (a->origin == NULL || a->handling == NULL || is_blank(a->origin->country))
		return false;
	if (p->role != BLO_ROLE_CONSOLE && p->role != BLO_ROLE_COMMITTEE && p->role != BLO_ROLE_BROKER)
		return false;
	h = a->handling;
	reply = is_reply(a);
	if (reply && (ref == NULL || is_blank(ref->principal) || is_blank(ref->country)))
		return false;

	/* Rule 2: the country gate. */
	gate = strcmp(p->country, a->origin->country) == 0 ||
	       list_has(h->releasable_to, h->n_releasable_to, p->country) ||
	       (reply && strcmp(p->country, ref->country) == 0);
	if (!gate)
		return false;

	if (p->role == BLO_ROLE_BROKER)
		return broker_may_receive(a, p, reg, ref);

	/* Rule 3: a joint operation is a closed user group. */
	if (!is_blank(h->operation) && !blo_registry_is_member(reg, h->operation, p->id))
		return false;

	/* Rule 4: replies go back to the originator. */
	if (reply) {
		originator = strcmp(p->id, ref->principal) == 0;
		site_console = p->role == BLO_ROLE_CONSOLE && !is_blank(ref->site) &&
			       strcmp(p->site, ref->site) == 0;
		if (!originator && !site_console && p->role != BLO_ROLE_COMMITTEE)
			return false;
	}

	/* Rule 5: the TLP marking. */
	switch (h->tlp) {
	case BLONET__TLP__TLP_CLEAR:
	case BLONET__TLP__TLP_GREEN:
	case BLONET__TLP__TLP_AMBER:
		return true;
	case BLONET__TLP__TLP_AMBER_STRICT:
		return originator || site_console ||
		       list_has(h->addressed_to, h->n_addressed_to, p->id) ||
		       list_has(h->addressed_to, h->n_addressed_to, p->site);
	case BLONET__TLP__TLP_RED:
		return originator || list_has(h->addressed_to, h->n_addressed_to, p->id);
	default:
		return false;
	}
}

static bool enum_list_has(const int *list, size_t n, int v)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

bool blo_filter_match(const Blonet__Filter *f, const Blonet__Alert *a)
{
	int category = BLONET__CATEGORY__CATEGORY_UNSPECIFIED;
	int severity = BLONET__SEVERITY__SEVERITY_UNKNOWN;
	const char *loc_site = a->location != NULL ? a->location->site : NULL;
	const char *origin_site = a->origin != NULL ? a->origin->site : NULL;
	const char *origin_country = a->origin != NULL ? a->origin->country : NULL;
	const Blonet__Route *route = a->location != NULL ? a->location->route : NULL;

	if (f == NULL)
		return true;
	if (a->assessment != NULL) {
		category = (int)a->assessment->category;
		severity = (int)a->assessment->severity;
	}
	if (f->n_categories > 0 && !enum_list_has((const int *)f->categories, f->n_categories, category))
		return false;
	if (severity < (int)f->min_severity)
		return false;
	if (f->n_types > 0 && !enum_list_has((const int *)f->types, f->n_types, (int)a->type))
		return false;
	if (f->n_sites > 0 && !list_has(f->sites, f->n_sites, loc_site) &&
	    !list_has(f->sites, f->n_sites, origin_site))
		return false;
	if (f->n_countries > 0 && !list_has(f->countries, f->n_countries, origin_country) &&
	    !(route != NULL && (list_has(f->countries, f->n_countries, route->from_country) ||
				list_has(f->countries, f->n_countries, route->to_country))))
		return false;
	return true;
}

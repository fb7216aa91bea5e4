/*
 * Tests of blo_policy: the table of every TLP marking x country gate x
 * operation membership x message type x addressing x referenced originator
 * for a console, then the rules that differ for committees, brokers, agents,
 * revoked principals and site consoles, and the subscriber filter.
 */
#include "blo_test.h"

/* ---------------------------------------------------------------- fixture */

typedef struct {
	const char *id, *role, *country, *agency, *site;
	bool revoked;
} fixture_principal_t;

static const fixture_principal_t principals[] = {
	{"th-customs-maesai", "agent", "TH", "CUSTOMS", "TH-MAESAI", false},
	{"th-console-maesai", "console", "TH", "COORDINATION", "TH-MAESAI", false},
	{"th-console-aranyaprathet", "console", "TH", "COORDINATION", "TH-ARANYAPRATHET", false},
	{"th-committee", "committee", "TH", "COORDINATION", "", false},
	{"th-broker", "broker", "TH", "COORDINATION", "", false},
	{"la-immigration-tonpheung", "agent", "LA", "IMMIGRATION", "LA-TONPHEUNG", false},
	{"la-console-tonpheung", "console", "LA", "COORDINATION", "LA-TONPHEUNG", false},
	{"la-console-houayxai", "console", "LA", "COORDINATION", "LA-HOUAYXAI", false},
	{"la-committee", "committee", "LA", "COORDINATION", "", false},
	{"la-broker", "broker", "LA", "COORDINATION", "", false},
	{"la-admin", "admin", "LA", "COORDINATION", "", false},
	{"la-console-revoked", "console", "LA", "COORDINATION", "LA-TONPHEUNG", true},
	{"mm-console-tachileik", "console", "MM", "COORDINATION", "MM-TACHILEIK", false},
	{"mm-broker", "broker", "MM", "COORDINATION", "", false},
	{"vn-broker", "broker", "VN", "COORDINATION", "", false},
};

static blo_registry_t *registry;

/* The operation's members: the Thai publisher and one Lao console. */
#define OP "OP-MEKONG-26"
/* Its Lao member is revoked. */
#define OP_REVOKED "OP-REVOKED-26"

static int setup_registry(void **state)
{
	blo_identity_t *authority = NULL;
	cJSON *reg = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(reg, "principals");
	cJSON *ops = cJSON_AddArrayToObject(reg, "operations");
	cJSON *op = cJSON_CreateObject();
	cJSON *members = cJSON_AddArrayToObject(op, "members");
	blo_err_t err = {0};
	char *text = NULL;

	(void)state;
	cJSON_AddStringToObject(reg, "name", "policy-test");
	cJSON_AddNumberToObject(reg, "version", 1);
	cJSON_AddNumberToObject(reg, "issued_ms", 1795000000000.0);
	for (size_t i = 0; i < sizeof(principals) / sizeof(principals[0]); i++) {
		const fixture_principal_t *fp = &principals[i];
		blo_identity_t *id = NULL;
		cJSON *p = cJSON_CreateObject();
		char hex[2 * BLO_SIGN_PUBLIC_BYTES + 1], z85[BLO_Z85_KEY_CHARS + 1];

		E(blo_identity_generate(&id, fp->id));
		E(blo_hex_encode(hex, sizeof(hex), blo_identity_public(id)->sign_public,
				 BLO_SIGN_PUBLIC_BYTES));
		E(blo_z85_encode_key(z85, blo_identity_public(id)->curve_public));
		cJSON_AddStringToObject(p, "id", fp->id);
		cJSON_AddStringToObject(p, "role", fp->role);
		cJSON_AddStringToObject(p, "country", fp->country);
		cJSON_AddStringToObject(p, "agency", fp->agency);
		cJSON_AddStringToObject(p, "site", fp->site);
		cJSON_AddStringToObject(p, "sign_public", hex);
		cJSON_AddStringToObject(p, "curve_public", z85);
		if (fp->revoked)
			cJSON_AddTrueToObject(p, "revoked");
		cJSON_AddItemToArray(list, p);
		blo_identity_destroy(&id);
	}
	cJSON_AddStringToObject(op, "code", OP);
	cJSON_AddItemToArray(members, cJSON_CreateString("th-customs-maesai"));
	cJSON_AddItemToArray(members, cJSON_CreateString("la-console-tonpheung"));
	cJSON_AddItemToArray(ops, op);
	op = cJSON_CreateObject();
	members = cJSON_AddArrayToObject(op, "members");
	cJSON_AddStringToObject(op, "code", OP_REVOKED);
	cJSON_AddItemToArray(members, cJSON_CreateString("th-customs-maesai"));
	cJSON_AddItemToArray(members, cJSON_CreateString("la-console-revoked"));
	cJSON_AddItemToArray(ops, op);

	E(blo_identity_generate(&authority, "authority"));
	if (blo_registry_sign(reg, authority, &text, &err) != 0)
		fail_msg("sign: %s", err.msg);
	if (blo_registry_parse(&registry, text, strlen(text), blo_identity_public(authority)->sign_public,
			       &err) != 0)
		fail_msg("parse: %s", err.msg);
	free(text);
	cJSON_Delete(reg);
	blo_identity_destroy(&authority);
	return 0;
}

static int teardown_registry(void **state)
{
	(void)state;
	blo_registry_destroy(&registry);
	return 0;
}

static const blo_principal_t *P(const char *id)
{
	const blo_principal_t *p = blo_registry_find(registry, id);

	if (p == NULL)
		fail_msg("no principal %s in the fixture", id);
	return p;
}

/* An alert built on the stack: set the fields, then take &t->alert. */
typedef struct {
	Blonet__Alert alert;
	Blonet__Origin origin;
	Blonet__Handling handling;
	Blonet__Assessment assessment;
	Blonet__Location location;
	char *releasable[4];
	char *addressed[4];
} test_alert_t;

static void alert_init(test_alert_t *t, Blonet__MessageType type, Blonet__Tlp tlp,
		       const char *origin_principal, const char *origin_country, const char *origin_site)
{
	Blonet__Alert a = BLONET__ALERT__INIT;
	Blonet__Origin o = BLONET__ORIGIN__INIT;
	Blonet__Handling h = BLONET__HANDLING__INIT;
	Blonet__Assessment s = BLONET__ASSESSMENT__INIT;
	Blonet__Location l = BLONET__LOCATION__INIT;

	memset(t, 0, sizeof(*t));
	t->alert = a;
	t->origin = o;
	t->handling = h;
	t->assessment = s;
	t->location = l;
	t->alert.type = type;
	t->alert.status = BLONET__STATUS__ACTUAL;
	t->alert.origin = &t->origin;
	t->alert.handling = &t->handling;
	t->alert.assessment = &t->assessment;
	t->alert.location = &t->location;
	t->origin.principal = (char *)origin_principal;
	t->origin.country = (char *)origin_country;
	t->origin.site = (char *)origin_site;
	t->origin.agency = BLONET__AGENCY_KIND__CUSTOMS;
	t->handling.tlp = tlp;
	t->handling.releasable_to = t->releasable;
	t->handling.addressed_to = t->addressed;
	t->assessment.category = BLONET__CATEGORY__DRUGS;
	t->assessment.severity = BLONET__SEVERITY__SEVERE;
}

static void release_to(test_alert_t *t, const char *country)
{
	t->releasable[t->handling.n_releasable_to++] = (char *)country;
}

static void address_to(test_alert_t *t, const char *who)
{
	t->addressed[t->handling.n_addressed_to++] = (char *)who;
}

/* ---------------------------------------------------------------- the table */

enum gate { GATE_ORIGIN, GATE_RELEASABLE, GATE_NOT_RELEASABLE, GATE_EMPTY_LIST, N_GATE };
enum op { OP_NONE, OP_MEMBER, OP_NOT_MEMBER, N_OP };
enum addr { ADDR_RECIPIENT_ID, ADDR_RECIPIENT_SITE, ADDR_SOMEONE_ELSE, N_ADDR };
enum ref { REF_RECIPIENT_IS_ORIGINATOR, REF_OTHER_ORIGINATOR, REF_UNKNOWN, N_REF };

static const char *const gate_names[] = {"origin", "releasable", "not-releasable", "empty-list"};
static const char *const op_names[] = {"no-op", "member", "not-member"};
static const char *const addr_names[] = {"addr-id", "addr-site", "addr-other"};
static const char *const ref_names[] = {"ref-self", "ref-other", "ref-unknown"};

/*
 * The expected decision for the recipient la-console-tonpheung, from the
 * rules of design section 4 taken one at a time.
 */
static bool expected(Blonet__Tlp tlp, enum gate g, enum op o, Blonet__MessageType type,
		     enum addr ad, enum ref r)
{
	bool reply = type == BLONET__MESSAGE_TYPE__ACK || type == BLONET__MESSAGE_TYPE__RESPONSE;
	bool originator = reply && r == REF_RECIPIENT_IS_ORIGINATOR;
	bool gate_ok = g == GATE_ORIGIN || g == GATE_RELEASABLE || originator;
	bool op_ok = o != OP_NOT_MEMBER;
	bool reply_ok = !reply || originator;
	bool tlp_ok;

	switch (tlp) {
	case BLONET__TLP__TLP_RED:
		tlp_ok = ad == ADDR_RECIPIENT_ID || originator;
		break;
	case BLONET__TLP__TLP_AMBER_STRICT:
		tlp_ok = ad == ADDR_RECIPIENT_ID || ad == ADDR_RECIPIENT_SITE || originator;
		break;
	default:
		tlp_ok = true;
	}
	return gate_ok && op_ok && reply_ok && tlp_ok;
}

static void test_policy_table_for_a_console(void **state)
{
	static const Blonet__Tlp tlps[] = {BLONET__TLP__TLP_CLEAR, BLONET__TLP__TLP_GREEN,
					   BLONET__TLP__TLP_AMBER, BLONET__TLP__TLP_AMBER_STRICT,
					   BLONET__TLP__TLP_RED};
	const blo_principal_t *recipient = P("la-console-tonpheung");
	Blonet__Origin ref_self = BLONET__ORIGIN__INIT, ref_other = BLONET__ORIGIN__INIT;
	size_t rows = 0, allowed = 0;

	(void)state;
	ref_self.principal = "la-console-tonpheung";
	ref_self.country = "LA";
	ref_self.site = "LA-TONPHEUNG";
	ref_other.principal = "mm-console-tachileik";
	ref_other.country = "MM";
	ref_other.site = "MM-TACHILEIK";

	for (size_t ti = 0; ti < sizeof(tlps) / sizeof(tlps[0]); ti++)
	for (int g = 0; g < N_GATE; g++)
	for (int o = 0; o < N_OP; o++)
	for (int type = BLONET__MESSAGE_TYPE__ALERT; type <= BLONET__MESSAGE_TYPE__BULLETIN; type++)
	for (int ad = 0; ad < N_ADDR; ad++)
	for (int r = 0; r < N_REF; r++) {
		test_alert_t t;
		const Blonet__Origin *ref = r == REF_RECIPIENT_IS_ORIGINATOR ? &ref_self
					  : r == REF_OTHER_ORIGINATOR	     ? &ref_other
									     : NULL;
		bool want, got;

		if (g == GATE_ORIGIN)
			alert_init(&t, type, tlps[ti], "la-immigration-tonpheung", "LA", "LA-TONPHEUNG");
		else
			alert_init(&t, type, tlps[ti], "th-customs-maesai", "TH", "TH-MAESAI");
		if (g == GATE_RELEASABLE) {
			release_to(&t, "MM");
			release_to(&t, "LA");
		} else if (g == GATE_NOT_RELEASABLE) {
			release_to(&t, "MM");
			release_to(&t, "VN");
		}
		if (o == OP_MEMBER)
			t.handling.operation = OP;
		else if (o == OP_NOT_MEMBER)
			t.handling.operation = "OP-NOBODY-HERE";
		if (ad == ADDR_RECIPIENT_ID)
			address_to(&t, "la-console-tonpheung");
		else if (ad == ADDR_RECIPIENT_SITE)
			address_to(&t, "LA-TONPHEUNG");
		else
			address_to(&t, "la-console-houayxai");

		want = expected(tlps[ti], g, o, type, ad, r);
		got = blo_policy_may_receive(&t.alert, recipient, registry, ref);
		if (got != want)
			fail_msg("%s %s %s %s %s %s: may_receive is %d, expected %d",
				 blo_enum_name(&blonet__tlp__descriptor, tlps[ti]), gate_names[g],
				 op_names[o], blo_enum_name(&blonet__message_type__descriptor, type),
				 addr_names[ad], ref_names[r], got, want);
		rows++;
		allowed += got;
	}
	/* 5 markings x 4 gates x 3 operations x 7 types x 3 addressings x 3 refs */
	assert_int_equal(rows, 5 * 4 * 3 * 7 * 3 * 3);
	/* The table must exercise both answers, many times each. */
	assert_true(allowed > 100 && allowed < rows - 100);
}

/* ---------------------------------------------------------------- roles */

static void test_agents_and_admins_receive_nothing(void **state)
{
	test_alert_t t;

	(void)state;
	alert_init(&t, BLONET__MESSAGE_TYPE__ALERT, BLONET__TLP__TLP_CLEAR, "th-customs-maesai", "TH",
		   "TH-MAESAI");
	release_to(&t, "LA");
	assert_false(blo_policy_may_receive(&t.alert, P("la-immigration-tonpheung"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("la-admin"), registry, NULL));
	assert_true(blo_policy_may_receive(&t.alert, P("la-console-tonpheung"), registry, NULL));
}

static void test_revoked_principal_receives_nothing(void **state)
{
	test_alert_t t;

	(void)state;
	alert_init(&t, BLONET__MESSAGE_TYPE__ALERT, BLONET__TLP__TLP_CLEAR, "la-immigration-tonpheung",
		   "LA", "LA-TONPHEUNG");
	assert_true(blo_policy_may_receive(&t.alert, P("la-console-tonpheung"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("la-console-revoked"), registry, NULL));
}

static void test_committee_sees_its_country_but_not_red_unless_addressed(void **state)
{
	test_alert_t t;

	(void)state;
	alert_init(&t, BLONET__MESSAGE_TYPE__ALERT, BLONET__TLP__TLP_AMBER, "th-customs-maesai", "TH",
		   "TH-MAESAI");
	release_to(&t, "LA");
	assert_true(blo_policy_may_receive(&t.alert, P("la-committee"), registry, NULL));
	assert_true(blo_policy_may_receive(&t.alert, P("th-committee"), registry, NULL));
	t.handling.tlp = BLONET__TLP__TLP_RED;
	address_to(&t, "la-console-tonpheung");
	assert_false(blo_policy_may_receive(&t.alert, P("la-committee"), registry, NULL));
	address_to(&t, "la-committee");
	assert_true(blo_policy_may_receive(&t.alert, P("la-committee"), registry, NULL));
}

static void test_replies_reach_originator_its_site_console_and_committees(void **state)
{
	Blonet__Origin ref = BLONET__ORIGIN__INIT;
	test_alert_t t;

	(void)state;
	/* th-customs-maesai's alert, acknowledged by a Lao console that did
	 * not mark the ACK releasable to TH: it still goes back. */
	ref.principal = "th-customs-maesai";
	ref.country = "TH";
	ref.site = "TH-MAESAI";
	alert_init(&t, BLONET__MESSAGE_TYPE__ACK, BLONET__TLP__TLP_AMBER, "la-console-tonpheung", "LA",
		   "LA-TONPHEUNG");
	assert_true(blo_policy_may_receive(&t.alert, P("th-console-maesai"), registry, &ref));
	assert_true(blo_policy_may_receive(&t.alert, P("th-committee"), registry, &ref));
	assert_true(blo_policy_may_receive(&t.alert, P("la-committee"), registry, &ref));
	assert_false(blo_policy_may_receive(&t.alert, P("th-console-aranyaprathet"), registry, &ref));
	assert_false(blo_policy_may_receive(&t.alert, P("la-console-houayxai"), registry, &ref));
	assert_false(blo_policy_may_receive(&t.alert, P("mm-console-tachileik"), registry, &ref));
	/* Brokers: the originator's country, the replier's, and a third
	 * country only if the reply was released to it (a path through it),
	 * though no one there may read it (MM has no committee here). */
	assert_true(blo_policy_may_receive(&t.alert, P("th-broker"), registry, &ref));
	assert_true(blo_policy_may_receive(&t.alert, P("la-broker"), registry, &ref));
	assert_false(blo_policy_may_receive(&t.alert, P("mm-broker"), registry, &ref));
	release_to(&t, "MM");
	assert_true(blo_policy_may_receive(&t.alert, P("mm-broker"), registry, &ref));
	/* Not in an operation without a console or committee of MM. */
	t.handling.operation = OP;
	assert_false(blo_policy_may_receive(&t.alert, P("mm-broker"), registry, &ref));
	t.handling.operation = NULL;
	t.handling.n_releasable_to = 0;
	/* A reply whose alert is unknown goes nowhere. */
	assert_false(blo_policy_may_receive(&t.alert, P("th-console-maesai"), registry, NULL));
	/* RED reply: the site console is not the originator. */
	t.handling.tlp = BLONET__TLP__TLP_RED;
	address_to(&t, "th-customs-maesai");
	assert_false(blo_policy_may_receive(&t.alert, P("th-console-maesai"), registry, &ref));
	assert_false(blo_policy_may_receive(&t.alert, P("th-committee"), registry, &ref));
}

/* ---------------------------------------------------------------- brokers */

static void test_broker_country_gate_has_no_transit(void **state)
{
	test_alert_t t;

	(void)state;
	alert_init(&t, BLONET__MESSAGE_TYPE__ALERT, BLONET__TLP__TLP_AMBER, "th-customs-maesai", "TH",
		   "TH-MAESAI");
	release_to(&t, "LA");
	assert_true(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));
	assert_true(blo_policy_may_receive(&t.alert, P("th-broker"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("mm-broker"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("vn-broker"), registry, NULL));
	t.handling.n_releasable_to = 0;
	assert_false(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));
}

static void test_broker_red_and_strict_only_toward_addressee_countries(void **state)
{
	test_alert_t t;

	(void)state;
	alert_init(&t, BLONET__MESSAGE_TYPE__ALERT, BLONET__TLP__TLP_RED, "th-customs-maesai", "TH",
		   "TH-MAESAI");
	release_to(&t, "LA");
	release_to(&t, "MM");
	address_to(&t, "la-console-tonpheung");
	assert_true(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("mm-broker"), registry, NULL));
	/* The origin country's brokers hold it, to relay it to the addressee. */
	assert_true(blo_policy_may_receive(&t.alert, P("th-broker"), registry, NULL));
	/* RED names principals: a site does not open it to a country. */
	t.handling.n_addressed_to = 0;
	address_to(&t, "MM-TACHILEIK");
	assert_false(blo_policy_may_receive(&t.alert, P("mm-broker"), registry, NULL));
	t.handling.tlp = BLONET__TLP__TLP_AMBER_STRICT;
	assert_true(blo_policy_may_receive(&t.alert, P("mm-broker"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));
}

static void test_broker_operation_only_toward_member_countries(void **state)
{
	test_alert_t t;

	(void)state;
	alert_init(&t, BLONET__MESSAGE_TYPE__ALERT, BLONET__TLP__TLP_AMBER, "th-customs-maesai", "TH",
		   "TH-MAESAI");
	release_to(&t, "LA");
	release_to(&t, "MM");
	t.handling.operation = OP;
	assert_true(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("mm-broker"), registry, NULL));
	t.handling.operation = "OP-NOBODY-HERE";
	assert_true(blo_policy_may_receive(&t.alert, P("th-broker"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));
	t.handling.operation = OP;
	assert_true(blo_policy_may_receive(&t.alert, P("la-console-tonpheung"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("la-console-houayxai"), registry, NULL));
}

/* A broker holds an alert only for someone of its country who may read it:
 * each console or committee is asked the whole policy. An addressee outside
 * the alert's operation, a revoked member, and principals who receive
 * nothing (an administrator, an agent, the broker itself) open no country. */
static void test_broker_holds_only_what_someone_of_its_country_may_read(void **state)
{
	static const char *const no_readers[] = {"la-admin", "la-immigration-tonpheung", "la-broker",
						 "la-console-revoked"};
	test_alert_t t;

	(void)state;
	alert_init(&t, BLONET__MESSAGE_TYPE__ALERT, BLONET__TLP__TLP_RED, "th-customs-maesai", "TH",
		   "TH-MAESAI");
	release_to(&t, "LA");
	t.handling.operation = OP;
	address_to(&t, "la-console-houayxai"); /* addressed, not a member */
	assert_false(blo_policy_may_receive(&t.alert, P("la-console-houayxai"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("la-console-tonpheung"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));
	address_to(&t, "la-console-tonpheung"); /* and a member */
	assert_true(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));

	t.handling.n_addressed_to = 0;
	t.handling.tlp = BLONET__TLP__TLP_AMBER;
	t.handling.operation = OP_REVOKED;
	assert_false(blo_policy_may_receive(&t.alert, P("la-console-revoked"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));
	assert_true(blo_policy_may_receive(&t.alert, P("th-broker"), registry, NULL));

	t.handling.operation = "";
	t.handling.tlp = BLONET__TLP__TLP_RED;
	for (size_t i = 0; i < sizeof(no_readers) / sizeof(no_readers[0]); i++) {
		t.handling.n_addressed_to = 0;
		address_to(&t, no_readers[i]);
		if (blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL))
			fail_msg("RED addressed to %s opened LA's broker", no_readers[i]);
	}
	t.handling.n_addressed_to = 0;
	address_to(&t, "la-committee");
	assert_true(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));
}

static void test_unset_or_unknown_tlp_is_refused(void **state)
{
	test_alert_t t;

	(void)state;
	alert_init(&t, BLONET__MESSAGE_TYPE__ALERT, BLONET__TLP__TLP_UNSPECIFIED,
		   "la-immigration-tonpheung", "LA", "LA-TONPHEUNG");
	assert_false(blo_policy_may_receive(&t.alert, P("la-console-tonpheung"), registry, NULL));
	assert_false(blo_policy_may_receive(&t.alert, P("la-broker"), registry, NULL));
	t.handling.tlp = (Blonet__Tlp)77;
	assert_false(blo_policy_may_receive(&t.alert, P("la-console-tonpheung"), registry, NULL));
	t.alert.handling = NULL;
	assert_false(blo_policy_may_receive(&t.alert, P("la-console-tonpheung"), registry, NULL));
}

/* ---------------------------------------------------------------- filter */

static void test_filter_narrows_by_category_severity_type_site_country(void **state)
{
	Blonet__Filter f = BLONET__FILTER__INIT;
	Blonet__Category cats[] = {BLONET__CATEGORY__WILDLIFE, BLONET__CATEGORY__DRUGS};
	Blonet__MessageType types[] = {BLONET__MESSAGE_TYPE__BULLETIN};
	char *sites[] = {"TH-MAESAI"};
	char *countries[] = {"MM"};
	Blonet__Route route = BLONET__ROUTE__INIT;
	test_alert_t t;

	(void)state;
	alert_init(&t, BLONET__MESSAGE_TYPE__ALERT, BLONET__TLP__TLP_AMBER, "th-customs-maesai", "TH",
		   "TH-MAESAI");
	assert_true(blo_filter_match(NULL, &t.alert));
	assert_true(blo_filter_match(&f, &t.alert));
	f.n_categories = 1;
	f.categories = cats;
	assert_false(blo_filter_match(&f, &t.alert));
	f.n_categories = 2;
	assert_true(blo_filter_match(&f, &t.alert));
	f.min_severity = BLONET__SEVERITY__EXTREME;
	assert_false(blo_filter_match(&f, &t.alert));
	f.min_severity = BLONET__SEVERITY__SEVERE;
	assert_true(blo_filter_match(&f, &t.alert));
	f.n_sites = 1;
	f.sites = sites;
	assert_true(blo_filter_match(&f, &t.alert));
	t.origin.site = "TH-CHIANGSAEN";
	assert_false(blo_filter_match(&f, &t.alert));
	t.location.site = "TH-MAESAI";
	assert_true(blo_filter_match(&f, &t.alert));
	f.n_countries = 1;
	f.countries = countries;
	assert_false(blo_filter_match(&f, &t.alert));
	route.from_country = "MM";
	route.to_country = "TH";
	t.location.route = &route;
	assert_true(blo_filter_match(&f, &t.alert));
	f.n_types = 1;
	f.types = types;
	assert_false(blo_filter_match(&f, &t.alert));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_table_for_a_console),
		cmocka_unit_test(test_agents_and_admins_receive_nothing),
		cmocka_unit_test(test_revoked_principal_receives_nothing),
		cmocka_unit_test(test_committee_sees_its_country_but_not_red_unless_addressed),
		cmocka_unit_test(test_replies_reach_originator_its_site_console_and_committees),
		cmocka_unit_test(test_broker_country_gate_has_no_transit),
		cmocka_unit_test(test_broker_red_and_strict_only_toward_addressee_countries),
		cmocka_unit_test(test_broker_operation_only_toward_member_countries),
		cmocka_unit_test(test_broker_holds_only_what_someone_of_its_country_may_read),
		cmocka_unit_test(test_unset_or_unknown_tlp_is_refused),
		cmocka_unit_test(test_filter_narrows_by_category_severity_type_site_country),
	};

	return cmocka_run_group_tests_name("policy", tests, setup_registry, teardown_registry);
}

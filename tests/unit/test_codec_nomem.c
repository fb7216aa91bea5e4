/*
 * Unit tests of the decoders when an allocation fails: blo_alert_parse,
 * blo_message_parse and blo_envelope_parse say BLO_ENOMEM, never
 * BLO_EPARSE, whichever of their allocations fails. The broker relies on
 * it: good bytes short of memory are refused INTERNAL (sent again), and a
 * stored record is read again later instead of being passed by as one that
 * does not decode.
 *
 * malloc is interposed for this program (glibc's __libc_malloc does the
 * work); armed, it fails one chosen call. AddressSanitizer brings its own
 * malloc, which this would bypass: under it the tests are skipped.
 */
#include "blo_test.h"

#include "blo_wire.h"

#if defined(__SANITIZE_ADDRESS__)
#define NOMEM_TESTABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NOMEM_TESTABLE 0
#endif
#endif
#ifndef NOMEM_TESTABLE
#define NOMEM_TESTABLE 1
#endif

#define MAX_TRIES 10000

static volatile int fail_in = -1; /* the call that fails: 0 the next; -1 none */
static volatile int failed;       /* calls failed since armed */

#if NOMEM_TESTABLE
extern void *__libc_malloc(size_t size);

void *malloc(size_t size)
{
	if (fail_in >= 0 && fail_in-- == 0) {
		failed++;
		return NULL;
	}
	return __libc_malloc(size);
}
#endif

static void arm(int n)
{
	failed = 0;
	fail_in = n;
}

static void disarm(void)
{
	fail_in = -1;
}

/* The golden alert that sets every field, serialized: the most
 * allocations a decode makes. */
static void make_alert(uint8_t **bytes, size_t *len)
{
	char *path = blo_test_golden_path("alert_full", "pb");

	*bytes = (uint8_t *)blo_test_read_text(path, len);
	free(path);
}

typedef int (*decode_fn)(const uint8_t *bytes, size_t len, blo_err_t *err);

static int decode_alert(const uint8_t *bytes, size_t len, blo_err_t *err)
{
	Blonet__Alert *alert = NULL;
	int rc = blo_alert_parse(&alert, bytes, len, err);

	if (rc == 0)
		assert_non_null(alert);
	else
		assert_null(alert);
	blo_alert_free(&alert);
	return rc;
}

static int decode_envelope(const uint8_t *bytes, size_t len, blo_err_t *err)
{
	Blonet__Envelope *env = NULL;
	int rc = blo_envelope_parse(&env, bytes, len, err);

	if (rc == 0)
		assert_non_null(env);
	else
		assert_null(env);
	blo_envelope_free(&env);
	return rc;
}

static int decode_frame(const uint8_t *bytes, size_t len, blo_err_t *err)
{
	ProtobufCMessage *msg = NULL;
	int rc = blo_message_parse(&blonet__frame__descriptor, bytes, len, BLO_FRAME_MAX_BYTES, &msg,
				   err);

	blo_message_free(&msg);
	return rc;
}

/* Fails the first, then the second, ... allocation of one decode of bytes
 * until a decode needs no more: each failed one says BLO_ENOMEM; returns
 * how many allocations the decode makes. */
static int each_allocation_fails(decode_fn decode, const uint8_t *bytes, size_t len)
{
	for (int n = 0; n < MAX_TRIES; n++) {
		blo_err_t err = {0};
		int rc;

		arm(n);
		rc = decode(bytes, len, &err);
		disarm();
		if (failed == 0) {
			/* Fewer than n + 1 allocations: it went through. */
			assert_int_equal(rc, 0);
			return n;
		}
		if (rc != BLO_ENOMEM)
			fail_msg("allocation %d failed: got %s (%d: %s), want BLO_ENOMEM", n,
				 blo_strerror(rc), rc, err.msg);
		assert_non_null(strstr(err.msg, "out of memory"));
	}
	fail_msg("a decode made more than %d allocations", MAX_TRIES);
	return 0;
}

static void test_alert_short_of_memory_is_enomem(void **state)
{
	uint8_t *bytes = NULL;
	size_t len = 0;

	(void)state;
	if (!NOMEM_TESTABLE)
		skip();
	make_alert(&bytes, &len);
	/* Every field set: dozens of allocations, each failed in turn. */
	assert_true(each_allocation_fails(decode_alert, bytes, len) >= 20);
	free(bytes);
}

static void test_envelope_short_of_memory_is_enomem(void **state)
{
	blo_identity_t *agent = NULL, *broker = NULL;
	Blonet__Envelope *env = NULL;
	uint8_t *alert = NULL, *bytes = NULL, *hopped = NULL;
	size_t alert_len = 0, len = 0, hopped_len = 0;
	blo_err_t err = {0};
	int plain;

	(void)state;
	if (!NOMEM_TESTABLE)
		skip();
	E(blo_identity_generate(&agent, "th-customs-maesai"));
	E(blo_identity_generate(&broker, "th-broker-1"));
	make_alert(&alert, &alert_len);
	E(blo_envelope_seal(agent, alert, alert_len, &bytes, &len, NULL));
	plain = each_allocation_fails(decode_envelope, bytes, len);
	assert_true(plain >= 1);
	/* With a hop trace: its hops' allocations fail too. */
	E(blo_envelope_parse(&env, bytes, len, &err));
	E(blo_envelope_add_hop(env, broker, 1732780800000, &err));
	E(blo_message_serialize(&env->base, BLO_ENVELOPE_MAX_BYTES, &hopped, &hopped_len, &err));
	assert_true(each_allocation_fails(decode_envelope, hopped, hopped_len) > plain);
	blo_envelope_free(&env);
	free(hopped);
	free(bytes);
	free(alert);
	blo_identity_destroy(&agent);
	blo_identity_destroy(&broker);
}

static void test_frame_short_of_memory_is_enomem(void **state)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Publish p = BLONET__PUBLISH__INIT;
	uint8_t *alert = NULL, *bytes = NULL;
	size_t alert_len = 0, len = 0;
	blo_err_t err = {0};

	(void)state;
	if (!NOMEM_TESTABLE)
		skip();
	make_alert(&alert, &alert_len);
	p.envelope.data = alert;
	p.envelope.len = alert_len;
	f.correlation = 7;
	f.body_case = BLONET__FRAME__BODY_PUBLISH;
	f.publish = &p;
	E(blo_message_serialize(&f.base, BLO_FRAME_MAX_BYTES, &bytes, &len, &err));
	assert_true(each_allocation_fails(decode_frame, bytes, len) >= 2);
	free(bytes);
	free(alert);
}

/* Bytes that do not decode stay BLO_EPARSE: the distinction is real. */
static void test_bytes_that_do_not_decode_stay_eparse(void **state)
{
	static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
	uint8_t *bytes = NULL;
	size_t len = 0;
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(decode_alert(junk, sizeof(junk), &err), BLO_EPARSE);
	assert_int_equal(decode_envelope(junk, sizeof(junk), &err), BLO_EPARSE);
	assert_int_equal(decode_frame(junk, sizeof(junk), &err), BLO_EPARSE);
	/* And a truncated alert. */
	make_alert(&bytes, &len);
	assert_int_equal(decode_alert(bytes, len - 1, &err), BLO_EPARSE);
	free(bytes);
}

/* A test that failed while armed leaves malloc armed: never the next. */
static int disarmed(void **state)
{
	(void)state;
	disarm();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alert_short_of_memory_is_enomem, disarmed,
						disarmed),
		cmocka_unit_test_setup_teardown(test_envelope_short_of_memory_is_enomem, disarmed,
						disarmed),
		cmocka_unit_test_setup_teardown(test_frame_short_of_memory_is_enomem, disarmed,
						disarmed),
		cmocka_unit_test_setup_teardown(test_bytes_that_do_not_decode_stay_eparse, disarmed,
						disarmed),
	};

	return cmocka_run_group_tests_name("codec_nomem", tests, NULL, NULL);
}

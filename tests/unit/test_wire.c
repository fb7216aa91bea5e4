/*
 * blo_wire: a Batch built item by item is, byte for byte, the Frame that
 * protobuf-c packs from the same items; its size is known before an item is
 * added; it survives the items it was built from; an empty one sends
 * nothing, and one over the frame bound is refused and emptied. An item
 * received becomes a Frame of its own.
 */
#include "blo_test.h"

#include "blo_codec.h"
#include "blo_wire.h"

#include <zmq.h>

/* A PAIR of inproc sockets: what one sends, the other receives. */
typedef struct {
	void *ctx, *tx, *rx;
} pair_t;

static void pair_open(pair_t *p)
{
	p->ctx = zmq_ctx_new();
	p->rx = zmq_socket(p->ctx, ZMQ_PAIR);
	p->tx = zmq_socket(p->ctx, ZMQ_PAIR);
	assert_int_equal(zmq_bind(p->rx, "inproc://test-wire"), 0);
	assert_int_equal(zmq_connect(p->tx, "inproc://test-wire"), 0);
}

static void pair_close(pair_t *p)
{
	zmq_close(p->tx);
	zmq_close(p->rx);
	zmq_ctx_term(p->ctx);
}

/* The next message on rx as bytes (*len), or NULL when none is waiting. */
static uint8_t *recv_bytes(void *rx, size_t *len)
{
	zmq_msg_t msg;
	uint8_t *out = NULL;

	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, rx, ZMQ_DONTWAIT) >= 0) {
		*len = zmq_msg_size(&msg);
		out = malloc(*len > 0 ? *len : 1);
		assert_non_null(out);
		memcpy(out, zmq_msg_data(&msg), *len);
	}
	zmq_msg_close(&msg);
	return out;
}

/* n publishes of size bytes each (item i's bytes are all i), with
 * correlations 1..n, as protobuf-c would pack the Frame holding them. */
static void expected_frame(size_t n, size_t size, uint8_t **out, size_t *len)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Batch b = BLONET__BATCH__INIT;
	Blonet__BatchItem *items = calloc(n, sizeof(*items)), **ptrs = calloc(n, sizeof(*ptrs));
	Blonet__Publish *pubs = calloc(n, sizeof(*pubs));
	uint8_t *data = malloc(n * size + 1);

	assert_true(items != NULL && ptrs != NULL && pubs != NULL && data != NULL);
	for (size_t i = 0; i < n; i++) {
		memset(data + i * size, (int)i, size);
		blonet__publish__init(&pubs[i]);
		pubs[i].envelope.data = data + i * size;
		pubs[i].envelope.len = size;
		blonet__batch_item__init(&items[i]);
		items[i].correlation = 1 + i;
		items[i].body_case = BLONET__BATCH_ITEM__BODY_PUBLISH;
		items[i].publish = &pubs[i];
		ptrs[i] = &items[i];
	}
	b.items = ptrs;
	b.n_items = n;
	f.body_case = BLONET__FRAME__BODY_BATCH;
	f.batch = &b;
	E(blo_message_serialize(&f.base, SIZE_MAX, out, len, NULL));
	free(items);
	free(ptrs);
	free(pubs);
	free(data);
}

/* The same publishes added to a blo_wire batch one by one, each from a
 * buffer that is wiped once added; checks the size foretold for each. */
static void build(blo_wire_batch_t *b, size_t n, size_t size)
{
	uint8_t *data = malloc(size + 1);

	assert_non_null(data);
	for (size_t i = 0; i < n; i++) {
		Blonet__BatchItem item = BLONET__BATCH_ITEM__INIT;
		Blonet__Publish pub = BLONET__PUBLISH__INIT;
		size_t before;

		memset(data, (int)i, size);
		pub.envelope.data = data;
		pub.envelope.len = size;
		item.correlation = 1 + i;
		item.body_case = BLONET__BATCH_ITEM__BODY_PUBLISH;
		item.publish = &pub;
		before = blo_wire_batch_size_with(b, blonet__batch_item__get_packed_size(&item));
		E(blo_wire_batch_add(b, &item));
		assert_int_equal(blo_wire_batch_size(b), before);
		memset(data, 0xee, size);
	}
	assert_int_equal(b->n, n);
	free(data);
}

/* Batches of 1, 2, 3 and 200 items, small and 600-byte items: item lengths
 * of one and two varint bytes, a batch length of one, two and three. */
static void test_a_batch_is_the_frame_protobuf_c_packs(void **state)
{
	static const size_t counts[] = {1, 2, 3, 200};
	static const size_t sizes[] = {10, 600};
	pair_t p;

	(void)state;
	pair_open(&p);
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			blo_wire_batch_t b = {0};
			uint8_t *want, *got;
			size_t want_len, got_len = 0, foretold;

			expected_frame(counts[c], sizes[s], &want, &want_len);
			build(&b, counts[c], sizes[s]);
			foretold = blo_wire_batch_size(&b);
			E(blo_wire_batch_send(&b, p.tx, 0));
			assert_int_equal(b.n, 0);
			got = recv_bytes(p.rx, &got_len);
			assert_non_null(got);
			assert_int_equal(got_len, want_len);
			assert_int_equal(foretold, want_len);
			assert_memory_equal(got, want, want_len);
			free(want);
			free(got);
			blo_wire_batch_free(&b);
		}
	pair_close(&p);
}

/* What blo_wire_decode makes of it: the items, in order, with their bytes. */
static void test_a_batch_decodes_to_its_items(void **state)
{
	blo_wire_batch_t b = {0};
	Blonet__Frame *f = NULL;
	zmq_msg_t msg;
	pair_t p;

	(void)state;
	pair_open(&p);
	build(&b, 40, 512);
	E(blo_wire_batch_send(&b, p.tx, 0));
	zmq_msg_init(&msg);
	assert_true(zmq_msg_recv(&msg, p.rx, 0) >= 0);
	E(blo_wire_decode(&msg, &f, NULL));
	assert_int_equal(f->body_case, BLONET__FRAME__BODY_BATCH);
	assert_int_equal(f->batch->n_items, 40);
	for (size_t i = 0; i < 40; i++) {
		const Blonet__BatchItem *it = f->batch->items[i];
		uint8_t want[512];

		memset(want, (int)i, sizeof(want));
		assert_int_equal(it->correlation, 1 + i);
		assert_int_equal(it->body_case, BLONET__BATCH_ITEM__BODY_PUBLISH);
		assert_int_equal(it->publish->envelope.len, 512);
		assert_memory_equal(it->publish->envelope.data, want, 512);
	}
	/* Used again after a send, it starts empty. */
	build(&b, 2, 8);
	E(blo_wire_batch_send(&b, p.tx, 0));
	blo_message_free((ProtobufCMessage **)&f);
	zmq_msg_close(&msg);
	zmq_msg_init(&msg);
	assert_true(zmq_msg_recv(&msg, p.rx, 0) >= 0);
	E(blo_wire_decode(&msg, &f, NULL));
	assert_int_equal(f->batch->n_items, 2);
	blo_message_free((ProtobufCMessage **)&f);
	zmq_msg_close(&msg);
	blo_wire_batch_free(&b);
	pair_close(&p);
}

static void test_empty_sends_nothing_and_too_big_is_refused(void **state)
{
	blo_wire_batch_t b = {0};
	size_t len = 0;
	pair_t p;

	(void)state;
	pair_open(&p);
	E(blo_wire_batch_send(&b, p.tx, 0));
	assert_null(recv_bytes(p.rx, &len));
	/* 300 items of 512 bytes: more than a frame may hold. */
	build(&b, 300, 512);
	assert_true(blo_wire_batch_size(&b) > BLO_FRAME_MAX_BYTES);
	assert_int_equal(blo_wire_batch_send(&b, p.tx, 0), BLO_ETOOBIG);
	assert_int_equal(b.n, 0);
	assert_int_equal(blo_wire_batch_size(&b), 2 + 1);
	assert_null(recv_bytes(p.rx, &len));
	blo_wire_batch_free(&b);
	pair_close(&p);
}

/* item's body, with correlation corr, moved into a Frame of its own: it
 * has the correlation and frame_case, and the item keeps no body. */
static Blonet__Frame *moved(Blonet__BatchItem *item, uint64_t corr, int frame_case)
{
	Blonet__Frame *f;

	item->correlation = corr;
	f = blo_wire_item_frame(item);
	assert_non_null(f);
	assert_int_equal(f->correlation, corr);
	assert_int_equal(f->body_case, frame_case);
	assert_int_equal(item->body_case, BLONET__BATCH_ITEM__BODY__NOT_SET);
	return f;
}

/* An item's body moves into a Frame of its own; the item keeps none. */
static void test_an_item_becomes_a_frame_of_its_own(void **state)
{
	Blonet__BatchItem *item = calloc(1, sizeof(*item));
	Blonet__Publish *pub = calloc(1, sizeof(*pub));
	Blonet__PublishAck *ack = calloc(1, sizeof(*ack));
	Blonet__Frame *f;

	(void)state;
	assert_true(item != NULL && pub != NULL && ack != NULL);
	blonet__batch_item__init(item);
	blonet__publish__init(pub);
	blonet__publish_ack__init(ack);
	/* No body: nothing to move. */
	assert_null(blo_wire_item_frame(item));
	item->body_case = BLONET__BATCH_ITEM__BODY_PUBLISH;
	item->publish = pub;
	f = moved(item, 7, BLONET__FRAME__BODY_PUBLISH);
	assert_ptr_equal(f->publish, pub);
	assert_null(item->publish);
	blo_message_free((ProtobufCMessage **)&f); /* frees pub with it */
	item->body_case = BLONET__BATCH_ITEM__BODY_PUBLISH_ACK;
	item->publish_ack = ack;
	f = moved(item, 8, BLONET__FRAME__BODY_PUBLISH_ACK);
	assert_ptr_equal(f->publish_ack, ack);
	assert_null(item->publish_ack);
	blo_message_free((ProtobufCMessage **)&f);
	blo_message_free((ProtobufCMessage **)&item);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_batch_is_the_frame_protobuf_c_packs),
		cmocka_unit_test(test_a_batch_decodes_to_its_items),
		cmocka_unit_test(test_empty_sends_nothing_and_too_big_is_refused),
		cmocka_unit_test(test_an_item_becomes_a_frame_of_its_own),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

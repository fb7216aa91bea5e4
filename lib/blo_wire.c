/*
 * blo_wire: protocol frames in and out of ZeroMQ messages.
 */
#include "blo_wire.h"

#include "blo_codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Frame.batch and Batch.items as protobuf keys: field number << 3 | 2 (a
 * length-delimited field); the first takes two varint bytes. */
#define KEY_FRAME_BATCH ((BLONET__FRAME__BODY_BATCH << 3) | 2)
#define KEY_BATCH_ITEMS ((1 << 3) | 2)

static void free_buffer(void *data, void *hint)
{
	(void)hint;
	free(data);
}

int blo_wire_send(void *socket, const Blonet__Frame *f, int flags)
{
	size_t size = protobuf_c_message_get_packed_size(&f->base);
	zmq_msg_t msg;
	uint8_t *buf;

	if (size > BLO_FRAME_MAX_BYTES)
		return BLO_ETOOBIG;
	buf = malloc(size > 0 ? size : 1);
	if (buf == NULL)
		return BLO_ENOMEM;
	protobuf_c_message_pack(&f->base, buf);
	/* zmq takes the buffer and frees it when sent. */
	if (zmq_msg_init_data(&msg, buf, size, free_buffer, NULL) != 0) {
		free(buf);
		return -errno;
	}
	if (zmq_msg_send(&msg, socket, flags) < 0) {
		int rc = -errno;

		zmq_msg_close(&msg);
		return rc;
	}
	return 0;
}

int blo_wire_decode(zmq_msg_t *msg, Blonet__Frame **out, blo_err_t *err)
{
	int rc;

	rc = blo_message_parse(&blonet__frame__descriptor, zmq_msg_data(msg), zmq_msg_size(msg),
			       BLO_FRAME_MAX_BYTES, (ProtobufCMessage **)out, err);
	if (rc != 0)
		return rc;
	if ((*out)->body_case == BLONET__FRAME__BODY__NOT_SET) {
		blo_message_free((ProtobufCMessage **)out);
		return blo_err_set(err, BLO_EPARSE, "frame has no body");
	}
	return 0;
}

static size_t varint_size(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t varint_put(uint8_t *out, size_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static size_t frame_size(size_t items)
{
	return varint_size(KEY_FRAME_BATCH) + varint_size(items) + items;
}

size_t blo_wire_batch_size(const blo_wire_batch_t *b)
{
	return frame_size(b->len);
}

size_t blo_wire_batch_size_with(const blo_wire_batch_t *b, size_t item_bytes)
{
	return frame_size(b->len + 1 + varint_size(item_bytes) + item_bytes);
}

int blo_wire_batch_add(blo_wire_batch_t *b, const Blonet__BatchItem *item)
{
	size_t size = blonet__batch_item__get_packed_size(item);
	size_t need = b->len + 1 + varint_size(size) + size;
	uint8_t *at;

	if (need > b->cap) {
		size_t cap = b->cap > 0 ? b->cap : 4096;
		uint8_t *grown;

		while (cap < need)
			cap *= 2;
		grown = realloc(b->buf, BLO_WIRE_BATCH_HEAD + cap);
		if (grown == NULL)
			return BLO_ENOMEM;
		b->buf = grown;
		b->cap = cap;
	}
	at = b->buf + BLO_WIRE_BATCH_HEAD + b->len;
	*at++ = KEY_BATCH_ITEMS;
	at += varint_put(at, size);
	blonet__batch_item__pack(item, at);
	b->len = need;
	b->n++;
	return 0;
}

int blo_wire_batch_send(blo_wire_batch_t *b, void *socket, int flags)
{
	uint8_t head[BLO_WIRE_BATCH_HEAD];
	size_t n_head = 0, size;
	uint8_t *start;
	int rc = 0;

	if (b->n == 0)
		return 0;
	if (blo_wire_batch_size(b) > BLO_FRAME_MAX_BYTES) {
		blo_wire_batch_clear(b);
		return BLO_ETOOBIG;
	}
	/* The frame: its batch field's key and length, right before the items. */
	n_head += varint_put(head, KEY_FRAME_BATCH);
	n_head += varint_put(head + n_head, b->len);
	start = b->buf + BLO_WIRE_BATCH_HEAD - n_head;
	memcpy(start, head, n_head);
	size = n_head + b->len;
	if (zmq_send(socket, start, size, flags) < 0)
		rc = -errno;
	blo_wire_batch_clear(b);
	return rc;
}

void blo_wire_batch_clear(blo_wire_batch_t *b)
{
	b->len = 0;
	b->n = 0;
}

void blo_wire_batch_free(blo_wire_batch_t *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

Blonet__Frame *blo_wire_item_frame(Blonet__BatchItem *item)
{
	Blonet__Frame *f;

	if (item->body_case != BLONET__BATCH_ITEM__BODY_PUBLISH &&
	    item->body_case != BLONET__BATCH_ITEM__BODY_PUBLISH_ACK)
		return NULL;
	/* protobuf-c frees what it unpacked with free(): so is this. */
	if ((f = malloc(sizeof(*f))) == NULL)
		return NULL;
	blonet__frame__init(f);
	f->correlation = item->correlation;
	if (item->body_case == BLONET__BATCH_ITEM__BODY_PUBLISH) {
		f->body_case = BLONET__FRAME__BODY_PUBLISH;
		f->publish = item->publish;
		item->publish = NULL;
	} else {
		f->body_case = BLONET__FRAME__BODY_PUBLISH_ACK;
		f->publish_ack = item->publish_ack;
		item->publish_ack = NULL;
	}
	item->body_case = BLONET__BATCH_ITEM__BODY__NOT_SET;
	return f;
}

const char *blo_wire_body_name(const Blonet__Frame *f)
{
	const ProtobufCFieldDescriptor *fd;

	if (f == NULL || f->body_case == BLONET__FRAME__BODY__NOT_SET)
		return "none";
	fd = protobuf_c_message_descriptor_get_field(&blonet__frame__descriptor, (unsigned)f->body_case);
	return fd != NULL ? fd->name : "unknown";
}

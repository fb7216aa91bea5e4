/*
 * blo_wire: one protocol Frame per ZeroMQ message. Encoding to and decoding
 * from zmq messages, with the size bound and the unknown-field refusal of the
 * codec, shared by the broker and the client library.
 */
#ifndef BLO_WIRE_H
#define BLO_WIRE_H

#include "blo_err.h"
#include "blonet.pb-c.h"

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

/* The largest frame: an envelope and a little protocol around it. */
#define BLO_FRAME_MAX_BYTES (128u * 1024u)

/* Sends f on socket as one message (flags as zmq_msg_send: ZMQ_DONTWAIT,
 * ZMQ_SNDMORE). Returns 0, -errno from libzmq (-EAGAIN when it would block,
 * -EHOSTUNREACH for a gone ROUTER peer), or BLO_ETOOBIG. */
int blo_wire_send(void *socket, const Blonet__Frame *f, int flags);

/* Decodes the message msg as a Frame: refuses more than BLO_FRAME_MAX_BYTES,
 * undecodable bytes and unknown fields, and a frame with no body. *out is the
 * caller's: free with blo_message_free((ProtobufCMessage **)out). */
int blo_wire_decode(zmq_msg_t *msg, Blonet__Frame **out, blo_err_t *err);

/* A Batch frame built item by item. Each item is packed as it is added, so
 * what it points to may go before the batch is sent. */
typedef struct {
	uint8_t *buf;    /* BLO_WIRE_BATCH_HEAD bytes for the frame's head, then items */
	size_t len, cap; /* bytes of packed items; room for them */
	size_t n;        /* items */
} blo_wire_batch_t;

#define BLO_WIRE_BATCH_HEAD 8

/* The size of the batch's frame now, and once one more item of item_bytes
 * (its packed size) is added. */
size_t blo_wire_batch_size(const blo_wire_batch_t *b);
size_t blo_wire_batch_size_with(const blo_wire_batch_t *b, size_t item_bytes);

/* Adds item. BLO_ENOMEM, or 0. */
int blo_wire_batch_add(blo_wire_batch_t *b, const Blonet__BatchItem *item);

/* Sends the batch as one Frame message (flags as blo_wire_send) and empties
 * it, sent or not. Returns as blo_wire_send; 0 for an empty batch. */
int blo_wire_batch_send(blo_wire_batch_t *b, void *socket, int flags);

/* Empties the batch without sending it. */
void blo_wire_batch_clear(blo_wire_batch_t *b);

void blo_wire_batch_free(blo_wire_batch_t *b);

/* The body of a Batch item (a Publish or a PublishAck), moved into a Frame
 * of its own with the item's correlation: the caller frees it with
 * blo_message_free, the item is left without a body. NULL when out of
 * memory or for an item with another body (the item is left as it was). */
Blonet__Frame *blo_wire_item_frame(Blonet__BatchItem *item);

/* Name of the frame's body ("publish", "deliver", ...) for logs, or "none". */
const char *blo_wire_body_name(const Blonet__Frame *f);

#endif

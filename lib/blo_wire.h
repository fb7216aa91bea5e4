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

/* Name of the frame's body ("publish", "deliver", ...) for logs, or "none". */
const char *blo_wire_body_name(const Blonet__Frame *f);

#endif

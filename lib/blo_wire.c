/*
 * blo_wire: protocol frames in and out of ZeroMQ messages.
 */
#include "blo_wire.h"

#include "blo_codec.h"

#include <errno.h>
#include <stdlib.h>

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

const char *blo_wire_body_name(const Blonet__Frame *f)
{
	const ProtobufCFieldDescriptor *fd;

	if (f == NULL || f->body_case == BLONET__FRAME__BODY__NOT_SET)
		return "none";
	fd = protobuf_c_message_descriptor_get_field(&blonet__frame__descriptor, (unsigned)f->body_case);
	return fd != NULL ? fd->name : "unknown";
}

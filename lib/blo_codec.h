/*
 * blo_codec: the alert on the wire and in JSON. Bounded protobuf parse and
 * serialize, a JSON <-> protobuf codec written once from protobuf-c's
 * descriptors (so it serves every message of proto/blonet.proto), schema
 * validation that names the field and the problem, and deterministic ids.
 */
#ifndef BLO_CODEC_H
#define BLO_CODEC_H

#include "blo_err.h"
#include "blonet.pb-c.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLO_ID_BYTES 16
/* Size bounds: an alert is at most 64 KiB serialized; an envelope adds the
 * signature and a hop trace. Everything larger is refused unparsed. */
#define BLO_ALERT_MAX_BYTES (64u * 1024u)
#define BLO_ENVELOPE_MAX_BYTES (BLO_ALERT_MAX_BYTES + 16u * 1024u)
/* JSON text of one alert may be larger than its bytes: hex doubles bytes,
 * a control character escapes to six. */
#define BLO_JSON_MAX_BYTES (8u * BLO_ALERT_MAX_BYTES)

/* ---- protobuf bytes ---- */

/* Decodes an Alert from buf[0..len). Refuses len > BLO_ALERT_MAX_BYTES
 * (BLO_ETOOBIG), undecodable bytes and unknown fields (BLO_EPARSE); a
 * failed allocation is BLO_ENOMEM, never BLO_EPARSE: the same bytes may
 * decode later. Does not validate: call blo_alert_validate. On success *out
 * is the caller's: free with blo_alert_free. */
int blo_alert_parse(Blonet__Alert **out, const uint8_t *buf, size_t len, blo_err_t *err);

/* Decodes a message of type desc from buf[0..len), refusing more than max
 * bytes (BLO_ETOOBIG), undecodable bytes and unknown fields at any depth
 * (BLO_EPARSE); BLO_ENOMEM when an allocation failed. *out is the
 * caller's: free with blo_message_free. */
int blo_message_parse(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
		      size_t max, ProtobufCMessage **out, blo_err_t *err);

/* True if msg or any message inside it holds fields unknown to the schema. */
bool blo_message_has_unknown_fields(const ProtobufCMessage *msg);

/* protobuf_c_message_unpack with *rc telling why it returned NULL:
 * BLO_ENOMEM (an allocation failed) or BLO_EPARSE (the bytes do not
 * decode); 0 with the message. No bound and no check of unknown fields:
 * blo_message_parse does those. Free with blo_message_free. */
ProtobufCMessage *blo_message_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
				     size_t len, int *rc);

/* Encodes any message into a new malloc()ed buffer (*out, caller frees) of
 * *len bytes. Refuses messages larger than max (BLO_ETOOBIG). */
int blo_message_serialize(const ProtobufCMessage *msg, size_t max, uint8_t **out, size_t *len,
			  blo_err_t *err);

/* Frees an alert from blo_alert_parse or blo_json_to_alert and sets *alert_p
 * to NULL. NULL or *alert_p NULL: nothing. */
void blo_alert_free(Blonet__Alert **alert_p);

/* Frees any message built by this module and sets *msg_p to NULL. */
void blo_message_free(ProtobufCMessage **msg_p);

/* ---- JSON, generic over descriptors ----
 *
 * The JSON form uses the .proto field names, enum value names as strings,
 * lower-case hex for bytes, numbers for numeric fields (64-bit integers
 * of magnitude 2^53 or more as decimal strings, which are also accepted on input), arrays
 * for repeated fields and objects for messages. Output lists fields in
 * .proto order and omits fields at their zero value, so equal messages give
 * equal text. Input refuses unknown fields, duplicate fields, wrong types,
 * unknown enum names and numbers out of range, naming the field. */

/* Builds a new message of type desc from json. *out is the caller's: free with
 * blo_message_free. */
int blo_json_to_message(const ProtobufCMessageDescriptor *desc, const cJSON *json,
			ProtobufCMessage **out, blo_err_t *err);

/* Builds a new cJSON object (caller cJSON_Delete()s) from msg. Returns 0 or
 * BLO_ENOMEM. */
int blo_message_to_json(const ProtobufCMessage *msg, cJSON **out);

/* Text forms of the two above: parses text[0..len) (at most
 * BLO_JSON_MAX_BYTES), or prints compact (pretty == false) or indented text
 * into a new malloc()ed string (caller frees; NULL on out of memory). */
int blo_json_text_to_message(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
			     ProtobufCMessage **out, blo_err_t *err);
char *blo_message_to_json_text(const ProtobufCMessage *msg, bool pretty);

/* Alert shorthands of the two above. */
int blo_json_to_alert(Blonet__Alert **out, const char *text, size_t len, blo_err_t *err);
char *blo_alert_to_json(const Blonet__Alert *alert, bool pretty);

/* ---- validation ---- */

/* Checks the rules of the schema that the wire format cannot: id is 16 bytes;
 * type, status, tlp and category set to known values; origin with
 * principal, known agency and an ISO 3166 alpha-2 country; every country
 * field ISO 3166 alpha-2; latitude in -90..90 and longitude in -180..180;
 * expires not before observed; UPDATE, CANCEL, ACK and RESPONSE reference
 * an earlier alert and every reference is 16 bytes; TLP:RED and
 * TLP:AMBER+STRICT name their addressees; headline present for ALERT, RFI
 * and BULLETIN. Returns 0 or BLO_EVALIDATE with err naming the field and the
 * problem. */
int blo_alert_validate(const Blonet__Alert *alert, blo_err_t *err);

/* True if cc is an assigned ISO 3166-1 alpha-2 code (upper case). */
bool blo_country_is_valid(const char *cc);

/* ---- ids ---- */

/* Derives the 16-byte alert id from the origin country, agency and the
 * agency's own record reference (BLAKE2b-128 with a domain label), so a
 * re-submitted record gets the same id and is a duplicate. */
void blo_alert_derive_id(uint8_t id[BLO_ID_BYTES], const char *country, Blonet__AgencyKind agency,
			 const char *source_ref);

/* Fills id with 16 random bytes, for messages that have no source record
 * (console ACKs, RFIs and bulletins). */
void blo_alert_random_id(uint8_t id[BLO_ID_BYTES]);

/* Name of an enum value as in the .proto ("TLP_RED"), or NULL if value is
 * not one of desc's values. */
const char *blo_enum_name(const ProtobufCEnumDescriptor *desc, int value);

#endif

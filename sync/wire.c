/* wire.c: see wire.h. */
#include "sync/wire.h"

#include <stdlib.h>
#include <string.h>

#include "sync/frame.h"

long
wire_send(struct tls_conn *c, const Field__Sync__Envelope *env)
{
	unsigned char *buf;
	size_t len;
	int rc;

	if (frame_encode(env, WIRE_MAX_FRAME, &buf, &len) != 0)
		return -1;
	rc = tls_conn_write(c, buf, len);
	free(buf);
	return rc == 0 ? (long)len : -1;
}

long
wire_send_error(struct tls_conn *c, Field__Sync__Error__Code code,
    const char *message)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__Error e = FIELD__SYNC__ERROR__INIT;

	e.code = code;
	e.message = (char *)message;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_ERROR;
	env.error = &e;
	return wire_send(c, &env);
}

const char *
wire_kind_name(Field__Sync__Envelope__KindCase k)
{
	switch (k) {
	case FIELD__SYNC__ENVELOPE__KIND_HELLO: return "hello";
	case FIELD__SYNC__ENVELOPE__KIND_WELCOME: return "welcome";
	case FIELD__SYNC__ENVELOPE__KIND_COUNTS: return "counts";
	case FIELD__SYNC__ENVELOPE__KIND_BATCH: return "batch";
	case FIELD__SYNC__ENVELOPE__KIND_ACK: return "ack";
	case FIELD__SYNC__ENVELOPE__KIND_FORM_CATALOGUE:
		return "form_catalogue";
	case FIELD__SYNC__ENVELOPE__KIND_ERROR: return "error";
	case FIELD__SYNC__ENVELOPE__KIND_BYE: return "bye";
	case FIELD__SYNC__ENVELOPE__KIND_ENROLL_REQUEST:
		return "enroll_request";
	case FIELD__SYNC__ENVELOPE__KIND_ENROLL_RESPONSE:
		return "enroll_response";
	case FIELD__SYNC__ENVELOPE__KIND_BUNDLE_HEADER: return "bundle_header";
	case FIELD__SYNC__ENVELOPE__KIND_RECEIPT: return "receipt";
	default: return "unknown";
	}
}

void
wire_carry_take(struct wire_carry *carry, const Field__Sync__RecordBatch *b)
{
	for (size_t i = 0; i < b->n_records; i++) {
		const Field__Sync__SealedRecord *r = b->records[i];
		size_t n;

		/* A field left out means the one before: what is kept. */
		if (r->form_id != NULL && r->form_id[0] != '\0') {
			n = strlen(r->form_id);
			carry->have_form = n <= WIRE_CARRY_FORM_MAX;
			if (carry->have_form)
				memcpy(carry->form_id, r->form_id, n + 1);
		}
		if (r->form_version != NULL && r->form_version[0] != '\0') {
			n = strlen(r->form_version);
			carry->have_version = n <= WIRE_CARRY_VERSION_MAX;
			if (carry->have_version)
				memcpy(carry->form_version, r->form_version,
				    n + 1);
		}
		/* As cstore_ingest reads it: a key left out brings the one
		   before, and its epoch too unless one is given. */
		if (r->epoch_pub.len > 0) {
			carry->have_epoch = r->epoch_pub.len == WIRE_CARRY_PUB;
			if (carry->have_epoch)
				memcpy(carry->epoch_pub, r->epoch_pub.data,
				    WIRE_CARRY_PUB);
			carry->epoch_id = r->epoch_id;
		} else if (r->epoch_id != 0)
			carry->epoch_id = r->epoch_id;
	}
}

int
wire_carry_fill(const struct wire_carry *carry, Field__Sync__SealedRecord *r)
{
	char *s;

	if (carry->have_form && (r->form_id == NULL || r->form_id[0] == '\0')) {
		if ((s = strdup(carry->form_id)) == NULL)
			return -1;
		/* protobuf-c's shared empty string, or an empty one it
		   allocated for a field sent empty. */
		if (r->form_id != protobuf_c_empty_string)
			free(r->form_id);
		r->form_id = s;
	}
	if (carry->have_version && (r->form_version == NULL ||
	    r->form_version[0] == '\0')) {
		if ((s = strdup(carry->form_version)) == NULL)
			return -1;
		if (r->form_version != protobuf_c_empty_string)
			free(r->form_version);
		r->form_version = s;
	}
	if (carry->have_epoch && r->epoch_pub.len == 0) {
		unsigned char *p = malloc(WIRE_CARRY_PUB);

		if (p == NULL)
			return -1;
		free(r->epoch_pub.data);
		memcpy(p, carry->epoch_pub, WIRE_CARRY_PUB);
		r->epoch_pub.data = p;
		r->epoch_pub.len = WIRE_CARRY_PUB;
		if (r->epoch_id == 0)
			r->epoch_id = carry->epoch_id;
	}
	return 0;
}

void
wire_carry_compact(const struct wire_carry *carry,
    Field__Sync__SealedRecord *r)
{
	if (carry->have_form && r->form_id != NULL &&
	    r->form_id != protobuf_c_empty_string &&
	    strcmp(r->form_id, carry->form_id) == 0) {
		free(r->form_id);
		r->form_id = (char *)protobuf_c_empty_string;
	}
	if (carry->have_version && r->form_version != NULL &&
	    r->form_version != protobuf_c_empty_string &&
	    strcmp(r->form_version, carry->form_version) == 0) {
		free(r->form_version);
		r->form_version = (char *)protobuf_c_empty_string;
	}
	if (carry->have_epoch && r->epoch_id == carry->epoch_id &&
	    r->epoch_pub.len == WIRE_CARRY_PUB &&
	    memcmp(r->epoch_pub.data, carry->epoch_pub, WIRE_CARRY_PUB) == 0) {
		free(r->epoch_pub.data);
		r->epoch_pub.data = NULL;
		r->epoch_pub.len = 0;
		r->epoch_id = 0;
	}
}

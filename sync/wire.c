/* wire.c: see wire.h. */
#include "sync/wire.h"

#include <stdlib.h>

#include "sync/frame.h"

long
wire_send(struct tls_conn *c, const Field__Sync__Envelope *env)
{
	unsigned char *buf;
	size_t len;
	int rc;

	if (frame_encode(env, env->kind_case ==
	    FIELD__SYNC__ENVELOPE__KIND_FORM_CATALOGUE ? WIRE_MAX_FORMS_FRAME :
	    WIRE_MAX_FRAME, &buf, &len) != 0)
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

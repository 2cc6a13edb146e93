/* build.c -- MessagePack-RPC message builders (proto.h).
 *
 * Each function packs the fixed head of one message shape onto any
 * msgpack_packer. Integers go through msgpack_pack_uint32/int64, which
 * pick the smallest encoding, so stock decoders see plain fixints.
 */
#include "proto/proto.h"

#include <string.h>

void proto_pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

void proto_pack_cstr(msgpack_packer *pk, const char *s)
{
    if (s == NULL) {
        msgpack_pack_nil(pk);
        return;
    }
    proto_pack_strn(pk, s, strlen(s));
}

void proto_pack_request_begin(msgpack_packer *pk, uint32_t msgid,
                              const char *method)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint32(pk, PROTO_MSG_REQUEST);
    msgpack_pack_uint32(pk, msgid);
    proto_pack_cstr(pk, method);
}

void proto_pack_result_begin(msgpack_packer *pk, uint32_t msgid)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint32(pk, PROTO_MSG_RESPONSE);
    msgpack_pack_uint32(pk, msgid);
    msgpack_pack_nil(pk);
}

/* [code, message], the error object of docs/protocol.md, "Errors". */
static void proto_pack_error_pair(msgpack_packer *pk, int code,
                                  const char *message)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, code);
    proto_pack_cstr(pk, message);
}

void proto_pack_error_response(msgpack_packer *pk, uint32_t msgid, int code,
                               const char *message)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint32(pk, PROTO_MSG_RESPONSE);
    msgpack_pack_uint32(pk, msgid);
    proto_pack_error_pair(pk, code, message);
    msgpack_pack_nil(pk);
}

void proto_pack_notify_begin(msgpack_packer *pk, const char *method)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint32(pk, PROTO_MSG_NOTIFY);
    proto_pack_cstr(pk, method);
}

void proto_pack_error_notify(msgpack_packer *pk, int code, const char *message)
{
    proto_pack_notify_begin(pk, "error");
    msgpack_pack_array(pk, 1);
    proto_pack_error_pair(pk, code, message);
}

void proto_pack_event_begin(msgpack_packer *pk, const char *id,
                            const char *type, int64_t at, uint32_t extra_fields)
{
    proto_pack_notify_begin(pk, "event");
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 3 + (size_t)extra_fields);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, id);
    proto_pack_cstr(pk, "type");
    proto_pack_cstr(pk, type);
    proto_pack_cstr(pk, "at");
    msgpack_pack_int64(pk, at);
}

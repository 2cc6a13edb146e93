/* certificate.h -- service certificates (志愿服务证明; docs/protocol.md,
 * "Service certificates"): the two methods wishd takes part in.
 *
 * certificate.issue makes the verification code (80 random bits) and
 * sends only its SHA-256 to the library (wish_cert_issue,
 * matcher/lua/47_certificate.lua), which checks who may ask, reads the
 * volunteer's service record and records the certificate; the PDF is
 * then rendered in the certificate worker (cert_worker.h) and sent in
 * the answer. certificate.verify hashes the code it is given and asks
 * wish_cert_verify: no PDF is kept, and a copy of Redis holds no code.
 *
 * The library functions take what wishd packs (the hash, the issuer),
 * never a client's params as they came: they are in no method's table
 * row, so no client can call them directly.
 */
#ifndef WISHD_CERTIFICATE_H
#define WISHD_CERTIFICATE_H

#include <stddef.h>

#include <msgpack.h>

#include "server/conn.h"

#define CERT_CODE_CHARS 16 /* a code's characters, without its dashes */

/* certificate.issue {[volunteer_id], [from], [to]} -> certificate with
 * its pdf. Needs hello; volunteers and staff. */
void certificate_issue(request *req, const msgpack_object *params);

/* certificate.verify {city, code} -> {genuine, ...}. No hello needed. */
void certificate_verify(request *req, const msgpack_object *params);

/* Reads a code as people type it into out[CERT_CODE_CHARS + 1]: dashes
 * and blanks dropped, letters upper-cased, O read as 0, I and L as 1
 * (Crockford's base 32). Returns 0, or -1 when what is left is not 16
 * characters of that alphabet. */
int certificate_code_normal(const char *code, size_t len, char *out);

/* The issuing centre of `city` from the setting cert-issuer (NAME, or
 * CITY=NAME entries separated by ';', a bare NAME for the others) into
 * out[size]; "CITY 志愿服务中心" when it names none. */
void certificate_issuer(const char *setting, const char *city, char *out,
                        size_t size);

#endif

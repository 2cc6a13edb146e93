/* auth.h -- accounts' methods that wishd itself must take part in
 * (docs/protocol.md, "Accounts"): those that touch a password, and those
 * that mint a token or a one-time code. The rest of accounts (listing,
 * review, disable, enable, sign-up policy) lives wholly in the library
 * (matcher/lua/60_accounts.lua) and is served by fcall.c.
 *
 * A password never reaches Redis, and a hash never leaves it but to this
 * file: a log-in reads the stored hash (wish_auth_begin), checks the
 * password against it in a worker thread (kdf.h), then records the
 * outcome (wish_auth_finish), which counts failures and locks a name or
 * an address that fails too often. A name with no account is checked
 * against srv->stand_in_hash and counted the same way, so that a wrong
 * user and a wrong password cost the same work and get the same answer.
 *
 * The library functions these call take what wishd packs (a password's
 * hash, a code's digest), never a client's params as they came: they are
 * in no method's table row, so no client can call them directly.
 */
#ifndef WISHD_AUTH_H
#define WISHD_AUTH_H

#include <msgpack.h>

#include "server/conn.h"

/* auth.login {city, user | phone, password} -> login. No hello needed. */
void auth_login(request *req, const msgpack_object *params);

/* auth.signup {city, user, name, password, [phone], invite | region}. */
void auth_signup(request *req, const msgpack_object *params);

/* auth.reset {city, code, password}: redeems a staff reset code. */
void auth_reset(request *req, const msgpack_object *params);

/* auth.refresh: a fresh token of the caller's account, same generation. */
void auth_refresh(request *req, const msgpack_object *params);

/* auth.logout: the caller's token stops working. */
void auth_logout(request *req, const msgpack_object *params);

/* auth.logout_all: every token of the caller's account stops working. */
void auth_logout_all(request *req, const msgpack_object *params);

/* account.update {[name], [phone], [password, old_password]}. */
void auth_account_update(request *req, const msgpack_object *params);

/* account.invite {role, region, [count], [expires]}: one-time codes. */
void auth_account_invite(request *req, const msgpack_object *params);

/* account.reset {user}: a one-time code for auth.reset. */
void auth_account_reset(request *req, const msgpack_object *params);

#endif

/* static_files.h -- the web apps' built files, from web-root.
 *
 * GET and HEAD of a path below web-root: the file with its type, an ETag
 * (size and modification time) and 304 for a matching If-None-Match;
 * a directory serves its index.html, never a listing. A path that is
 * not plain after decoding (a "..", "." or empty segment, a backslash or
 * a NUL) is 404, and so is one whose real path (symbolic links resolved)
 * leaves web-root: nothing outside it can be read. No web-root: 404.
 *
 * A file with a gzip twin (NAME.gz beside it, no older than it: the
 * build writes them) is sent as the twin with Content-Encoding: gzip to
 * a client whose Accept-Encoding takes gzip, with Vary: Accept-Encoding
 * either way. Files under /assets/ (named by their content's hash) may
 * be cached for a year; every other file is revalidated (no-cache).
 */
#ifndef WISHD_STATIC_FILES_H
#define WISHD_STATIC_FILES_H

#include <stddef.h>

#include "server/config.h"

struct evhttp_request;

/* Where the apps are when web-root is not set: next to the program
 * itself, read from `exe` (NULL: /proc/self/exe, symbolic links
 * resolved), first <exe dir>/../share/microwish/web (what `make install`
 * puts under PREFIX), then <exe dir>/../build/web (the source tree,
 * where `make` builds them for bin/wishd). The first that holds a
 * regular index.html is written to out[size] as a real path. Returns 0,
 * or -1 when neither does (or a path would not fit), with out "" . */
int static_default_root(const char *exe, char *out, size_t size);

/* Answers req for the URI path `path` (still percent-encoded). */
void static_serve(const wish_config *cfg, struct evhttp_request *req,
                  const char *path);

#endif

/* static_files.h -- the web apps' built files, from web-root.
 *
 * GET and HEAD of a path below web-root: the file with its type, an ETag
 * (size and modification time) and 304 for a matching If-None-Match;
 * a directory serves its index.html, never a listing. A path that is
 * not plain after decoding (a "..", "." or empty segment, a backslash or
 * a NUL) is 404, and so is one whose real path (symbolic links resolved)
 * leaves web-root: nothing outside it can be read. No web-root: 404.
 */
#ifndef WISHD_STATIC_FILES_H
#define WISHD_STATIC_FILES_H

#include "server/config.h"

struct evhttp_request;

/* Answers req for the URI path `path` (still percent-encoded). */
void static_serve(const wish_config *cfg, struct evhttp_request *req,
                  const char *path);

#endif

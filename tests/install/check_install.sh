#!/bin/sh
# check_install.sh -- `make install DESTDIR=<tmp> PREFIX=/usr`, then two
# small programs built against the staged files, found only through
# pkg-config: one using the blocking API (plain `pkg-config --libs`), one
# using the libevent API (`--static`, as for any static-only library).
# The operator's files too: the systemd unit (naming the installed wishd,
# and clean for `systemd-analyze verify` where that exists), the example
# config, the man pages, which must render without a warning, and the
# web apps.
#
# Run from the top of the tree by `make check-install`, which passes MAKE,
# CC and SANFLAGS so that a `make SAN=1` run installs and links the same
# way. Exits 0, or 1 naming what failed.
set -eu

MAKE=${MAKE:-make}
CC=${CC:-cc}
SANFLAGS=${SANFLAGS:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/microwish-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
stage=$tmp/stage

fail() {
    echo "check_install: $*" >&2
    exit 1
}

$MAKE --no-print-directory install DESTDIR="$stage" PREFIX=/usr \
    >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    fail "make install failed"
}

for f in bin/wishd bin/wishctl lib/libwishclient.a \
    include/microwish/wishclient.h lib/pkgconfig/wishclient.pc; do
    [ -f "$stage/usr/$f" ] || fail "not installed: /usr/$f"
done
# The web apps, where wishd looks for them when web-root is unset
# (/usr/bin/wishd -> /usr/share/microwish/web), with what index.html names.
web=$stage/usr/share/microwish/web
for f in index.html sw.js manifest.webmanifest icons/icon-192.png; do
    [ -f "$web/$f" ] || fail "not installed: /usr/share/microwish/web/$f"
done
for a in $(sed -n 's/.*\(src\|href\)="\.\/\(assets\/[^"]*\)".*/\2/p' \
    "$web/index.html"); do
    [ -f "$web/$a" ] || fail "index.html names $a, not installed"
done
grep -qx 'prefix=/usr' "$stage/usr/lib/pkgconfig/wishclient.pc" ||
    fail "wishclient.pc does not say prefix=/usr"

# ------------------------------------------------------ operator's files
unit=$stage/usr/lib/systemd/system/wishd.service
for f in lib/systemd/system/wishd.service \
    share/doc/microwish/wishd.conf.example share/man/man8/wishd.8 \
    share/man/man1/wishctl.1; do
    [ -f "$stage/usr/$f" ] || fail "not installed: /usr/$f"
done
grep -q '^ExecStart=/usr/bin/wishd ' "$unit" ||
    fail "wishd.service does not start /usr/bin/wishd"
for line in Type=notify WatchdogSec= 'LoadCredential=secret:' \
    'secret-file ${CREDENTIALS_DIRECTORY}/secret' DynamicUser=yes \
    ConfigurationDirectory=microwish; do
    grep -qF "$line" "$unit" || fail "wishd.service lacks $line"
done
if grep -q '@[A-Z]*@' "$unit"; then
    fail "wishd.service has a placeholder left"
fi

# systemd-analyze checks the unit's syntax, that ExecStart is executable
# and that Documentation=man:wishd(8) is found: ExecStart is pointed at
# the staged binary and MANPATH at the staged pages. It exits 0 on some
# complaints (an unknown value is "ignoring"), so any line about our unit
# is a failure too; lines about other units on the machine are not ours.
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir "$tmp/unit"
    sed "s|^ExecStart=/usr/bin/wishd|ExecStart=$stage/usr/bin/wishd|" \
        "$unit" >"$tmp/unit/wishd.service"
    rc=0
    MANPATH=$stage/usr/share/man systemd-analyze verify \
        "$tmp/unit/wishd.service" >"$tmp/verify.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] || grep -q 'wishd' "$tmp/verify.log"; then
        cat "$tmp/verify.log" >&2
        fail "systemd-analyze verify wishd.service failed"
    fi
    echo "check_install: systemd-analyze verify: wishd.service is clean"
else
    echo "check_install: skipped systemd-analyze verify:" \
        "systemd-analyze is not installed"
fi

# The pages through groff with every warning on (-ww), then through
# man -l as a reader would see them; either printing anything on stderr
# fails. scripts/deps installs both (groff-base, man-db).
for page in share/man/man8/wishd.8 share/man/man1/wishctl.1; do
    if command -v groff >/dev/null 2>&1; then
        groff -ww -z -man -Tutf8 "$stage/usr/$page" 2>"$tmp/groff.log" ||
            fail "groff cannot format $page"
        if [ -s "$tmp/groff.log" ]; then
            cat "$tmp/groff.log" >&2
            fail "groff warns about $page"
        fi
    else
        echo "check_install: skipped groff -ww on $page: no groff"
    fi
    if command -v man >/dev/null 2>&1; then
        MANPAGER=cat MANWIDTH=80 LC_ALL=C.UTF-8 man -l --warnings=w \
            "$stage/usr/$page" >"$tmp/man.out" 2>"$tmp/man.log" ||
            fail "man -l $page failed"
        if [ -s "$tmp/man.log" ]; then
            cat "$tmp/man.log" >&2
            fail "man -l warns about $page"
        fi
        for sect in NAME SYNOPSIS DESCRIPTION 'EXIT STATUS' 'SEE ALSO'; do
            grep -q "^$sect" "$tmp/man.out" ||
                fail "man -l $page: no $sect section"
        done
    else
        echo "check_install: skipped man -l on $page: no man"
    fi
done
echo "check_install: unit, example config and man pages installed"

# The .pc names /usr; the sysroot maps that into the stage. System paths
# are let through, since /usr/include is one.
PKG_CONFIG_PATH=$stage/usr/lib/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$stage
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS \
    PKG_CONFIG_ALLOW_SYSTEM_LIBS
pkg-config --exists wishclient || fail "pkg-config cannot find wishclient"

cat >"$tmp/blocking.c" <<'EOF'
#include <microwish/wishclient.h>
#include <string.h>

/* The header alone compiles; status names come from the proto objects
 * inside the archive; nothing listens on port 1. */
int main(void)
{
    char err[256];
    wishclient *c = wc_connect("127.0.0.1", 1, 500, err, sizeof(err));

    if (strcmp(wc_status_name(4), "NOT_FOUND") != 0 || c) return 1;
    puts(err);
    return 0;
}
EOF

cat >"$tmp/async.c" <<'EOF'
#include <microwish/wishclient.h>

#include <event2/event.h>

static void on_state(wc_async *a, int state, int status, const char *why,
                     const msgpack_object *hello, void *arg)
{
    if (state != WC_ASYNC_WAITING) return;
    printf("%s: %s\n", wc_async_state_name(state), why);
    event_base_loopbreak(arg);
}

int main(void)
{
    struct event_base *base = event_base_new();
    wc_async_opts o = {0};
    char err[256];
    wc_async *a;

    o.host = "127.0.0.1";
    o.port = 1;
    o.token = "none";
    o.on_state = on_state;
    o.arg = base;
    a = wc_async_connect(base, &o, err, sizeof(err));
    if (!a) return 1;
    event_base_dispatch(base);
    wc_async_free(a);
    event_base_free(base);
    return 0;
}
EOF

CFLAGS="-std=c11 -Wall -Wextra -Werror -Wstrict-prototypes -Wno-unused-parameter"
# shellcheck disable=SC2046,SC2086
$CC $CFLAGS $SANFLAGS $(pkg-config --cflags wishclient) -o "$tmp/blocking" \
    "$tmp/blocking.c" $(pkg-config --libs wishclient) ||
    fail "cannot build a blocking client against the installed files"
# shellcheck disable=SC2046,SC2086
$CC $CFLAGS $SANFLAGS $(pkg-config --cflags wishclient) -o "$tmp/async" \
    "$tmp/async.c" $(pkg-config --static --libs wishclient) ||
    fail "cannot build an async client against the installed files"

out=$("$tmp/blocking") || fail "the blocking client failed"
case $out in
*"cannot connect to 127.0.0.1:1"*) ;;
*) fail "blocking client said: $out" ;;
esac
out=$("$tmp/async") || fail "the async client failed"
case $out in
"waiting: cannot connect to 127.0.0.1:1"*) ;;
*) fail "async client said: $out" ;;
esac
echo "check_install: installed libwishclient builds and runs (PREFIX=/usr)"

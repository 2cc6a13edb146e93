#!/bin/sh
# embed.sh NAME FILE... -- print a C file defining `const char NAME[]` with
# the bytes of the FILEs, one after the other, so wishd carries its Redis
# Functions library inside it.
set -eu
name=$1
shift
printf '/* generated from %s by scripts/embed.sh; do not edit */\n' "$*"
printf 'const char %s[] =\n' "$name"
cat "$@" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/'
printf ';\n'

#!/usr/bin/env python3
"""tests/lua_check.py -- checks of the Functions library's source files.

    python3 tests/lua_check.py FILE...          check (make check runs it)
    python3 tests/lua_check.py --uses FILE...   print each file's Uses line

FILEs are matcher/lua/*.lua in name order, the order scripts/embed.sh
assembles them in: one Lua chunk, so every top-level `local` of every file
is a local of that one chunk, and Lua allows a function (the chunk too) at
most 200 active locals. Two checks:

  1. The assembled chunk declares at most LIMIT top-level locals (each name
     of `local a, b =` counts, and each `local function`); the count is
     printed, and the check fails above LIMIT, while there is still room
     to move some into tables.
  2. Every file after the first opens with a comment naming the top-level
     locals it uses from the files before it, by file:

         -- Uses: BAD, context, fail (from 00_core.lua); UF (from
         --   10_volunteer.lua).

     and the check fails when it misses a name the file uses or lists one
     it does not.

A use is an identifier that resolves to no local of its own file (Lua
scoping: function parameters, `local`, `for` variables, blocks), is not a
field (`.x`, `:x`, `{x = ...}`), and is a top-level local of an earlier
file. Comments and strings are skipped. Standard Python 3 only.
"""
import os
import re
import sys

LIMIT = 180  # of Lua's 200 (LUAI_MAXVARS)

# Lua's own globals that 00_core.lua holds as locals under their own names
# (its "builtins" block): every file uses them, none lists them.
BUILTINS = {"string", "math", "tonumber", "type", "ipairs", "cmsgpack",
            "struct", "redis"}

KEYWORDS = {
    "and", "break", "do", "else", "elseif", "end", "false", "for",
    "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat",
    "return", "then", "true", "until", "while",
}

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>--(?:\[(?P<ceq>=*)\[.*?\](?P=ceq)\]|[^\n]*))
  | (?P<lstr>\[(?P<seq>=*)\[.*?\](?P=seq)\])
  | (?P<str>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>0[xX][0-9a-fA-F.]+(?:[pP][+-]?\d+)?|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<op>\.\.\.|\.\.|==|~=|<=|>=|::|[-+*/%^\#&~|<>=(){}\[\];:,.])
""", re.S | re.X)


def tokens(text):
    """The significant tokens of text as (kind, value, line)."""
    out, pos, line = [], 0, 1
    if text.startswith("#!"):
        pos = text.index("\n")
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if m is None:
            raise SyntaxError(f"line {line}: cannot read {text[pos:pos+20]!r}")
        kind = m.lastgroup
        if kind in ("ceq", "seq"):
            kind = "comment" if m.group("comment") else "lstr"
        val = m.group(0)
        if kind not in ("ws", "comment"):
            if kind == "name" and val in KEYWORDS:
                kind = "kw"
            out.append((kind, val, line))
        line += val.count("\n")
        pos = m.end()
    return out


def analyse(text, outer):
    """Walks one file's tokens with Lua's scoping.

    Returns (top, used): the names the file declares as top-level locals,
    in order (a name declared twice appears twice), and the set of names
    it uses that resolve to none of its own locals but to one of `outer`.
    """
    toks = tokens(text)
    scopes = [set()]   # innermost last; scopes[0] is the file's top level
    blocks = []        # what opened each block: function, do, then, ...
    brackets = []      # '(' '{' '[' open now
    top, used = [], set()
    pending = []       # names that enter scope when the next block opens
    i, n = 0, len(toks)

    def declare(name):
        scopes[-1].add(name)
        if len(scopes) == 1:
            top.append(name)

    def visible(name):
        return any(name in s for s in scopes)

    while i < n:
        kind, val, line = toks[i]
        prev = toks[i - 1][1] if i > 0 else None
        nxt = toks[i + 1][1] if i + 1 < n else None
        if kind == "kw":
            if val == "local":
                if nxt == "function":
                    declare(toks[i + 2][1])  # visible in its own body
                    i += 1
                    continue
                # local a, b <attrib> = ...: declared at once, though Lua
                # declares them after the statement; `local x = x` would
                # be misread, and the library has none.
                j, names = i + 1, []
                while j < n and toks[j][0] == "name":
                    names.append(toks[j][1])
                    j += 1
                    if j < n and toks[j][1] == "<":  # <const>, <close>
                        j += 3
                    if j < n and toks[j][1] == ",":
                        j += 1
                    else:
                        break
                for nm in names:
                    declare(nm)
                i = j
                continue
            if val == "function":
                # function name.field:method(params) | function (params)
                j = i + 1
                if j < n and toks[j][0] == "name":
                    fname = toks[j][1]
                    if not visible(fname) and fname in outer:
                        used.add(fname)
                    while j < n and toks[j][1] != "(":
                        j += 1
                params = []
                j += 1
                while j < n and toks[j][1] != ")":
                    if toks[j][0] == "name":
                        params.append(toks[j][1])
                    j += 1
                blocks.append("function")
                scopes.append(set(params))
                i = j + 1
                continue
            if val == "for":
                j = i + 1
                while j < n and toks[j][1] not in ("=", "in"):
                    if toks[j][0] == "name":
                        pending.append(toks[j][1])
                    j += 1
                i = j
                continue
            if val in ("do", "then", "repeat"):
                # a `for`'s variables are local to its body
                blocks.append(val)
                scopes.append(set(pending if val == "do" else ()))
                pending = []
            elif val == "elseif":  # its `then` opens the next block
                blocks.pop()
                scopes.pop()
            elif val == "else":
                scopes[-1] = set()
            elif val in ("end", "until"):
                blocks.pop()
                scopes.pop()
            i += 1
            continue
        if kind == "op":
            if val in "({[":
                brackets.append(val)
            elif val in ")}]":
                brackets.pop()
            i += 1
            continue
        if kind == "name":
            field = prev in (".", ":") or prev == "::" or nxt == "::"
            if (not field and nxt == "=" and brackets and
                    brackets[-1] == "{" and prev in ("{", ",", ";")):
                field = True  # {name = value}
            if prev == "goto":
                field = True
            if not field and not visible(val) and val in outer:
                used.add(val)
        i += 1
    if len(scopes) != 1:
        raise SyntaxError("unbalanced blocks")
    return top, used


def uses_header(text):
    """The names of the file's Uses comment by source file, or None."""
    lines = text.split("\n")
    start = next((k for k, l in enumerate(lines[:5])
                  if l.startswith("-- Uses:")), None)
    if start is None:
        return None
    body = [lines[start][len("-- Uses:"):]]
    for l in lines[start + 1:]:
        if not l.startswith("--   "):
            break
        body.append(l[2:])
    joined = " ".join(body)
    out = {}
    for names, src in re.findall(r"([^();]*)\(from\s+([\w.]+)\)", joined):
        out[src] = {x for x in re.split(r"[\s,]+", names) if x}
    return out


def format_uses(by_file):
    """The Uses comment for names by source file, wrapped at 78 columns."""
    if not by_file:
        return "-- Uses: nothing from the files before it."
    parts = []
    for src, names in by_file:
        parts.append(", ".join(sorted(names, key=str.lower)) +
                     f" (from {src})")
    words = ("; ".join(parts) + ".").split(" ")
    lines, cur = [], "-- Uses:"
    for w in words:
        if len(cur) + 1 + len(w) > 78:
            lines.append(cur)
            cur = "--  "
        cur += " " + w
    lines.append(cur)
    return "\n".join(lines)


def main(argv):
    print_uses = argv[:1] == ["--uses"]
    files = argv[1:] if print_uses else argv
    if not files:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    origin = {}   # top-level local name -> the file that last declared it
    total = 0
    bad = []
    for k, path in enumerate(files):
        base = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            top, used = analyse(text, set(origin))
        except (SyntaxError, IndexError) as e:
            bad.append(f"{path}: cannot analyse: {e}")
            continue
        total += len(top)
        want = {}
        for name in used - BUILTINS:
            want.setdefault(origin[name], set()).add(name)
        order = [os.path.basename(p) for p in files[:k]]
        by_file = [(src, want[src]) for src in order if src in want]
        if print_uses and k > 0:
            print(f"== {path}\n{format_uses(by_file)}")
        elif k > 0:
            have = uses_header(text)
            if have is None:
                bad.append(f"{path}: no '-- Uses:' comment in its first "
                           f"lines; it should read:\n{format_uses(by_file)}")
            else:
                for src in sorted(set(have) | set(want)):
                    miss = want.get(src, set()) - have.get(src, set())
                    extra = have.get(src, set()) - want.get(src, set())
                    if miss:
                        bad.append(f"{path}: Uses misses {sorted(miss)} "
                                   f"(from {src})")
                    if extra:
                        bad.append(f"{path}: Uses lists {sorted(extra)} "
                                   f"(from {src}), which it does not use")
        for name in top:
            origin[name] = base
    print(f"lua_check: {total} top-level locals in the assembled library "
          f"(limit {LIMIT}; Lua allows 200)")
    if total > LIMIT:
        bad.append(f"{total} top-level locals: over {LIMIT}; move some "
                   "into tables before Lua's 200 stops the library loading")
    for b in bad:
        print(f"lua_check: {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

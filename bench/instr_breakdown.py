#!/usr/bin/env python3
"""bench/instr_breakdown.py DIR LABEL -- where a phase's Redis instructions
went, per operation, from what `INSTR_DETAIL=DIR sh bench/instructions.sh`
kept: DIR/LABEL.cg (callgrind) and DIR/LABEL.cmdstats (INFO commandstats of
the same phase), the operations from DIR/LABEL.out (ok= or tasks=).

Prints a Markdown table. Redis's binary is stripped but exports its
functions' names, so costs are inclusive costs of named functions:
  FCALL                fcallCommand
  redis.call all in    the static function that calls scriptCall
                       (luaRedisGenericCommand: unnamed, found as the
                       caller of scriptCall), of which:
    commands' own work each <name>Command the phase ran (zadd without the
                       geoadd that calls it)
    call() bookkeeping the nested call() less the commands in it
    scriptCall         redis.call's checks (ACL, lookup) outside call()
    reply -> Lua       parseReply: replies turned into Lua values
    arguments          the rest: Lua values to Redis strings, frees
  cmsgpack             mp_pack / mp_unpack
  Lua and the rest     FCALL less redis.call and cmsgpack: the VM, other
                       C functions called from Lua (tonumber, string.*),
                       tables, strings, the GC
Lines marked "of which" overlap the others (strtod, snprintf)."""
import re
import subprocess
import sys


def inclusive(cg):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                          "--threshold=100", cg], capture_output=True,
                         text=True, check=True).stdout
    cost = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(\S+?):(\S+) \[", line)
        if m:
            fn = m.group(3)
            cost[fn] = cost.get(fn, 0) + int(m.group(1).replace(",", ""))
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+PROGRAM TOTALS", line)
        if m:
            cost["TOTAL"] = int(m.group(1).replace(",", ""))
    return cost


def caller_of(cg, fn):
    """Inclusive cost of the one function that calls fn, or 0."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                          "--tree=caller", "--threshold=100", cg],
                         capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if re.search(r"\*\s+\S+:" + re.escape(fn) + r" \[", line):
            m = re.match(r"\s*[\d,]+ \([^)]*\)\s+<\s+(\S+?):(\S+) ",
                         lines[i - 1])
            if m:
                for other in lines:
                    n = re.match(r"\s*([\d,]+) \([^)]*\)\s+\*\s+\S+?:"
                                 + re.escape(m.group(2)) + r" \[", other)
                    if n:
                        return int(n.group(1).replace(",", ""))
    return 0


def main():
    d, label = sys.argv[1], sys.argv[2]
    cost = inclusive(f"{d}/{label}.cg")
    text = open(f"{d}/{label}.out").read()
    m = re.search(r"\b(?:ok|tasks)=(\d+)", text)
    ops = int(m.group(1))
    calls = {}
    for line in open(f"{d}/{label}.cmdstats"):
        m = re.match(r"cmdstat_([a-z|]+):calls=(\d+)", line)
        if m and m.group(1) not in ("fcall", "info", "config|resetstat"):
            calls[m.group(1)] = int(m.group(2))
    c = lambda fn: cost.get(fn, 0)
    fcall = c("fcallCommand")
    rows = []
    own_sum = 0
    for name, n in sorted(calls.items(), key=lambda kv: -c(kv[0] + "Command")):
        own = c(name + "Command")
        if name == "zadd":
            own -= c("geoaddCommand")
        own_sum += own
        rows.append((f"`{name.upper()}` x {n / ops:.2f}", own / ops,
                     own / n if n else 0))
    nested = c("call'2")
    script = c("scriptCall")
    reply = c("parseReply")
    pack, unpack = c("mp_pack"), c("mp_unpack")
    generic = caller_of(f"{d}/{label}.cg", "scriptCall")
    rest = fcall - generic - pack - unpack
    print(f"| {label}: per operation ({ops} ops) | instructions | each call |")
    print("|---|---|---|")
    print(f"| whole phase (Redis) | {cost['TOTAL'] / ops:,.0f} | |")
    print(f"| FCALL | {fcall / ops:,.0f} | |")
    n_calls = sum(calls.values())
    print(f"| redis.call all in ({n_calls / ops:.1f} a op) | "
          f"{generic / ops:,.0f} | {generic / max(n_calls, 1):,.0f} |")
    print(f"| - the commands' own work | {own_sum / ops:,.0f} | |")
    for what, per_op, each in rows:
        print(f"| -- {what} | {per_op:,.0f} | {each:,.0f} |")
    print(f"| - call() bookkeeping | {(nested - own_sum) / ops:,.0f} | |")
    print(f"| - scriptCall: checks (ACL, lookup) | "
          f"{(script - nested) / ops:,.0f} | |")
    print(f"| - replies -> Lua values (parseReply) | {reply / ops:,.0f} | |")
    print(f"| - arguments from Lua, frees (the rest) | "
          f"{(generic - script - reply) / ops:,.0f} | |")
    print(f"| cmsgpack.pack / unpack | {pack / ops:,.0f} / "
          f"{unpack / ops:,.0f} | |")
    print(f"| Lua: VM, other C functions, tables, strings, GC (the rest) | "
          f"{rest / ops:,.0f} | |")
    print(f"| of which strtod (numbers parsed: Lua's tonumber, Redis's "
          f"arguments) | {c('strtod') / ops:,.0f} | |")
    print(f"| of which snprintf (numbers formatted: %.17g, ids) | "
          f"{c('__snprintf_chk') / ops:,.0f} | |")
    print(f"| outside FCALL (cron, the bench's INFO) | "
          f"{(cost['TOTAL'] - fcall) / ops:,.0f} | |")


if __name__ == "__main__":
    main()

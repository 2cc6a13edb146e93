#!/usr/bin/env python3
"""bench/report.py -- turns the JSON lines of bench/run.sh into Markdown.

Reads the lines wishbench printed (--json), the commands run, and the
machine (/proc/cpuinfo, /proc/meminfo, nproc), and prints RESULTS.md to
stdout: machine, commands, figures, the targets met or missed.
"""
import argparse
import json
import os
import platform


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    try:
        load = open("/proc/loadavg").read().split()[:3]
    except OSError:
        load = ["?"]
    return model, os.cpu_count(), mem_kb / 1048576, platform.release(), load


def fmt(v, digits=1):
    if v is None:
        return "n/a"
    if isinstance(v, float) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def verdict(ok):
    return "met" if ok else "**missed**"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--commands", required=True)
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--redis", required=True)
    a = ap.parse_args()

    rows = {}
    with open(a.results) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                rows[r["label"]] = r
    model, ncpu, mem_gb, kernel, load = machine()
    out = []
    p = out.append
    title = "microwish benchmark results" + (
        " (quick)" if a.mode == "quick" else "")
    p(f"# {title}\n")
    p(f"Run {a.start} to {a.end} (UTC), `make bench{'-quick' if a.mode == 'quick' else ''}`"
      f" (`sh bench/run.sh {a.mode}`).\n")
    p("## Machine\n")
    p(f"- CPU: {model}, {ncpu} cores (nproc)")
    p(f"- memory: {mem_gb:.1f} GiB; kernel {kernel}")
    p(f"- {a.redis.strip()}")
    try:
        import subprocess
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "server",
                                "matcher"], capture_output=True,
                               text=True).stdout.strip()
        p(f"- source: commit {rev}" + (
            " with uncommitted changes in server/ or matcher/ (binaries "
            "as built in bin/ when the run began)" if dirty else ""))
    except OSError:
        pass
    p(f"- load average at the end: {' '.join(load)} -- the machine is "
      "shared with other builds and tests; absolute times are noisy, "
      "ratios come from phases of the same run, interleaved.\n")

    p("## What is measured\n")
    p("- *match*: one `task.post` by a coordinator: validation, the task "
      "written, the density-sized `GEOSEARCH` with bounded widening, the "
      "fit checks of each candidate, ranking, the offer to the best "
      "(lease, inbox event, Pub/Sub), status counters and the queue "
      "event. Direct: `FCALL wish_task_post 1 {jinan} now caller params "
      "settings` with the same bytes wishd sends (settings packed from "
      "wishd's defaults), 32 in flight on one unix-socket connection. "
      "Through wishd: the same tasks (same seed) as MessagePack-RPC, 8 "
      "connections x 4 in flight, wishd on the same Redis socket.")
    p("- the city: volunteers drawn around 8 Jinan district centres "
      "(normal, 2.5-5 km) plus 15 % spread out; 1-3 of 8 skills; radius "
      "3-8 km; weekly slots 08:00-21:00 on 3-7 days; district scope; "
      "created through `wish_volunteer_update`, pipelined. Tasks follow "
      "the same density, skills by demand, 1-2 h within the next 6 "
      "days.\n")

    def per_s(label):
        r = rows.get(label)
        return r["per_s"] if r else None

    # 1. ceiling
    p("## 1. Ceiling: wishd vs direct (same city, same run)\n")
    p("| phase | matches/s | FCALL usec_per_call | Redis CPU us/match |")
    p("|---|---|---|---|")
    d_sum = w_sum = 0.0
    for rnd in (1, 2):
        for kind in ("direct", "wishd"):
            r = rows.get(f"ceil-{kind}-{rnd}")
            if not r:
                continue
            p(f"| {kind} #{rnd} | {fmt(r['per_s'])} | "
              f"{fmt(r['fcall_usec_per_call'])} | "
              f"{fmt(r['redis_cpu_us_per_op'])} |")
            if kind == "direct":
                d_sum += r["per_s"]
            else:
                w_sum += r["per_s"]
    ratio = w_sum / d_sum if d_sum else None
    p("")
    if ratio is not None:
        p(f"**wishd / direct = {ratio:.2f}** (target >= 0.8: "
          f"{verdict(ratio >= 0.8)})\n")

    # 2. growth
    p("## 2. Growth\n")
    p("| volunteers | seed/s | direct matches/s | FCALL usec_per_call "
      "(direct) | Redis CPU us/match | wishd matches/s | wishd p50 / p99 "
      "ms (closed loop) |")
    p("|---|---|---|---|---|---|---|")
    sizes = sorted({int(k.split("-")[-1]) for k in rows
                    if k.startswith("grow-direct-")})
    upc = {}
    for n in sizes:
        d = rows.get(f"grow-direct-{n}", {})
        w = rows.get(f"grow-wishd-{n}", {})
        s = rows.get(f"seed-{n}", {})
        upc[n] = d.get("fcall_usec_per_call")
        p(f"| {n:,} | {fmt(s.get('per_s'))} | {fmt(d.get('per_s'))} | "
          f"{fmt(d.get('fcall_usec_per_call'))} | "
          f"{fmt(d.get('redis_cpu_us_per_op'))} | {fmt(w.get('per_s'))} | "
          f"{fmt(w.get('p50_ms'), 2)} / {fmt(w.get('p99_ms'), 2)} |")
    p("")
    p("Redis commands run per match by the function (INFO commandstats, "
      "direct phases; the five costliest as command:calls/us per match):\n")
    for n in sizes:
        d = rows.get(f"grow-direct-{n}", {})
        if d.get("redis_calls_per_op") is not None:
            p(f"- {n:,}: {d['redis_calls_per_op']:.1f} calls; "
              f"`{d.get('top_commands_per_op', '')}`")
    p("")
    if len(sizes) >= 2 and upc.get(sizes[0]) and upc.get(sizes[-1]):
        g = upc[sizes[-1]] / upc[sizes[0]]
        p(f"Redis CPU per match at {sizes[-1]:,} / at {sizes[0]:,}: "
          f"**{g:.2f}** (target <= 1.3: {verdict(g <= 1.3)}); at "
          f"{sizes[-1]:,}: **{upc[sizes[-1]]:.0f} us** (target <= 50: "
          f"{verdict(upc[sizes[-1]] <= 50)}).\n")

    # 3. memory
    p("## 3. Memory\n")
    p("| volunteers | bytes per volunteer (used_memory delta / N) | "
      "profile hash (MEMORY USAGE) |")
    p("|---|---|---|")
    for n in sizes:
        s = rows.get(f"seed-{n}")
        if s:
            p(f"| {n:,} | {fmt(s['bytes_per_volunteer'], 0)} | "
              f"{fmt(s['profile_hash_bytes'], 0)} |")
    p("")
    big = rows.get(f"seed-{sizes[-1]}") if sizes else None
    if big:
        b = big["bytes_per_volunteer"]
        p(f"At {sizes[-1]:,}: **{b:.0f} bytes per volunteer** (target <= "
          f"300: {verdict(b <= 300)}).\n")
    for k, r in rows.items():
        if k.startswith("memory-"):
            p(f"Inboxes after the growth phases at {k[7:]} volunteers "
              f"({int(r['inboxes_sampled'])} sampled, MEMORY USAGE): "
              f"{fmt(r['bytes_per_inbox'], 0)} bytes per inbox holding "
              f"{fmt(r['events_per_inbox'], 2)} events "
              f"({fmt(r['bytes_per_event'], 0)} bytes per event).\n")

    hp = [r for k, r in rows.items() if k.startswith("half-peak-")]
    if hp:
        r = hp[0]
        p("## Latency at half the peak rate (open loop)\n")
        p(f"{fmt(r['per_s'])} posts/s offered for {fmt(r['seconds'])} s: "
          f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, p99.9 "
          f"{r['p999_ms']:.2f} ms, late {int(r['late'])}, errors "
          f"{int(r['errors'])} (target p99 < 5 ms: "
          f"{verdict(r['p99_ms'] < 5)}). Latency is from when a request "
          "was due to its response (`task.post`), not to the `assigned` "
          "event.\n")

    p("## Not measured by this run\n")
    p("- post-to-`assigned` latency and accept/claim traffic (wishbench "
      "posts; no volunteer agents accept offers yet)")
    p("- 4. mobilisation (240 k volunteers, 100 k tasks), 5. quality vs "
      "the optimal assignment and Gini, 6. wishd memory per idle "
      "connection\n")

    p("## Commands\n")
    p("```")
    with open(a.commands) as f:
        p(f.read().rstrip())
    p("```\n")
    p("Raw lines (wishbench --json):\n")
    p("```")
    with open(a.results) as f:
        p(f.read().rstrip())
    p("```")
    print("\n".join(out))


if __name__ == "__main__":
    main()

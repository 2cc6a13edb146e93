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
    if isinstance(v, (int, float)) and abs(v) >= 1000:
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
    ap.add_argument("--base", default="",
                    help="issue 19's base commit (BENCH_BASE)")
    ap.add_argument("--notes", default=None,
                    help="lines of run.sh's notes: base build, load")
    a = ap.parse_args()
    notes = []
    if a.notes and os.path.exists(a.notes):
        with open(a.notes) as f:
            notes = [line.strip() for line in f if line.strip()]

    rows = {}
    with open(a.results) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                rows[r["label"]] = r
    model, ncpu, mem_gb, kernel, load = machine()
    commit = "?"
    out = []
    p = out.append
    title = "microwish benchmark results" + (
        f" ({a.mode})" if a.mode in ("quick", "cluster", "i19") else "")
    p(f"# {title}\n")
    target = {"quick": "bench-quick", "cluster": "bench-cluster",
              "i19": "bench-i19"}.get(a.mode, "bench")
    p(f"Run {a.start} to {a.end} (UTC), `make {target}`"
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
        commit = rev
        p(f"- source: commit {rev}" + (
            " with uncommitted changes in server/ or matcher/ (binaries "
            "as built in bin/ when the run began)" if dirty else ""))
    except OSError:
        commit = "?"
    for n in notes:
        if n.startswith("load: ") and n.endswith("at the start"):
            p(f"- load average {n[6:]}")
    p(f"- load average at the end: {' '.join(load)} -- the machine is "
      "shared with other builds and tests; absolute times are noisy, "
      "ratios come from phases of the same run, interleaved.\n")

    standalone = a.mode != "cluster"
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
    p("- *assignment* (growth, latency, mobilisation through wishd): the "
      "post as above, then volunteer agents (`wishbench --agents`, a "
      "child process on one libevent base with libwishclient's "
      "asynchronous client) accept every offer at once with "
      "`offer.accept`: v0..v9999 hold sessions from the start and get "
      "their offers pushed by wishd; any other volunteer is seen on the "
      "`mw:ev:<city>` Pub/Sub channel and connects (token, hello) on its "
      "first offer, at most 5 000 such sessions held. Latency is from "
      "the post (its due time in open loop) to the `assigned` event the "
      "posting coordinator receives; matches/s counts those events. "
      "Phases with agents run 3 s longer and leave the posts due in those "
      "first 3 s out of the latencies (`--warmup 3`): 10 000 sessions "
      "say hello at once then, which is start-up, not service.")
    p("- the city: volunteers drawn around 8 Jinan district centres "
      "(normal, 2.5-5 km) plus 15 % spread out; 1-3 of 8 skills; radius "
      "3-8 km; weekly slots 08:00-21:00 on 3-7 days; district scope; "
      "created through `wish_volunteer_update`, pipelined. Tasks follow "
      "the same density, skills by demand, 1-2 h within the next 6 "
      "days.\n")

    targets = []
    if a.mode == "i19":
        i19_section(a, rows, p, notes, commit)
    else:
        if standalone:
            standalone_sections(rows, p, targets)
        later_sections(a, rows, p, targets)
        cluster_section(rows, p, targets)
        if a.mode == "full":
            i19_section(a, rows, p, notes, commit)
        targets_section(a, rows, p, targets)

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


def standalone_sections(rows, p, targets):
    """1. to 3.: the ceiling, growth and memory on one Redis."""
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
        targets.append(("wishd >= 0.8x direct", f"{ratio:.2f}",
                        ratio >= 0.8))

    # 2. growth
    p("## 2. Growth\n")
    p("| volunteers | seed/s | direct posts/s | FCALL usec_per_call "
      "(direct) | Redis CPU us/post (direct) | wishd + agents matches/s | "
      "Redis CPU us/match (post + accept) | post->assigned p50 / p99 / "
      "p99.9 ms (closed loop) |")
    p("|---|---|---|---|---|---|---|---|")
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
          f"{fmt(d.get('redis_cpu_us_per_op'))} | "
          f"{fmt(w.get('matches_per_s', w.get('per_s')))} | "
          f"{fmt(w.get('redis_cpu_us_per_match'))} | "
          f"{fmt(w.get('asg_p50_ms'), 2)} / {fmt(w.get('asg_p99_ms'), 2)} / "
          f"{fmt(w.get('asg_p999_ms'), 2)} |")
    p("")
    for n in sizes:
        w = rows.get(f"grow-wishd-{n}", {})
        if "agent_offers" in w:
            p(f"- {n:,}: {int(w['ok'])} posts, {int(w['assigned'])} "
              f"assigned; agents: {int(w['agent_offers'])} offers, "
              f"{int(w['agent_accepted'])} accepted, "
              f"{int(w['agent_conflicts'])} conflicts, "
              f"{int(w['agent_errors'])} errors, "
              f"{int(w['agent_sessions'])} sessions opened")
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
        p(f"Redis CPU per match (FCALL usec_per_call, direct) at "
          f"{sizes[-1]:,} / at {sizes[0]:,}: "
          f"**{g:.2f}** (target <= 1.3: {verdict(g <= 1.3)}); at "
          f"{sizes[-1]:,}: **{upc[sizes[-1]]:.0f} us** (target <= 50: "
          f"{verdict(upc[sizes[-1]] <= 50)}).\n")
        targets.append(("Redis CPU/match at the largest / smallest city "
                        "<= 1.3", f"{g:.2f}", g <= 1.3))
        targets.append(("Redis CPU/match <= 50 us",
                        f"{upc[sizes[-1]]:.0f} us", upc[sizes[-1]] <= 50))

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
        targets.append(("<= 300 B Redis per volunteer", f"{b:.0f} B",
                        b <= 300))
    for k, r in rows.items():
        if k.startswith("memory-"):
            p(f"Inboxes after the growth phases at {k[7:]} volunteers "
              f"({int(r['inboxes_sampled'])} sampled, MEMORY USAGE): "
              f"{fmt(r['bytes_per_inbox'], 0)} bytes per inbox holding "
              f"{fmt(r['events_per_inbox'], 2)} events "
              f"({fmt(r['bytes_per_event'], 0)} bytes per event).\n")



def later_sections(a, rows, p, targets):
    """Latency at half the peak, 4. to 11., and the notes on them."""
    hp = sorted((k, r) for k, r in rows.items()
                if k.startswith("half-peak-"))
    if hp:
        p("## Latency at half the peak rate (open loop)\n")
        p("| volunteers | offered posts/s | seconds | post->response p99 ms "
          "| post->assigned p50 / p99 / p99.9 ms | assigned | late | "
          "errors |")
        p("|---|---|---|---|---|---|---|---|")
        for k, r in hp:
            p(f"| {int(k.split('-')[-1]):,} | {fmt(r['per_s'])} | "
              f"{fmt(r['seconds'])} | {fmt(r['p99_ms'], 2)} | "
              f"{fmt(r.get('asg_p50_ms'), 2)} / {fmt(r.get('asg_p99_ms'), 2)}"
              f" / {fmt(r.get('asg_p999_ms'), 2)} | "
              f"{int(r.get('assigned', 0))} | {int(r['late'])} | "
              f"{int(r['errors'])} |")
        p("")
        for k, r in hp:
            v = r.get("asg_p99_ms")
            if v is not None and not r.get("assigned"):
                # no `assigned` event came back: a p99 of 0 is no figure
                p(f"At {int(k.split('-')[-1]):,}: no `assigned` event "
                  f"reached the coordinator ({int(r.get('agent_accepted', 0))}"
                  " offers accepted by the agents): no latency measured "
                  "(target < 5 ms: **missed**).")
                targets.append((f"p99 < 5 ms at half the peak "
                                f"({int(k.split('-')[-1]):,})",
                                "no `assigned` event received", False))
            elif v is not None:
                p(f"At {int(k.split('-')[-1]):,}: post->assigned p99 "
                  f"**{v:.2f} ms** (target < 5 ms: {verdict(v < 5)}).")
                targets.append((f"p99 < 5 ms at half the peak "
                                f"({int(k.split('-')[-1]):,})",
                                f"{v:.2f} ms", v < 5))
        p("")

    m = rows.get("mobilise")
    c = rows.get("mobilise-check")
    if m:
        p("## 4. Mobilisation: 240 000 volunteers, 100 000 tasks\n")
        secs = m.get("assign_seconds")
        p(f"{int(m['ok'])} tasks posted through wishd (8 connections x 4 "
          f"in flight, closed loop; {int(m.get('retried', 0))} posts "
          f"answered UNAVAILABLE were made again) in {fmt(m['seconds'])} s "
          f"({fmt(m['per_s'])} posts/s); {int(m.get('assigned', 0))} "
          f"assigned, the last **{fmt(secs)} s** after the first post "
          f"({fmt(m.get('matches_per_s'))} matches/s); post->assigned p50 "
          f"/ p99 {fmt(m.get('asg_p50_ms'), 1)} / "
          f"{fmt(m.get('asg_p99_ms'), 1)} ms; errors {int(m['errors'])}; "
          f"agents: {int(m.get('agent_accepted', 0))} accepted, "
          f"{int(m.get('agent_conflicts', 0))} conflicts, "
          f"{int(m.get('agent_sessions', 0))} sessions. Tasks nobody fits "
          "stay open (not counted as assigned).\n")
        if secs:
            all_in = int(m.get("assigned", 0)) >= int(m["ok"])
            note = "" if all_in else (
                f" ({int(m['ok']) - int(m.get('assigned', 0))} of "
                f"{int(m['ok'])} posted never assigned)")
            if m["errors"]:
                note += f" ({int(m['errors'])} posts failed)"
            targets.append(("mobilisation <= 30 s", f"{secs:.0f} s" + note,
                            secs <= 30 and not m["errors"]))
        if c:
            p(f"Checked from Redis afterwards (`wishbench check`, the "
              f"library's `wish_check`): "
              f"{int(c['tasks'])} tasks, {int(c['live_assignments'])} live "
              f"assignments, **{int(c['overfilled'])} over-filled**, "
              f"{int(c['filled_mismatch'])} whose `filled` differs from "
              f"their live assignments; {int(c['volunteers_with_work'])} "
              f"volunteers with work, **{int(c['double_booked'])} double "
              f"booked**, {int(c['over_max_active'])} over max_active.\n")
            ok = c["overfilled"] == 0 and c["double_booked"] == 0
            targets.append(("zero double bookings or over-fills",
                            f"{int(c['double_booked'])} / "
                            f"{int(c['overfilled'])}", ok))

    q = rows.get("quality-1000")
    if q:
        p("## 5. Quality: 1 000 tasks vs the optimal assignment\n")
        p(f"A fresh city of {int(q['volunteers']):,} volunteers; "
          f"{int(q['tasks'])} tasks posted one by one (direct FCALL), the "
          "first offer of each accepted at once. The optimum: the min-cost "
          "assignment (successive shortest paths with potentials, i.e. the "
          "Hungarian method on a sparse graph) of the same tasks to the "
          "volunteers who fit them by the seed data (skill, district "
          "scope, weekly slot, home within their radius), the 64 nearest "
          "per task, each volunteer taking up to max_active (3); clashes "
          "in time are not modelled, so the optimum is a lower bound.\n")
        p(f"- assigned {int(q['assigned'])}, offered to nobody "
          f"{int(q['unmatched'])} (of which "
          f"{int(q.get('unmatched_but_fitting', 0))} had someone who fits), "
          f"our choices that the model says do not fit: {int(q['misfit'])}")
        p(f"- travel: ours **{fmt(q['ours_km'])} km** "
          f"({fmt(q['ours_mean_m'], 0)} m a task), optimum "
          f"{fmt(q['optimal_km'])} km ({fmt(q['optimal_mean_m'], 0)} m): "
          f"**ratio {q['ratio']:.3f}** (target <= 1.15: "
          f"{verdict(q['ratio'] <= 1.15)})")
        p(f"- spread: {int(q['volunteers_used'])} volunteers did the "
          f"{int(q['assigned'])} tasks, at most "
          f"{int(q['most_tasks_one_volunteer'])} each; Gini of tasks per "
          f"volunteer over the {int(q['pool']):,} who could take one: ours "
          f"{q['gini_ours']:.3f}, the optimum's {q['gini_optimal']:.3f} "
          "(with far more volunteers than tasks most do none, so both are "
          "near 1; lower is more even)\n")
        targets.append(("travel <= 1.15x optimal", f"{q['ratio']:.3f}",
                        q["ratio"] <= 1.15))

    cn = rows.get("conns-10000")
    if cn:
        p("## 6. Connections: 10 000 idle sessions\n")
        b = cn["bytes_per_connection"]
        p(f"{int(cn['sessions'])} of {int(cn['connections'])} connections "
          f"said hello (each a volunteer) in {fmt(cn['open_seconds'])} s; "
          f"wishd VmRSS {cn['wishd_rss_before'] / 1048576:.1f} MiB before, "
          f"{cn['wishd_rss_held'] / 1048576:.1f} MiB holding them, "
          f"{cn['wishd_rss_after_close'] / 1048576:.1f} MiB after they "
          f"closed: **{b:.0f} bytes per connection** (target <= 4096: "
          f"{verdict(b <= 4096)}).\n")
        targets.append(("<= 4 KiB wishd memory per idle connection",
                        f"{b:.0f} B", b <= 4096))

    ins = [(k, rows[k]) for k in ("instr-post", "instr-match") if k in rows]
    if ins:
        p("## 7. Instructions per match (callgrind)\n")
        p("Counted, not timed: the same binaries and inputs give the same "
          "count whatever else the machine does (`bench/instructions.sh`: "
          "redis-server under callgrind, a city of "
          f"{int(ins[0][1]['volunteers']):,} volunteers).\n")
        p("| what | operations | instructions each |")
        p("|---|---|---|")
        names = {"instr-post": "post (`wish_task_post`, direct)",
                 "instr-match": "post + accept of its first offer "
                                "(wishbench quality)"}
        for k, r in ins:
            p(f"| {names[k]} | {int(r['ops'])} | "
              f"{int(r['instructions_per_op']):,} |")
        p("")

    cr = rows.get("crowd-1000")
    if cr:
        p("## 8. A crowd sending random bytes\n")
        ratio = cr.get("p99_ratio")
        p(f"One client's ping round trips in {int(cr['rounds'])} rounds of "
          f"a quiet block and a block under {int(cr['connections']):,} "
          "connections from one address that send random bytes (a chunk "
          f"every {int(cr['think_ms'])} ms on average each), are cut by "
          "wishd, and connect again (`wishbench crowd`; wishd with its "
          "per-address limits and hello-timeout off). Crowd: "
          f"{int(cr['crowd_connects']):,} connections, "
          f"{int(cr['crowd_cut']):,} cut, at most "
          f"{int(cr['crowd_peak_open']):,} open at once; "
          f"{int(cr['pings']):,} pings, {int(cr['ping_errors'])} "
          "unanswered.\n")
        p("| ping | p50 us | p99 us |")
        p("|---|---|---|")
        p(f"| quiet | {fmt(cr.get('quiet_p50_us'), 0)} | "
          f"{fmt(cr.get('quiet_p99_us'), 0)} |")
        p(f"| under the crowd | {fmt(cr.get('loaded_p50_us'), 0)} | "
          f"{fmt(cr.get('loaded_p99_us'), 0)} |")
        p("")
        if ratio is not None:
            # A quiet p99 of a few hundred us would make any scheduling
            # hiccup look like a doubling: the floor is 1 ms.
            bound = 2 * max(cr["quiet_p99_us"], 1000)
            ok = cr["loaded_p99_us"] <= bound
            p(f"**ping p99 under the crowd / quiet = {ratio:.2f}** (target: "
              f"p99 under the crowd <= 2 x max(quiet p99, 1 ms) = "
              f"{bound:.0f} us: {verdict(ok)}); on a shared 2-core machine "
              "this figure moves with whatever else runs.\n")
            targets.append(("ping p99 under 1 000 garbage-sending "
                            "connections <= 2 x max(quiet p99, 1 ms)",
                            f"{ratio:.2f}x quiet", ok))

    lg = sorted(((k, r) for k, r in rows.items()
                 if k.startswith("logins-")),
                key=lambda kr: (kr[1]["kdf_memory_kib"], kr[1]["kdf_time"]))
    if lg:
        p("## 9. Log-ins, and what the password hash buys\n")
        p("`wishbench logins` against a wishd started with each argon2id "
          "cost (`kdf-memory`, `kdf-time`; `kdf-threads` 2, one lane): "
          "accounts made by an admin's `account.invite` and `auth.signup`, "
          "then `auth.login` of random accounts with the right password, "
          "closed loop, 4 connections x 2 in flight (no hello: a log-in "
          "screen). Latency is mostly the wait for one of the two KDF "
          "workers (about 8 in flight / logins/s). *One hash* is the same "
          "argon2id hash (wishd's code, `kdf_hash_now`) timed on one core "
          "of wishbench while wishd is idle; SHA-256 is one 32-byte digest "
          "(salt + password) on the same core.\n")
        p("| kdf-memory KiB | kdf-time | accounts (sign-up s) | logins/s | "
          "p50 / p99 ms | UNAVAILABLE | errors | one hash ms | "
          "guesses/s per core | SHA-256/s per core | SHA-256 / argon2id |")
        p("|---|---|---|---|---|---|---|---|---|---|---|")
        for k, r in lg:
            p(f"| {int(r['kdf_memory_kib']):,} | {int(r['kdf_time'])} | "
              f"{int(r['created'])} ({fmt(r['signup_seconds'])}) | "
              f"{fmt(r['logins_per_s'])} | {fmt(r['p50_ms'])} / "
              f"{fmt(r['p99_ms'])} | {int(r['unavailable'])} | "
              f"{int(r['errors']) + int(r['lost'])} | "
              f"{fmt(r['kdf_hash_ms'], 2)} | "
              f"{fmt(r['guesses_per_s_core'])} | "
              f"{fmt(r['sha256_per_s'])} | "
              f"{fmt(r['sha256_over_kdf'])} |")
        p("")
        d = rows.get("logins-19456-2")
        if d and d.get("kdf_hash_ms") and d.get("sha256_per_s"):
            ms = d["kdf_hash_ms"]
            mib = d["kdf_memory_kib"] / 1024
            ratio = float(f"{d['sha256_over_kdf']:.2g}")
            p(f"What the default cost buys: a log-in costs wishd one hash, "
              f"**{ms:.1f} ms** of a core and {mib:.0f} MiB, so its two "
              f"workers give about {2000 / ms:.0f} log-ins/s on two free "
              f"cores (measured {d['logins_per_s']:.0f}/s, sharing them "
              f"with Redis and wishbench). Someone who steals a "
              f"dump of the stored hashes pays the same for every guess: "
              f"about **{1000 / ms:.0f} guesses/s per core**, each needing "
              f"{mib:.0f} MiB of memory, against "
              f"{d['sha256_per_s'] / 1e6:.1f} million/s for a salted "
              f"SHA-256 on the same core: about **{ratio:,.0f} times fewer "
              f"guesses** for the same CPU. Against GPUs the gap "
              f"is wider still (SHA-256 runs there at billions a second; "
              f"argon2id's memory per guess caps how many run at once), "
              f"which this machine does not measure. Each lock "
              f"(`login-free-fails`) slows guessing online further; the hash "
              f"is what is left once the database has leaked.\n")
        cheap = rows.get("logins-1024-1")
        if d and cheap and cheap.get("logins_per_s"):
            x = cheap["logins_per_s"] / d["logins_per_s"]
            p(f"At 1 024 KiB, t=1 the same wishd serves "
              f"{cheap['logins_per_s']:.0f} log-ins/s, {x:.1f} x the "
              f"default's" + (": at the default cost the hash, not Redis "
                              "or the token, is what limits log-ins."
                              if x >= 3 else ".") + "\n")

    rtt = {k: r for k, r in rows.items() if k.startswith("rtt-")}
    idle = {t: rows.get(f"idle-{t}") for t in ("tcp", "ws")}
    if rtt or any(idle.values()):
        p("## 10. WebSocket beside TCP\n")
        p("The same MessagePack-RPC calls over a WebSocket (`ws://` to "
          "wishd's HTTP port, `GET /ws`; one binary message per call, "
          "masked by the client as browsers do) and over the TCP port. "
          "`wishbench rtt`: closed loop, one connection, one call in "
          "flight (a coordinator's session): `ping` is wishd alone, "
          "`task.post` is wishd and Redis. The two transports alternate "
          "run by run on one wishd; the ratio is calls/s over the WebSocket "
          "/ over TCP, summed over the rounds. The client is wishbench's "
          "(wslay in client mode, the upgrade written and its "
          "Sec-WebSocket-Accept checked by hand).\n")
    if rtt:
        p("| call | transport | round | calls/s | p50 us | p99 us | p99.9 us |")
        p("|---|---|---|---|---|---|---|")
        for k in sorted(rtt, key=lambda k: (rtt[k]["method"], k[-1],
                                            rtt[k]["transport"] != "tcp")):
            r = rtt[k]
            p(f"| {r['method']} | {r['transport']} | {k.rsplit('-', 1)[1]} | "
              f"{fmt(r['per_s'])} | {fmt(r['p50_us'], 0)} | "
              f"{fmt(r['p99_us'], 0)} | {fmt(r['p999_us'], 0)} |")
        p("")
        for m in ("ping", "post"):
            sums = {}
            for t in ("tcp", "ws"):
                rs = [r for r in rtt.values()
                      if r["method"] == m and r["transport"] == t]
                ok = sum(r["ok"] for r in rs)
                secs = sum(r["seconds"] for r in rs)
                sums[t] = ok / secs if secs > 0 else None
            if sums["tcp"] and sums["ws"]:
                ratio = sums["ws"] / sums["tcp"]
                p(f"**{m}: WebSocket / TCP = {ratio:.2f}** "
                  f"({sums['ws']:,.0f} vs {sums['tcp']:,.0f} calls/s; "
                  f"target >= 0.8: {verdict(ratio >= 0.8)}).\n")
                targets.append((f"{m} round trips over WebSocket >= 0.8x "
                                "TCP", f"{ratio:.2f}x", ratio >= 0.8))
    if any(idle.values()):
        p("`wishbench idle`: sessions opened one after the other, each a "
          "volunteer's hello, then held idle; wishd's VmRSS before and "
          "while holding them (a fresh wishd for each transport).\n")
        p("| transport | sessions | wishd RSS before MiB | holding MiB | "
          "bytes per idle session |")
        p("|---|---|---|---|---|")
        for t in ("tcp", "ws"):
            r = idle[t]
            if r:
                p(f"| {t} | {int(r['sessions']):,} | "
                  f"{r['wishd_rss_before'] / 1048576:.1f} | "
                  f"{r['wishd_rss_held'] / 1048576:.1f} | "
                  f"{fmt(r['bytes_per_connection'], 0)} |")
        p("")
        w = idle["ws"]
        if w and w.get("bytes_per_connection") is not None:
            b = w["bytes_per_connection"]
            p(f"**{b:,.0f} bytes per idle WebSocket session** (target <= "
              f"6 KiB = 6144: {verdict(b <= 6144)}).\n")
            targets.append(("<= 6 KiB wishd memory per idle WebSocket "
                            "session", f"{b:.0f} B", b <= 6144))

    web = {k: r for k, r in rows.items() if k.startswith("web-")}
    if web:
        p("## 11. The web apps' first load\n")
        p("`bench/web.mjs`: Debian's Chromium, headless, a phone's viewport "
          "(360 x 740); each page loaded cold (a fresh browser context: "
          "nothing cached, the log-in already stored) from a wishd serving "
          "build/web on loopback, until the page's own data is on screen "
          "(its `mw:ready` mark). Bytes are the JS and CSS of the load, on "
          "the wire (wishd sends the build's gzip twins) and decoded.\n")
        p("| page | loads | ready p50 ms | ready max ms | DOMContentLoaded "
          "p50 ms | JS+CSS on the wire | decoded | long tasks (max ms) |")
        p("|---|---|---|---|---|---|---|---|")
        for k in sorted(web):
            r = web[k]
            p(f"| {k[4:]} | {r['runs']} | {r['ready_ms_p50']} | "
              f"{r['ready_ms_max']} | {r['dom_ms_p50']} | "
              f"{r['js_css_wire']:,} B | {r['js_css_raw']:,} B | "
              f"{r['long_tasks']} ({r['long_task_max_ms']}) |")
        p("")
        v = web.get("web-volunteer")
        if v:
            ok = v["ready_ms_max"] <= 1000
            p(f"**The volunteer page is interactive in {v['ready_ms_p50']} ms "
              f"(slowest of {v['runs']}: {v['ready_ms_max']} ms; target "
              f"<= 1 s: {verdict(ok)}), with {v['js_css_wire'] / 1024:.0f} "
              f"KB of JS and CSS on the wire (target <= 150 KB: "
              f"{verdict(v['js_css_wire'] <= 150 * 1024)}).**\n")
            targets.append(("volunteer page interactive within 1 s "
                            "(slowest cold load)",
                            f"{v['ready_ms_max']} ms", ok))
            targets.append(("volunteer page's first load <= 150 KB of "
                            "JS and CSS on the wire",
                            f"{v['js_css_wire'] / 1024:.0f} KB",
                            v["js_css_wire"] <= 150 * 1024))

    prof = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "PROFILE.md")
    if a.mode == "full" and os.path.exists(prof):
        with open(prof) as f:
            p(f.read().rstrip() + "\n")

    if a.mode == "cluster":
        return
    p("## How to read the wishd + agents figures\n")
    p("- The direct and ceiling phases post tasks nobody accepts; their "
      "offers lapse after `offer-ttl` (600 s) and wishd's sweep offers "
      "them to the next candidates. So each size of the growth runs on a "
      "fresh city (not the ceiling's), its phases with agents first and "
      "the direct phase last: that re-matching does not run under a "
      "measured phase. Below 1 M volunteers each phase gets a fresh city: "
      "a closed-loop phase assigns some 20 000 tasks, which leaves most of "
      "a 10 k city busy.")
    p("- Only v0..v9999 hold sessions from the start; in the 100 k and "
      "1 M cities most offers go to volunteers who connect on their first "
      "offer (token, hello, inbox replay, acks), which costs Redis and "
      "wishd work per match and adds the connection to the latency. The "
      "10 k city is the clean case: every volunteer is connected.")
    p("- wishd replays a new session's inbox before it delivers live "
      "events to it, 256 inbox reads at a time in hello order (the first "
      "64 entries each, more for a larger inbox); wishbench "
      "therefore says hello as the coordinator before the agents start, "
      "and waits 2 s before posting.")
    p("- All processes (redis-server, wishd, wishbench and its agents) "
      "share the 2 cores; at the closed-loop peak Redis is the busiest "
      "(about one core).\n")



def cluster_section(rows, p, targets):
    """12. direct matches on one Redis Cluster master against two."""
    runs = {}
    for k, r in rows.items():
        if k.startswith("cluster-"):
            rnd, m = k[len("cluster-"):].split("-")
            runs.setdefault(int(rnd), {})[int(m.rstrip("m"))] = r
    if not runs:
        return
    first = next(iter(next(iter(runs.values())).values()))
    p("## 12. Redis Cluster: one master against two\n")
    p("`wishbench cluster`: the direct matches of section 1 (`FCALL "
      "wish_task_post` with its offer, the settings of a wishd with "
      "`redis-cluster`: events on `SPUBLISH`), in "
      f"{int(first['cities'])} cities at once, each sent to the master "
      "that owns its `{city}` slot (wishd's CRC16 and slot-map parser, "
      "`CLUSTER SHARDS`). The cities: jinan, yantai, weifang, qingdao "
      "(slots 206, 1063, 5864, 6024) and jining, weihai, heze, linyi "
      "(8876, 10925, 14107, 14198), each seeded with "
      f"{int(first['volunteers_per_city']):,} volunteers (the same people "
      "in each, the Jinan model) and given "
      f"{int((first['ok'] + first['errors']) / first['cities']):,} posts "
      "(the same in each), so both layouts do exactly the same work. "
      "*1 master*: one redis-server holding all 16384 slots; *2 "
      "masters*: slots 0-8191 and 8192-16383, four cities each. No "
      "replicas: a replica serves no calls, and failover is not what is "
      "measured here. A fresh cluster (TCP on loopback, no persistence) "
      "for each round, both layouts up at once and posting in turns of "
      f"{int(first['ok'] / first['cities'] / first['turns'])} posts a "
      "city (which goes first alternating, the other idle meanwhile), so "
      "that both meet the same load from the rest of the machine; one "
      "wishbench process, one connection per master, 32 posts in flight "
      "on each. Redis "
      "CPU is `used_cpu_user + used_cpu_sys` of every master over the "
      "posts; *cores* is that CPU over the wall time; FCALL us is the "
      "wall time Redis spent inside each call (above the CPU time when "
      "the process waited for a core mid-call).\n")
    p("| round | masters | cities per master | matches/s | Redis CPU "
      "us/match | FCALL us/call | Redis cores | busiest master busy | "
      "wishbench CPU us/match (cores) | seed/s | bytes/volunteer |")
    p("|---|---|---|---|---|---|---|---|---|---|---|")
    sums = {1: 0.0, 2: 0.0}
    ratios = []
    for rnd in sorted(runs):
        for m in (1, 2):
            r = runs[rnd].get(m)
            if not r:
                continue
            sums[m] += r["matches_per_s"]
            p(f"| {rnd} | {m} | {r['cities_per_master']} | "
              f"{fmt(r['matches_per_s'])} | "
              f"{fmt(r['redis_cpu_us_per_match'])} | "
              f"{fmt(r['fcall_usec_per_call'])} | "
              f"{fmt(r['redis_cores'], 2)} | "
              f"{fmt(r['busiest_master_busy'], 2)} | "
              f"{fmt(r['wishbench_cpu_us_per_match'])} "
              f"({fmt(r['wishbench_cores'], 2)}) | "
              f"{fmt(r['seed_per_s'])} | "
              f"{fmt(r['bytes_per_volunteer'], 0)} |")
        if 1 in runs[rnd] and 2 in runs[rnd]:
            ratios.append(runs[rnd][2])
    p("")
    if not (sums[1] and sums[2]):
        return
    ratio = sums[2] / sums[1]
    p(f"**2 masters / 1 master = {ratio:.2f}** (matches/s summed over the "
      f"rounds; target >= 1.6 on this 2-core machine: "
      f"{verdict(ratio >= 1.6)}). Round by round, and turn by turn "
      "(min / median / max of the ratios of turns run back to back): " +
      "; ".join(f"{x['ratio']:.2f} ({x['turn_ratio_min']:.2f} / "
                f"{x['turn_ratio_median']:.2f} / "
                f"{x['turn_ratio_max']:.2f})" for x in ratios) + ".\n")
    targets.append(("2 Redis Cluster masters >= 1.6x one (direct "
                    "matches, cities spread evenly)", f"{ratio:.2f}",
                    ratio >= 1.6))
    one = [runs[k][1] for k in runs if 1 in runs[k]]
    two = [runs[k][2] for k in runs if 2 in runs[k]]
    mean = lambda rs, f: sum(x[f] for x in rs) / len(rs)
    c1, c2 = mean(one, "redis_cores"), mean(two, "redis_cores")
    u1 = mean(one, "redis_cpu_us_per_match")
    u2 = mean(two, "redis_cpu_us_per_match")
    g2 = mean(two, "wishbench_cores")
    p(f"What sets the ratio: matches/s = Redis cores used / Redis CPU "
      f"per match. Two masters used {c2:.2f} cores against {c1:.2f} for "
      f"one ({c2 / c1:.2f}x), at {u2:.0f} against {u1:.0f} us of Redis "
      f"CPU per match ({u1 / u2:.2f}x: the same work); wishbench took "
      f"{g2:.2f} of a core. Each master always had posts waiting (32 in "
      "flight), so a master busy less than 1.0 of the wall time was "
      "waiting for a core. This kernel schedules by session (autogroup, "
      "`kernel.sched_autogroup_enabled`): each busy session gets an "
      "equal slice of the 2 cores, whatever its number of processes. "
      "Each master runs in a session of its own here, as a service of "
      "its own would, so with S other busy sessions (the other builds "
      "and tests on this machine) one master gets about 2/(S+1) of a "
      "core and two get 2 x 2/(S+2) in all: the ratio tends to 2 on an "
      "idle machine and to 1 on a crowded one (1.75 with 6 others). With "
      "both masters in the bench's own session they shared one slice and "
      "two measured no faster than one (0.9-1.0 on this machine, "
      "2026-12-07).\n")
    allr = one + two
    cpu = mean(allr, "redis_cpu_us_per_match")
    bpv = mean(allr, "bytes_per_volunteer")
    p(f"For sizing (docs/operations.md, \"Sizing a cluster\"): "
      f"**{1e6 / cpu:,.0f} direct matches/s per Redis core** "
      f"({cpu:.0f} us of Redis CPU a match, all lines of this section), "
      f"and **{2 ** 30 / bpv:,.0f} volunteers per GiB** of used_memory "
      f"({bpv:.0f} bytes a volunteer as seeded here, "
      f"{int(first['volunteers_per_city']):,}-volunteer cities).\n")


def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def i19_direct_runs(rows):
    """{size: {build: [rows by round]}} of the i19-direct-BUILD-N-R lines."""
    runs = {}
    for k, r in rows.items():
        if k.startswith("i19-direct-"):
            build, n, rnd = k[len("i19-direct-"):].split("-")
            runs.setdefault(int(n), {}).setdefault(build, []).append(
                (int(rnd), r))
    for n in runs:
        for b in runs[n]:
            runs[n][b] = [r for _, r in sorted(runs[n][b],
                                               key=lambda x: x[0])]
    return runs


def i19_section(a, rows, p, notes, commit):
    """13. Issue 19's timed targets: the base build against this one."""
    base = a.base or "none"
    base_notes = [n[6:] for n in notes if n.startswith("base: ")]
    built = any(n.startswith("commit ") and "(git archive" in n
                for n in base_notes)
    p("## Issue 19 targets\n")
    if built:
        p(f"*Before* is the issue's base, commit {base}, whose wishd and "
          "wishbench (each carries the library of its commit) the run "
          "builds from `git archive` into its own directory; *now* is this "
          f"build ({commit}). Both are measured in this run, on this "
          "machine, under the same load from the other work on it: "
          "compare the ratios, not the absolute figures with other runs.")
    else:
        p(f"This build ({commit}) only: no before figures in this run.")
    for n in base_notes:
        p(f"- base: {n}")
    p("")
    runs = i19_direct_runs(rows)
    sizes = sorted(runs)
    med = {}
    for n in sizes:
        for b, rs in runs[n].items():
            med[(n, b)] = {
                f: median([r[f] for r in rs if r.get(f) is not None])
                for f in ("per_s", "fcall_usec_per_call",
                          "redis_cpu_us_per_op", "redis_calls_per_op")}

    def cell(v, unit="", digits=0):
        if v is None:
            return "not measured"
        return f"{v:,.{digits}f}{unit}"

    def ratio(now, before, digits=2):
        if now is None or before is None or not before:
            return "n/a"
        return f"{now / before:.{digits}f}x"

    table = []  # target, before, now, now/before, verdict

    # 1. mobilisation
    def mob(prefix):
        m = rows.get(f"{prefix}mobilise")
        if not m:
            return None, None, None
        seed = next((r for k, r in rows.items()
                     if k.startswith(f"seed-{prefix}mobilise-")), {})
        return m, rows.get(f"{prefix}mobilise-check"), seed
    mn, cn, sn = mob("")
    mb, cb, sb = mob("base-")

    def mob_cell(m, c):
        if not m or not m.get("assign_seconds"):
            return "not measured", None
        secs = m["assign_seconds"]
        s = f"{secs:.0f} s" if secs >= 10 else f"{secs:.1f} s"
        if int(m.get("assigned", 0)) < int(m["ok"]):
            s += (f" ({int(m['ok']) - int(m.get('assigned', 0))} of "
                  f"{int(m['ok'])} never assigned)")
        if m["errors"]:
            s += f" ({int(m['errors'])} errors)"
        if c and (c["double_booked"] or c["overfilled"]):
            s += (f" ({int(c['double_booked'])} double booked, "
                  f"{int(c['overfilled'])} over-filled)")
        return s, secs
    if mn or mb:
        ref = mn or mb
        seed = sn if mn else sb
        tasks = int(ref["ok"]) + int(ref["errors"])
        vols = int(seed.get("volunteers", 0)) if seed else 0
        real = tasks >= 100000 and vols >= 240000
        name = (f"mobilisation of {tasks:,} tasks over {vols:,} "
                "volunteers through wishd <= 30 s")
        if not real:
            name = ("REDUCED (not the target's 100 000 tasks over 240 000 "
                    "volunteers): " + name)
        b_s, b_v = mob_cell(mb, cb)
        n_s, n_v = mob_cell(mn, cn)
        ok = (mn is not None and n_v is not None and n_v <= 30 and
              not mn["errors"] and not (cn and (cn["double_booked"] or
                                                cn["overfilled"])))
        table.append((name, b_s, n_s, ratio(n_v, b_v),
                      verdict(ok) if real else "not judged (reduced)"))

    # 2. p99 at half the peak
    for n in (10000, 1000000):
        hn = rows.get(f"half-peak-{n}")
        hb = rows.get(f"base-half-peak-{n}")
        if not (hn or hb):
            continue

        def hp(h):
            if not h or h.get("asg_p99_ms") is None:
                return "not measured", None
            if not h.get("assigned"):
                return (f"no `assigned` event received at "
                        f"{h['per_s']:,.0f} posts/s", None)
            return (f"{h['asg_p99_ms']:.2f} ms at {h['per_s']:,.0f} "
                    "posts/s", h["asg_p99_ms"])
        b_s, b_v = hp(hb)
        n_s, n_v = hp(hn)
        table.append((f"post->assigned p99 < 5 ms at half the peak rate "
                      f"(open loop, {n:,} volunteers)", b_s, n_s,
                      ratio(n_v, b_v), verdict(n_v is not None and
                                               n_v < 5)))
        # (a phase with no `assigned` event has no p99: missed)

    # 3. direct matches/s
    for n in sizes:
        b = med.get((n, "base"), {}).get("per_s")
        w = med.get((n, "now"), {}).get("per_s")
        table.append((f"direct matches/s >= 4x the base's ({n:,} "
                      "volunteers, median of the interleaved runs)",
                      cell(b, "/s"), cell(w, "/s"), ratio(w, b),
                      verdict(b is not None and w is not None and
                              w >= 4 * b) if b else "no base"))

    # 4. flat growth
    lo, hi = (sizes[0], sizes[-1]) if len(sizes) >= 2 else (None, None)
    growth = {}
    if lo is not None:
        for b in ("base", "now"):
            x = med.get((lo, b), {}).get("fcall_usec_per_call")
            y = med.get((hi, b), {}).get("fcall_usec_per_call")
            growth[b] = y / x if x and y else None
        real = lo == 10000 and hi == 1000000
        name = (f"FCALL time per post at {hi:,} volunteers over at "
                f"{lo:,} <= 1.3 (medians, direct)")
        if not real:
            name = "REDUCED (the target is 1 M over 10 k): " + name
        g = growth.get("now")

        def gcell(b):
            x = med.get((lo, b), {}).get("redis_cpu_us_per_op")
            y = med.get((hi, b), {}).get("redis_cpu_us_per_op")
            cpu = f" (Redis CPU {y / x:.2f})" if x and y else ""
            return cell(growth.get(b), "", 2) + (
                cpu if growth.get(b) is not None else "")
        table.append((name, gcell("base"), gcell("now"),
                      ratio(g, growth.get("base")),
                      (verdict(g is not None and g <= 1.3) if real
                       else "not judged (sizes)")))

    p(f"| target | before ({base}) | now | now / before | commit | |")
    p("|---|---|---|---|---|---|")
    for name, b, w, r, v in table:
        p(f"| {name} | {b} | {w} | {r} | {commit} | {v} |")
    p("")
    p("*now / before*: below 1 is better for times and ratios of times, "
      "above 1 for matches/s. Mobilisation and latency are one run of "
      "each build, the base's first; matches/s and FCALL times are "
      "medians of interleaved runs.\n")

    gd = {n: rows.get(f"grow-direct-{n}") for n in (10000, 1000000)}
    if all(gd.values()):
        lo_r, hi_r = gd[10000], gd[1000000]
        p("The growth section's own direct phases (one 10 s run a size, the "
          "1 M one after the agents' phases on its city) give FCALL us at "
          "1 M / at 10 k = "
          f"{hi_r['fcall_usec_per_call'] / lo_r['fcall_usec_per_call']:.2f}"
          " (Redis CPU "
          f"{hi_r['redis_cpu_us_per_op'] / lo_r['redis_cpu_us_per_op']:.2f}"
          "): FCALL us is wall time inside the call, which grows when "
          "Redis waits for a core mid-call; the table's figure is the "
          "median of interleaved runs.\n")
    if sizes:
        p("### Direct matches, the two libraries interleaved\n")
        p("Two redis-servers (unix sockets, no persistence) up at once, "
          "each seeded with the same city by its build's `wishbench seed`; "
          "rounds of `wishbench direct --pipeline 32 --requests N` (the "
          "same tasks for both builds in a round, a round's seed) run "
          "base, now, base, now ...: one Redis driven at a time, the "
          "main Redis and wishd stopped. Below 1 M volunteers both cities "
          "are seeded afresh before each round; the 1 M cities once. "
          "*matches/s* is posts answered per second (each post with its "
          "match and offer, as section 1's direct); FCALL us is Redis's "
          "`usec_per_call` of the FCALL (wall time inside the call); "
          "Redis CPU is its user + sys time over the run.\n")
        p("| volunteers | round | build | posts | matches/s | FCALL us "
          "| Redis CPU us/post | Redis calls/post |")
        p("|---|---|---|---|---|---|---|---|")
        for n in sizes:
            nr = max(len(v) for v in runs[n].values())
            for i in range(nr):
                for b in ("base", "now"):
                    rs = runs[n].get(b, [])
                    if i < len(rs):
                        r = rs[i]
                        p(f"| {n:,} | {i + 1} | {b} | {int(r['ok']):,} | "
                          f"{fmt(r['per_s'])} | "
                          f"{fmt(r['fcall_usec_per_call'])} | "
                          f"{fmt(r['redis_cpu_us_per_op'])} | "
                          f"{fmt(r.get('redis_calls_per_op'))} |")
        p("")
        for n in sizes:
            b, w = med.get((n, "base")), med.get((n, "now"))
            parts = []
            for key, what in (("per_s", "matches/s"),
                              ("fcall_usec_per_call", "FCALL us"),
                              ("redis_cpu_us_per_op", "Redis CPU us/post")):
                if b and w and b[key] and w[key]:
                    parts.append(f"{what} {b[key]:,.1f} -> {w[key]:,.1f} "
                                 f"({w[key] / b[key]:.2f}x)")
                elif w and w[key]:
                    parts.append(f"{what} {w[key]:,.1f}")
            p(f"- {n:,} volunteers, medians base -> now: "
              + "; ".join(parts) + ".")
        p("")
        if growth:
            for b in ("base", "now"):
                lo_c = med.get((lo, b), {}).get("redis_cpu_us_per_op")
                hi_c = med.get((hi, b), {}).get("redis_cpu_us_per_op")
                if growth.get(b) is not None:
                    cpu = (f"; Redis CPU per post {hi_c / lo_c:.2f}"
                           if lo_c and hi_c else "")
                    p(f"- growth, {b}: FCALL us at {hi:,} / at {lo:,} = "
                      f"**{growth[b]:.2f}**{cpu}.")
            p("")
        for n in sizes:
            seeds = [(k, r) for k, r in rows.items()
                     if k.startswith(f"i19-seed-") and
                     k.split("-")[3] == str(n) and k.endswith("-1")]
            for k, r in sorted(seeds):
                p(f"- seed {k.split('-')[2]} at {n:,}: "
                  f"{fmt(r['per_s'])} volunteers/s, "
                  f"{fmt(r['bytes_per_volunteer'], 0)} bytes a volunteer.")
        p("")

    hps = [(pre, rows.get(f"{pre}half-peak-10000"),
            rows.get(f"{pre}grow-wishd-10000")) for pre in ("base-", "")]
    if any(h for _, h, _ in hps):
        p("### Latency at half the peak, each build's own peak\n")
        p("A fresh 10 k city, agents accepting every offer: the closed-loop "
          "peak (8 x 4 in flight), then on another fresh city open loop "
          "at half that peak (8 connections, 64 in flight at most), "
          "post->`assigned` latency of the posts after the 3 s warm-up. "
          "The base first, then this build: not interleaved (each phase "
          "needs its own wishd and city).\n")
        p("| build | peak matches/s | offered posts/s | post->assigned p50 "
          "/ p99 / p99.9 ms | assigned | late | errors |")
        p("|---|---|---|---|---|---|---|")
        for pre, h, g in hps:
            if not h:
                continue
            peak = g.get("matches_per_s", g.get("per_s")) if g else None
            p(f"| {'base' if pre else 'now'} | {fmt(peak)} | "
              f"{fmt(h['per_s'])} | {fmt(h.get('asg_p50_ms'), 2)} / "
              f"{fmt(h.get('asg_p99_ms'), 2)} / "
              f"{fmt(h.get('asg_p999_ms'), 2)} | "
              f"{int(h.get('assigned', 0))} | {int(h['late'])} | "
              f"{int(h['errors'])} |")
        p("")

    if mn or mb:
        p("### Mobilisation, before and now\n")
        p("`wishbench wishd --requests N --agents 10000 --max-sessions "
          "5000`: the tasks as fast as they come (8 connections x 4 in "
          "flight, UNAVAILABLE answers posted again) on a fresh city, "
          "agents accepting; the time is from the first post to the last "
          "`assigned`; then `wishbench check` (the library's "
          "`wish_check`). The base first, then this build.\n")
        p("| build | volunteers | tasks posted | assigned | last assigned "
          "after s | matches/s | post->assigned p50 / p99 ms | errors | "
          "double booked / over-filled |")
        p("|---|---|---|---|---|---|---|---|---|")
        for name, m, c, sd in (("base", mb, cb, sb), ("now", mn, cn, sn)):
            if not m:
                continue
            p(f"| {name} | {fmt(sd.get('volunteers') if sd else None)} | "
              f"{int(m['ok']):,} | {int(m.get('assigned', 0)):,} | "
              f"{fmt(m.get('assign_seconds'))} | "
              f"{fmt(m.get('matches_per_s'))} | "
              f"{fmt(m.get('asg_p50_ms'), 1)} / "
              f"{fmt(m.get('asg_p99_ms'), 1)} | {int(m['errors'])} | "
              + (f"{int(c['double_booked'])} / {int(c['overfilled'])}"
                 if c else "n/a") + " |")
        p("")
    if not built:
        p("No before figures: the base was not built (see above).\n")


def targets_section(a, rows, p, targets):
    """The targets met and missed, and the phases that did not run."""
    p("## Targets\n")
    p("| target | measured | |")
    p("|---|---|---|")
    for name, val, ok in targets:
        p(f"| {name} | {val} | {verdict(ok)} |")
    p("")
    wanted = ["ceil-direct-1", "grow-direct-1000000", "half-peak-10000",
              "mobilise", "quality-1000", "conns-10000", "crowd-1000",
              "logins-19456-2", "logins-65536-3", "logins-1024-1",
              "rtt-ping-ws-1", "rtt-post-ws-1", "idle-ws", "idle-tcp",
              "web-volunteer", "web-resident", "cluster-1-1m",
              "cluster-1-2m"]
    missing = [w for w in wanted if w not in rows]
    if a.mode == "full" and missing:
        p("Phases that produced no line in this run: "
          + ", ".join(f"`{w}`" for w in missing) + ".\n")
    if a.mode == "quick":
        p("The quick run measures 1, 2, 8, 9 (two KDF costs), 10 "
          "(2 000 idle sessions) and 11 (5 loads a page) only; "
          "`make bench` runs all.\n")


if __name__ == "__main__":
    main()

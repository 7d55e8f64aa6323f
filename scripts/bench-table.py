#!/usr/bin/env python3
"""Runs the benchmark table of docs/benchmarks.md: every measurement 3 times on this machine,
printing the median of each as a Markdown table. Needs a release build and, for the peer,
Debian's ngircd (apt-get install -y ngircd).

Usage: scripts/bench-table.py [--runs N] [--quick] [--only load,idle,history]

ngircd accepts idle connections slowly (about ten a second here), so its idle row is one run at
5,000 connections only.
"""
import functools
import re
import statistics
import subprocess
import sys
from pathlib import Path

# Each row as soon as it is measured: a long run stopped part-way keeps what it has.
print = functools.partial(print, flush=True)  # noqa: A001

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "target" / "release" / "chat-bench"
RUNS = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
QUICK = "--quick" in sys.argv
ONLY = (sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv
        else ["load", "idle", "history"])

TARGETS = [
    ("chat-server, sled", ["--spawn", "sled"]),
    ("chat-server, SQLite", ["--spawn", "sqlite"]),
    ("chat-server, sled, --keep-data", ["--spawn", "sled", "--server-flag=--keep-data"]),
    ("chat-server, SQLite, --keep-data", ["--spawn", "sqlite", "--server-flag=--keep-data"]),
    ("ngircd (stores nothing)", ["--spawn", "ngircd"]),
]


def bench(args):
    done = subprocess.run([str(BENCH), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"chat-bench {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def number(pattern, text):
    found = re.search(pattern, text)
    if not found:
        raise SystemExit(f"no {pattern!r} in:\n{text}")
    return float(found.group(1))


def median_of(args, patterns, runs=None):
    runs = [bench(args) for _ in range(runs or RUNS)]
    return [statistics.median(number(p, r) for r in runs) for p in patterns]


def main():
    if "--help" in sys.argv or "-h" in sys.argv:
        print(__doc__)
        return
    subprocess.run(["cargo", "build", "--release", "--bins", "--quiet"], cwd=ROOT, check=True)
    clients, messages = (20, 1000) if QUICK else (100, 5000)
    rate_clients, seconds = (100, 2) if QUICK else (1000, 10)
    print(f"Medians of {RUNS} runs.\n")
    if "load" in ONLY:
        load_table(clients, messages, rate_clients, seconds)
    if "idle" in ONLY:
        idle_table()
    if "history" in ONLY:
        history_table()


def load_table(clients, messages, rate_clients, seconds):
    print(f"| server | throughput, {clients} x {messages} (W=50), msg/s | server CPU, us/msg "
          f"| load generator CPU | p50 / p99 at 2,000 msg/s over {rate_clients} clients, us |")
    print("| --- | --- | --- | --- | --- |")
    for label, target in TARGETS:
        rate, cpu, own = median_of(
            ["throughput", "--clients", str(clients), "--messages", str(messages),
             "--window", "50", *target],
            [r": (\d+) messages/s", r"CPU [\d.]+ s: ([\d.]+) us a message",
             r"load generator CPU (\d+)%"])
        p50, p99 = median_of(
            ["rate", "--clients", str(rate_clients), "--per-second", "2000",
             "--seconds", str(seconds), *target],
            [r"p50 (\d+)", r"p99 (\d+)"])
        print(f"| {label} | {rate:,.0f} | {cpu:.2f} | {own:.0f}% | {p50:,.0f} / {p99:,.0f} |")
    # The floor under the --keep-data rows: every such commit waits for one of these.
    sync50, sync99 = median_of(["fsync", "--syncs", "500"],
                               [r"p50 (\d+)", r"p99 (\d+)"])
    print(f"\nThis disk's 16 KiB append + fdatasync: p50 {sync50:,.0f} us, p99 {sync99:,.0f} us.")



def idle_table():
    print("\n| server | KiB a connection, 5,000 idle | KiB a connection, 19,000 idle |")
    print("| --- | --- | --- |")
    # chat-server refuses connections past --max-connections (10,000 by default).
    roomy = ["--server-flag=--max-connections=30000"]
    sizes = [500, 1000] if QUICK else [5000, 19000]
    for label, target in [(TARGETS[0][0], TARGETS[0][1] + roomy),
                          (TARGETS[1][0], TARGETS[1][1] + roomy)]:
        # 19,000: this machine's hard limit of 20,000 open files must also hold the bench's own.
        row = [median_of(["idle", "--connections", str(n), *target],
                         [r"([\d.]+) KiB a connection"])[0] for n in sizes]
        print(f"| {label} | {row[0]:.2f} | {row[1]:.2f} |")
    label, target = TARGETS[4]
    one = median_of(["idle", "--connections", str(sizes[0]), *target],
                    [r"([\d.]+) KiB a connection"], runs=1)[0]
    print(f"| {label} | {one:.2f} (one run) | not measured |")


def history_table():
    stored = 10_000 if QUICK else 1_000_000
    print(f"\n| store | history page of 50 in {stored:,} messages: newest, half way, "
          f"oldest (p50 / p99 client round trip, us) |")
    print("| --- | --- |")
    for store in ["sled", "sqlite"]:
        values = median_of(
            ["history", "--store", store, "--messages", str(stored), "--reads", "200"],
            [r"newest page\s+p50\s+(\d+)", r"newest page\s+p50\s+\d+ us\s+p99\s+(\d+)",
             r"50.0% back\s+p50\s+(\d+)", r"50.0% back\s+p50\s+\d+ us\s+p99\s+(\d+)",
             r"99.9% back\s+p50\s+(\d+)", r"99.9% back\s+p50\s+\d+ us\s+p99\s+(\d+)"])
        cells = ", ".join(f"{values[i]:.0f} / {values[i + 1]:.0f}" for i in range(0, 6, 2))
        print(f"| {store} | {cells} |")


if __name__ == "__main__":
    main()

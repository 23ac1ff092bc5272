#!/usr/bin/env python3
"""Pending executions at scale (docs/performance.md): starts a release flowd on a fresh SQLite
file, starts N registrations over the WSO2 API and leaves each one waiting at its first prompt,
and prints, every STEP executions, the database's bytes per execution and the server's RSS.

usage: scripts/measure-pending.py [N] [STEP]   (defaults 100000 and 10000)
Needs target/release/flowd (cargo build --release -p flowd).
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

TOTAL = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
STEP = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
THREADS = 8
PORT = 18197
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def start_server(directory):
    env = dict(os.environ)
    env.update({
        "FLOWD_DATABASE_URL": f"sqlite://{directory}/flowd.db",
        "FLOWD_LISTEN": f"127.0.0.1:{PORT}",
        "FLOWD_RATE_LIMIT_PER_MINUTE": "0",
        "FLOWD_LOG": "warn",
    })
    log = open(os.path.join(directory, "flowd.log"), "wb")
    server = subprocess.Popen([os.path.join(ROOT, "target/release/flowd")], env=env,
                              stdout=log, stderr=log)
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    sys.exit("flowd did not start; see " + log.name)


def start_registrations(count, failures):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    body = json.dumps({"flowType": "REGISTRATION"})
    for _ in range(count):
        conn.request("POST", "/api/server/v1/flow/execute", body,
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = json.loads(response.read())
        if response.status != 200 or answer.get("flowStatus") != "INCOMPLETE":
            failures.append((response.status, answer))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stored_bytes(directory):
    return sum(os.path.getsize(os.path.join(directory, name))
               for name in os.listdir(directory) if name.startswith("flowd.db"))


def main():
    directory = tempfile.mkdtemp(prefix="flowd-pending-")
    server = start_server(directory)
    try:
        base_bytes = stored_bytes(directory)
        print("| pending executions | bytes stored per execution | server RSS (MiB) |")
        print("|---:|---:|---:|")
        print(f"| 0 | | {rss_kib(server.pid) / 1024:.0f} |")
        done = 0
        failures = []
        while done < TOTAL:
            batch = min(STEP, TOTAL - done)
            threads = [threading.Thread(target=start_registrations,
                                        args=(batch // THREADS + (i < batch % THREADS), failures))
                       for i in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if failures:
                sys.exit(f"{len(failures)} starts failed, first: {failures[0]}")
            done += batch
            per_execution = (stored_bytes(directory) - base_bytes) / done
            print(f"| {done:,} | {per_execution:,.0f} | {rss_kib(server.pid) / 1024:.0f} |",
                  flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()

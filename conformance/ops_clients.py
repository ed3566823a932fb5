"""Clients of conformance/ops.sh (issue 23), with Debian's python3-pyvo and astropy.

  smoke URL                     pyvo: a sync query, an async job, the table listing
  load URL CONTAINER DRAIN OUT  50 streaming sync queries and 20 async jobs, then SIGTERM to
                                the container under that load; writes the job ids to OUT
  jobs URL IDS                  after the restart: every job of IDS reaches COMPLETED

Each check prints PASS or FAIL and figures; the exit status is the number of failures.
"""
import io
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import re

import pyvo
from astropy.io.votable import parse

failures = 0


def check(name, ok, detail=""):
    global failures
    if ok:
        print(f"PASS {name}{': ' + detail if detail else ''}")
    else:
        failures += 1
        print(f"FAIL {name}{': ' + detail if detail else ''}")


def smoke(url):
    service = pyvo.dal.TAPService(url)
    result = service.search("SELECT TOP 5 source_id, ra, dec FROM demo.sources ORDER BY source_id")
    check("pyvo sync query", len(result.to_table()) == 5, f"{len(result)} rows")
    job = service.submit_job("SELECT COUNT(*) AS n FROM demo.sources")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=120)
    n = int(job.fetch_result().to_table()["n"][0]) if job.phase == "COMPLETED" else -1
    check("pyvo async job", job.phase == "COMPLETED" and n > 0, f"{job.phase}, count {n}")
    job.delete()
    names = [t.name for t in service.tables]
    check("pyvo table listing", "demo.sources" in names and "tap_schema.tables" in [n.lower() for n in names], f"{len(names)} tables")


# Rows of stream i: from 2,000 to about 800,000 (6.8 million in all), so that some finish during the drain
# and the largest are cut by it.
STREAMS = 50
JOBS = 20
ROWS = [int(2000 * 1.13**i) for i in range(STREAMS)]
# The last SLOW streams scan all 400 million pairs of the demo table for the few that match,
# sending rows as they are found: they outlast any drain on any machine, so the cut is
# always exercised, whatever the speed of the others.
SLOW = 3
SLOW_QUERY = (
    "SELECT a.source_id, b.source_id AS other FROM demo.sources AS a, demo.sources AS b "
    "WHERE a.ra - b.ra BETWEEN 0 AND 0.00001"
)
STATUS = re.compile(rb'<INFO name="QUERY_STATUS" value="(\w+)"(?:/>|>([^<]*)</INFO>)')
JOB_QUERY = (
    "SELECT COUNT(*) AS n FROM demo.sources AS a, demo.sources AS b "
    "WHERE a.source_id < {k} AND a.flux_int > b.flux_int"
)


def post(url, fields, timeout=60):
    data = urllib.parse.urlencode(fields).encode()
    return urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=timeout)


def phase_of(url, job_id):
    with urllib.request.urlopen(f"{url}/async/{job_id}/phase", timeout=30) as r:
        return r.read().decode().strip()


class Stream(threading.Thread):
    """One streaming query read by curl (C reads as fast as the node sends; 50 Python readers
    sharing one interpreter would be the bottleneck, and a slow reader is cut at the deadline)."""

    def __init__(self, url, i, folder):
        super().__init__(daemon=True)
        self.url, self.i = url, i
        self.path = os.path.join(folder, f"stream-{i}.xml")
        self.head = self.path + ".headers"
        self.body = b""
        self.status = None
        self.error = None

    def started(self):
        try:
            return os.path.getsize(self.head) > 0 or not self.is_alive()
        except OSError:
            return not self.is_alive()

    def run(self):
        fmt = "votable/td" if self.i % 10 == 0 else "votable"
        q = f"SELECT TOP {ROWS[self.i]} a.source_id, a.ra, b.dec FROM demo.sources AS a, demo.sources AS b"
        if self.i >= STREAMS - SLOW:
            q = SLOW_QUERY
        r = subprocess.run(
            ["curl", "-sS", "-o", self.path, "-D", self.head, "-w", "%{http_code}", "--max-time", "600",
             "-d", "LANG=ADQL", "--data-urlencode", f"QUERY={q}", "-d", "MAXREC=10000000",
             "-d", f"RESPONSEFORMAT={fmt}", f"{self.url}/sync"],
            capture_output=True, text=True,
        )
        self.status = int(r.stdout or 0)
        if r.returncode != 0:
            self.error = f"curl exit {r.returncode}: {r.stderr.strip()[:80]}"
        if os.path.exists(self.path):
            with open(self.path, "rb") as f:
                self.body = f.read()


def judge(stream):
    """'completed', 'cut' (QUERY_STATUS ERROR after the rows) or 'refused' (an error document); None if malformed."""
    if stream.error or not stream.body:
        return None, stream.error or "empty body"
    try:
        votable = parse(io.BytesIO(stream.body), verify="warn")
    except Exception as e:  # noqa: BLE001
        return None, f"not a VOTable: {e}"
    # astropy's parser (expat) has checked the document is well-formed; the statuses lead
    # and close the results RESOURCE (DALI-44, DALI-46).
    body = stream.body
    ends = body if len(body) <= 16384 else body[:8192] + b" " + body[-8192:]
    infos = STATUS.findall(ends)
    statuses = [i[0].decode() for i in infos]
    tables = votable.get_first_table() if stream.status == 200 else None
    rows = len(tables.array) if tables is not None else 0
    if stream.status == 200 and statuses[-1:] == ["ERROR"]:
        return "cut", f"{rows} rows then ERROR: {infos[-1][1].decode().strip()[:60]}"
    if stream.status == 200 and "ERROR" not in statuses and (rows == ROWS[stream.i] or stream.i >= STREAMS - SLOW):
        return "completed", f"{rows} rows"
    if stream.status != 200 and statuses == ["ERROR"]:
        return "refused", infos[0][1].decode().strip()[:60]
    return None, f"status {stream.status}, {rows} rows, QUERY_STATUS {statuses}"


def terminate(target):
    """SIGTERM to a container (podman) or, as pid:N, to a process; returns its exit code."""
    if not target.startswith("pid:"):
        subprocess.run(["podman", "kill", "--signal", "TERM", target], check=True, capture_output=True)
        return subprocess.run(["podman", "wait", target], capture_output=True, text=True).stdout.strip()
    # A process that is not our child: its exit code is for its parent (the shell) to read.
    pid = int(target[4:])
    os.kill(pid, signal.SIGTERM)
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "0"
        time.sleep(0.05)


def load(url, container, drain, out):
    # The jobs first; once one executes (the rest wait in the queue) the 50 queries start,
    # and SIGTERM comes as soon as the first of them answers: some are still connecting then,
    # through podman's port forwarder, and must get an answer (a refusal document), not a reset.
    deadline = time.time() + 300
    ids = []
    for j in range(JOBS):
        with post(f"{url}/async", {"LANG": "ADQL", "QUERY": JOB_QUERY.format(k=1500 + j), "PHASE": "RUN"}) as r:
            ids.append(r.url.rstrip("/").rsplit("/", 1)[1])
    with open(out, "w") as f:
        f.write("\n".join(ids) + "\n")
    while time.time() < deadline and "EXECUTING" not in {phase_of(url, i) for i in ids}:
        time.sleep(0.1)
    folder = os.path.dirname(os.path.abspath(out))
    streams = [Stream(url, i, folder) for i in range(STREAMS)]
    for s in streams:
        s.start()
    while time.time() < deadline and not any(s.started() for s in streams):
        time.sleep(0.05)
    started = sum(1 for s in streams if s.is_alive())
    t0 = time.time()
    code = terminate(container)
    print(f"load: SIGTERM sent, node gone after {time.time() - t0:.1f} s", flush=True)
    exited = time.time() - t0
    for s in streams:
        s.join(60)
    print(f"load: {started} of {STREAMS} streams running at SIGTERM (the node's count follows)")
    check("the node exits 0 after SIGTERM", code == "0", f"exit code {code}")
    # The drain is bounded by the node's own timers; podman's stop and wait add a little.
    check(
        f"it exits within the drain time (VONODE_DRAIN_SECONDS={drain})",
        exited <= drain + 3,
        f"{exited:.1f} s from SIGTERM to exit",
    )
    counts = {"completed": 0, "cut": 0, "refused": 0}
    bad = []
    reasons = set()
    for s in streams:
        kind, detail = judge(s)
        if kind is None:
            bad.append(f"stream {s.i} ({ROWS[s.i]} rows): {detail}")
        else:
            counts[kind] += 1
            if kind != "completed":
                reasons.add(detail.split(": ", 1)[-1])
    for r in sorted(reasons):
        print(f"  ended early: {r}")
    for b in bad[:10]:
        print(f"  malformed: {b}")
    check(
        f"every one of the {STREAMS} streams ends in a well-formed VOTable",
        not bad,
        f"{counts['completed']} completed, {counts['cut']} cut with QUERY_STATUS ERROR, "
        f"{counts['refused']} refused with an error document, {len(bad)} malformed",
    )
    early = counts["cut"] + counts["refused"]
    check(
        "the drain ended some streams early, each as a document (the slow ones always)",
        early >= SLOW,
        f"{counts['cut']} cut after their rows, {counts['refused']} ended before their first row",
    )


def jobs(url, ids_file):
    ids = [line.strip() for line in open(ids_file) if line.strip()]
    deadline = time.time() + 600
    phases = {}
    while time.time() < deadline:
        phases = {i: phase_of(url, i) for i in ids}
        if all(p in ("COMPLETED", "ERROR", "ABORTED") for p in phases.values()):
            break
        time.sleep(0.5)
    done = sum(1 for p in phases.values() if p == "COMPLETED")
    check(f"after the restart all {len(ids)} async jobs reach COMPLETED", done == len(ids), f"{done} COMPLETED, phases {sorted(set(phases.values()))}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "smoke":
        smoke(sys.argv[2])
    elif cmd == "load":
        load(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif cmd == "jobs":
        jobs(sys.argv[2], sys.argv[3])
    sys.exit(failures)

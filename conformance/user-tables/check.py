"""User tables over CADC's youcat protocol against a live vonode (issue 16, acceptance).

Usage (conformance/user-tables.sh runs it; tokens come through the environment):
  USER_TABLES_TOKEN_ALICE=... USER_TABLES_TOKEN_BOB=... USER_TABLES_TOKEN_CAROL=... \
  /usr/bin/python3 conformance/user-tables/check.py STEP BASE_URL DATA_DIR ROWS QUOTA_ROWS

STEP is `main` (the whole scenario) or `quota` (the node runs with a per-user row quota of
QUOTA_ROWS). alice is in team-a, bob in team-b, carol in team-c.

The table-management requests are the ones pyvo 1.9 sends (pyvo/dal/tap.py, read, not copied:
Debian's pyvo 1.2 has no create_table, load_table, create_index or remove_table), written with
requests; each helper says which pyvo method it stands for. The permissions calls are the ones
of CADC's cadc-tap client (cadctap/core.py set_permissions, get_permissions) and youcat's
x-vosi-* request headers. Queries and the upload crossmatch use Debian's pyvo 1.2 as a user
would. Each check prints PASS or FAIL with its time; the exit status is the number of failures
(at most 100).
"""
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from io import BytesIO
from urllib.parse import urlsplit

import numpy as np
import pyvo
import requests
from astropy.io import fits
from astropy.io.votable import from_table
from astropy.table import Table

STEP, BASE, DATA_DIR = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
ROWS, QUOTA_ROWS = int(sys.argv[4]), int(sys.argv[5])
TAP = f"{BASE}/tap"
TOKENS = {who: os.environ[f"USER_TABLES_TOKEN_{who.upper()}"] for who in ("alice", "bob", "carol")}
SCHEMA = "user_alice"  # alice's schema: user_<subject> (issue 16, item 2)
TABLE = f"{SCHEMA}.sources"
failures = 0
state = {}


def check(name, fn):
    global failures
    t0 = time.time()
    try:
        detail = fn()
        print(f"PASS {name} ({time.time() - t0:.2f} s){': ' + detail if detail else ''}", flush=True)
        return True
    except Exception as exc:  # noqa: BLE001 - report every failure and go on
        failures += 1
        msg = str(exc).replace("\n", " ")[:700]
        print(f"FAIL {name} ({time.time() - t0:.2f} s): {type(exc).__name__}: {msg}", flush=True)
        return False


def session(who=None):
    s = requests.Session()
    if who:
        s.headers["Authorization"] = f"Bearer {TOKENS[who]}"
    return s


http = {who: session(who) for who in ("alice", "bob", "carol")}
http["anonymous"] = session()
tap = {who: pyvo.dal.TAPService(TAP, session=s) for who, s in http.items()}

# ---------------------------------------------------------------------------------------------
# The rows: row i is a closed form (a golden-angle spiral on the sphere), so any row can be
# written again for the crossmatch and the checks without keeping the table in memory.

# ra steps by the golden ratio's fraction of a turn, sin(dec) by sqrt(2)'s: two independent
# irrationals, so the points fill the sphere evenly (a Kronecker sequence), none on another's
# heels (the same irrational for both would put them all on one curve).
GOLDEN_ANGLE = 180.0 * (3.0 - math.sqrt(5.0))
SQRT2_FRACTION = math.sqrt(2.0) - 1.0
BANDS = np.array(["g", "r", "i", "z"])
COLUMNS = ["id", "ra", "dec", "mag", "band"]
# The node adds the HEALPix index column of a table with a position (ra, dec with the
# pos.eq.*;meta.main UCDs): published, so it may be listed after the defined columns.
GENERATED = {"healpix"}


def same_columns(names, ordered=True):
    names = list(names)
    rest = names[len(COLUMNS):] if ordered else sorted(set(names) - set(COLUMNS))
    head = names[:len(COLUMNS)] if ordered else sorted(set(names) & set(COLUMNS))
    return head == (COLUMNS if ordered else sorted(COLUMNS)) and set(rest) <= GENERATED


def make_rows(start, stop):
    return rows_at(np.arange(start, stop, dtype=np.int64))


def rows_at(i):
    ra = (i * GOLDEN_ANGLE) % 360.0
    dec = np.degrees(np.arcsin(((i + 0.5) * SQRT2_FRACTION) % 1.0 * 2.0 - 1.0))
    mag = (14.0 + (i % 1000) / 100.0).astype(np.float32)
    return {"id": i, "ra": ra, "dec": dec, "mag": mag, "band": BANDS[i % 4]}


def text_rows(start, stop, sep):
    r = make_rows(start, stop)
    lines = [
        f"{a}{sep}{b!r}{sep}{c!r}{sep}{d:.2f}{sep}{e}"
        for a, b, c, d, e in zip(r["id"].tolist(), r["ra"].tolist(), r["dec"].tolist(), r["mag"].tolist(),
                                 r["band"].tolist())
    ]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def tsv_stream(start, stop, chunk=50000, header=True):
    """The rows as TSV, produced chunk by chunk while they are sent: never whole in memory."""
    if header:
        yield ("\t".join(COLUMNS) + "\n").encode()
    for s in range(start, stop, chunk):
        yield text_rows(s, min(stop, s + chunk), "\t")


def csv_file(start, stop, path):
    with open(path, "wb") as f:
        f.write((",".join(COLUMNS) + "\n").encode())
        for s in range(start, stop, 50000):
            f.write(text_rows(s, min(stop, s + 50000), ","))


def fits_file(start, stop, path):
    r = make_rows(start, stop)
    Table({k: r[k] for k in COLUMNS}).write(path, format="fits", overwrite=True)


def vosi_definition(name, columns=None, description="alice's sources"):
    """A VOSI <vosi:table> as pyvo's documentation and cadc-tap's createTable.vosi write it."""
    columns = columns or [
        ("id", "long", None, "row number", "meta.id;meta.main", None),
        ("ra", "double", None, "right ascension", "pos.eq.ra;meta.main", "deg"),
        ("dec", "double", None, "declination", "pos.eq.dec;meta.main", "deg"),
        ("mag", "float", None, "magnitude", "phot.mag", "mag"),
        ("band", "char", "8*", "photometric band", "instr.bandpass", None),
    ]
    cols = []
    for cname, datatype, arraysize, desc, ucd, unit in columns:
        size = f' arraysize="{arraysize}"' if arraysize else ""
        cols.append(
            "  <column>\n"
            f"    <name>{cname}</name>\n"
            f"    <description>{desc}</description>\n"
            + (f"    <unit>{unit}</unit>\n" if unit else "")
            + (f"    <ucd>{ucd}</ucd>\n" if ucd else "")
            + f'    <dataType xsi:type="vod:VOTableType"{size}>{datatype}</dataType>\n'
            "  </column>\n")
    return (
        '<vosi:table xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" '
        'xmlns:vod="http://www.ivoa.net/xml/VODataService/v1.1" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" type="output">\n'
        f"  <name>{name}</name>\n"
        f"  <description>{description}</description>\n"
        + "".join(cols) + "</vosi:table>\n").encode()


# ---------------------------------------------------------------------------------------------
# The youcat requests. TABLE_DEF_FORMAT / TABLE_UPLOAD_FORMAT in pyvo 1.9 map its format names to
# these content types.

DEF_TYPES = {"VOSITable": "text/xml", "VOTable": "application/x-votable+xml"}
LOAD_TYPES = {"tsv": "text/tab-separated-values", "csv": "text/csv", "FITSTable": "application/fits"}


def create_table(who, name, definition, fmt="VOSITable", headers=None):
    """pyvo TAPService.create_table(name, definition, format=fmt): PUT <tap>/tables/<name> with
    the definition as the body and only Content-Type set (the x-vosi-* headers are youcat's,
    sent by cadc-tap, not by pyvo)."""
    h = {"Content-Type": DEF_TYPES[fmt], **(headers or {})}
    return http[who].put(f"{TAP}/tables/{name}", headers=h, data=definition, timeout=300)


def load_table(who, name, source, fmt="tsv"):
    """pyvo TAPService.load_table(name, source, format=fmt): POST <tap>/load/<name>, the source
    stream as the body. pyvo hands the stream to requests as it is: a file goes out with its
    Content-Length, a stream of unknown length (here a generator) chunked."""
    return http[who].post(f"{TAP}/load/{name}", headers={"Content-Type": LOAD_TYPES[fmt]}, data=source,
                          timeout=1800)


def remove_table(who, name):
    """pyvo TAPService.remove_table(name): DELETE <tap>/tables/<name>."""
    return http[who].delete(f"{TAP}/tables/{name}", timeout=300)


UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
ACTIVE = {"QUEUED", "EXECUTING", "RUN", "COMPLETED", "ERROR", "UNKNOWN"}


def uws_job(who, url, wait=False):
    r = http[who].get(url, params={"WAIT": "-1"} if wait else None, timeout=600 if wait else 10)
    r.raise_for_status()
    root = ET.fromstring(r.content)
    phase = root.findtext(f"{UWS}phase")
    message = root.findtext(f"{UWS}errorSummary/{UWS}message") or ""
    return phase, message.strip()


def create_index(who, table, column, unique=False):
    """pyvo TAPService.create_index(table, column, unique=...): POST <tap>/table-update with the
    form fields table, index, unique ('true'/'false') and no redirect following; anything but
    303 is a server bug to pyvo. Then AsyncTAPJob(Location): GET the job, POST PHASE=RUN to
    <job>/phase, wait (GET <job>?WAIT=-1 until COMPLETED, ERROR or ABORTED, failing on a phase
    outside its active set, sleeping 1 s growing by 1.2 between polls) and raise_if_error.
    Returns (phase, error message, job URL)."""
    r = http[who].post(f"{TAP}/table-update", data={"table": table, "index": column,
                                                    "unique": "true" if unique else "false"},
                       allow_redirects=False, timeout=60)
    if r.status_code != 303:
        return None, f"HTTP {r.status_code} where pyvo needs 303: {message_of(r)}", None
    url = r.headers.get("Location")
    assert url, "303 without a Location"
    assert urlsplit(url).scheme in ("http", "https"), f"Location {url!r} is not absolute: pyvo GETs it as it is"
    uws_job(who, url)  # AsyncTAPJob.__init__ reads the job
    rr = http[who].post(f"{url}/phase", data={"PHASE": "RUN"}, timeout=60)
    rr.raise_for_status()
    interval, t0 = 1.0, time.time()
    while True:
        phase, message = uws_job(who, url, wait=True)
        assert phase in ACTIVE, f"phase {phase} after PHASE=RUN: pyvo stops ('Job is not active')"
        if phase in ("COMPLETED", "ERROR", "ABORTED"):
            return phase, message, url
        assert time.time() - t0 < 600, f"still {phase} after 600 s"
        time.sleep(interval)
        interval = min(120, interval * 1.2)


def get_permissions(who, name):
    """cadc-tap's get_permissions: GET <permissions>/<name>, lines key=value."""
    return http[who].get(f"{TAP}/permissions/{name}", timeout=60)


def set_permissions(who, name, body):
    """cadc-tap's set_permissions: POST <permissions>/<name>, text/plain 'public=...\\n',
    'r-group=<group URI>\\n', 'rw-group=<group URI>\\n' (only the keys being changed)."""
    return http[who].post(f"{TAP}/permissions/{name}", data=body, headers={"Content-Type": "text/plain"},
                          timeout=60)


def group_uri(group):
    # cadc-tap refuses a group that is not an ivo:// URI; the group's name is its query part.
    return f"ivo://vonode.demo/gms?{group}"


def parse_permissions(text):
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


# ---------------------------------------------------------------------------------------------
# Answers

def message_of(r):
    """The message of an error answer: a DALI error VOTable's QUERY_STATUS INFO, or the text."""
    body = r.content[:20000]
    if body.lstrip().startswith(b"<"):
        try:
            root = ET.fromstring(body)
            for el in root.iter():
                if el.tag.endswith("INFO") and el.get("name") == "QUERY_STATUS":
                    return (el.text or "").strip() or (el.get("value") or "")
        except ET.ParseError:
            pass
    return r.text[:500].strip()


STACK = re.compile(r"\n\s+at |Traceback|node_modules|\.ts:\d+")


def refused(r, statuses, *words):
    """A clear refusal: one of the statuses, a message a person can act on, no stack trace;
    with words, the message names one of them."""
    msg = message_of(r)
    assert r.status_code in statuses, f"HTTP {r.status_code} (expected {sorted(statuses)}): {msg[:300]}"
    assert msg and msg != "ERROR", f"HTTP {r.status_code} without a message"
    assert not STACK.search(r.text), f"a stack trace in the answer: {r.text[:300]}"
    if words:
        low = msg.lower()
        assert any(w.lower() in low for w in words), f"the message names none of {words}: {msg[:300]}"
    return f"HTTP {r.status_code}: {msg[:160]}"


def ok(r, statuses=(200, 201, 204)):
    assert r.status_code in statuses, f"HTTP {r.status_code}: {message_of(r)[:400]}"
    return r


def count(who, table):
    return int(tap[who].run_sync(f"SELECT COUNT(*) AS n FROM {table}").to_table()["n"][0])


def tap_schema_tables(who, schema=SCHEMA):
    t = tap[who].run_sync(f"SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name = '{schema}'").to_table()
    return sorted(str(x) for x in t["table_name"])


def tap_schema_columns(who, table):
    t = tap[who].run_sync(f"SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = '{table}'").to_table()
    return sorted(str(x) for x in t["column_name"])


def vosi_names(who):
    r = ok(http[who].get(f"{TAP}/tables", timeout=120))
    root = ET.fromstring(r.content)
    return {el.findtext("name") for el in root.iter() if el.tag.split("}")[-1] == "table"}


def adql_error(who, query):
    try:
        tap[who].run_sync(query)
    except pyvo.dal.DALQueryError as exc:
        return str(exc)
    except pyvo.dal.DALServiceError as exc:
        return str(exc)
    raise AssertionError("the query ran")


def psql(sql):
    """SQL on the node's own database, through the connection file the node writes."""
    with open(os.path.join(DATA_DIR, "connection.json")) as f:
        url = json.load(f)["url"]
    r = subprocess.run(["psql", url, "-AtX", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, f"psql: {r.stderr.strip()}"
    return r.stdout.strip()


def unchanged(who, table, before, seconds=3.0):
    """The count stays `before` for a few seconds (a load being rolled back must never show)."""
    t0 = time.time()
    while True:
        n = count(who, table)
        assert n == before, f"{n} rows where {before} were before: a refused load left rows"
        if time.time() - t0 > seconds:
            return n
        time.sleep(0.5)


def cut_off_load(who, name, mode, rows):
    """A load whose client dies mid-stream: a raw socket sends part of a body (chunked without
    its last chunk, or fewer bytes than Content-Length announces) and closes."""
    u = urlsplit(BASE)
    body = b"".join(tsv_stream(0, rows))
    head = (f"POST /tap/load/{name} HTTP/1.1\r\nHost: {u.netloc}\r\n"
            f"Authorization: Bearer {TOKENS[who]}\r\nContent-Type: text/tab-separated-values\r\n")
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        if mode == "chunked":
            s.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
            for i in range(0, len(body), 65536):
                piece = body[i:i + 65536]
                s.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        else:
            s.sendall((head + f"Content-Length: {len(body) * 4}\r\n\r\n").encode() + body)
        time.sleep(1.0)
    # closed: the server sees the body end early


# ---------------------------------------------------------------------------------------------
# The scenario

def capabilities():
    r = ok(http["anonymous"].get(f"{TAP}/capabilities", timeout=60))
    root = ET.fromstring(r.content)
    found = {}
    for cap in root.iter():
        if cap.tag.split("}")[-1] == "capability" and cap.get("standardID"):
            urls = [el.text for el in cap.iter() if el.tag.split("}")[-1] == "accessURL"]
            found[cap.get("standardID")] = urls
    want = {"ivo://ivoa.net/std/VOSI#table-update-async-1.x": "/tap/table-update",
            "ivo://ivoa.net/std/VOSI#table-load-sync-1.x": "/tap/load",
            "ivo://ivoa.net/std/VOSI#table-permissions-1.x": "/tap/permissions"}
    for sid, path in want.items():
        assert sid in found, f"no capability {sid}"
        assert any((u or "").rstrip("/").endswith(path) for u in found[sid]), f"{sid} at {found[sid]}"
    state["capabilities"] = r.text
    return ", ".join(sorted(want))


def anonymous_create():
    r = create_table("anonymous", f"{SCHEMA}.nobody", vosi_definition(f"{SCHEMA}.nobody"))
    assert r.headers.get("WWW-Authenticate"), "401 without a challenge"
    return refused(r, {401}, "token", "authent", "log in", "credential")


def malformed_definitions():
    cases = {
        "bad datatype": (f"{SCHEMA}.bad_type", [("x", "complex128", None, "?", None, None)], {400}, ["complex128"]),
        "a reserved word as a column name": (f"{SCHEMA}.reserved_col", [("select", "int", None, "?", None, None)],
                                             {400}, ["select", "reserved"]),
        "a system column name": (f"{SCHEMA}.system_col", [("ctid", "int", None, "?", None, None)], {400},
                                 ["ctid", "reserved"]),
        "a reserved word as a table name": (f"{SCHEMA}.select", [("x", "int", None, "?", None, None)], {400},
                                            ["select", "reserved"]),
        "duplicate columns": (f"{SCHEMA}.dup_cols", [("x", "int", None, "?", None, None),
                                                     ("x", "double", None, "?", None, None)], {400}, ["x", "duplicate"]),
        "a name in someone else's schema": ("user_bob.mine", [("x", "int", None, "?", None, None)], {403},
                                            [SCHEMA]),
    }
    for label, (name, cols, statuses, words) in cases.items():
        check(f"create_table refuses {label}",
              lambda n=name, c=cols, s=statuses, w=words: refused(create_table("alice", n, vosi_definition(n, c)), s, *w))

    def nothing_created():
        left = [t for t in tap_schema_tables("alice") if t in {c[0] for c in cases.values()}]
        assert not left, f"refused tables exist: {left}"
        n = psql("SELECT count(*) FROM vonode.published_tables WHERE table_name IN ("
                 + ",".join(f"'{c[0]}'" for c in cases.values()) + ")")
        assert n == "0", f"{n} refused tables in vonode.published_tables"
        return "none in TAP_SCHEMA or vonode.published_tables"

    check("refused definitions left nothing", nothing_created)


def create_sources():
    r = ok(create_table("alice", TABLE, vosi_definition(TABLE)))
    assert r.status_code == 201, f"HTTP {r.status_code}, youcat answers 201"
    v = ok(http["alice"].get(f"{TAP}/tables/{TABLE}", timeout=60))
    root = ET.fromstring(v.content)
    names = [el.findtext("name") for el in root.iter() if el.tag.split("}")[-1] == "column"]
    assert same_columns(names), f"VOSI columns {names}"
    return f"201; VOSI /tables/{TABLE} has {names}"


def splits():
    tsv = ROWS * 8 // 10
    csv = ROWS * 9 // 10
    return tsv, csv


def load_tsv():
    n_tsv, _ = splits()
    t0 = time.time()
    r = ok(load_table("alice", TABLE, tsv_stream(0, n_tsv), "tsv"))
    s = time.time() - t0
    n = count("alice", TABLE)
    assert n == n_tsv, f"{n} rows after loading {n_tsv}"
    return f"HTTP {r.status_code}; {n_tsv} rows streamed (chunked) in {s:.1f} s, {n_tsv / max(s, 1e-3):,.0f} rows/s"


def bad_loads():
    before = count("alice", TABLE)
    bad = {
        "a row with too few fields": b"id\tra\tdec\tmag\tband\n"
                                     + text_rows(ROWS + 10, ROWS + 1000, "\t") + b"7\t1.0\t2.0\n",
        "a value that is not a number": b"id\tra\tdec\tmag\tband\n" + text_rows(ROWS + 10, ROWS + 1000, "\t")
                                        + b"8\tnot-a-number\t2.0\t3.0\tg\n",
        "a header naming an unknown column": b"id\tra\tdec\tmagnitude\tband\n" + text_rows(ROWS + 10, ROWS + 20, "\t"),
    }
    for label, body in bad.items():
        check(f"load_table refuses {label}, nothing loaded",
              lambda b=body: refused(load_table("alice", TABLE, b, "tsv"), {400}) + f"; {unchanged('alice', TABLE, before, 0.5)} rows")
    check("load_table refuses a FITS file that is not FITS, nothing loaded",
          lambda: refused(load_table("alice", TABLE, b"SIMPLE  = nonsense" + b" " * 2862, "FITSTable"), {400})
          + f"; {unchanged('alice', TABLE, before, 0.5)} rows")
    for mode in ("chunked", "content-length"):
        def cut(m=mode):
            cut_off_load("alice", TABLE, m, 40000)
            n = unchanged("alice", TABLE, before, 3.0)
            return f"40,000 rows sent, connection closed ({m}): still {n} rows"
        check(f"a load cut off mid-stream ({mode}) leaves nothing", cut)


def load_csv():
    n_tsv, n_csv = splits()
    with tempfile.NamedTemporaryFile(suffix=".csv") as f:
        csv_file(n_tsv, n_csv, f.name)
        size = os.path.getsize(f.name)
        t0 = time.time()
        with open(f.name, "rb") as src:
            r = ok(load_table("alice", TABLE, src, "csv"))
        s = time.time() - t0
    n = count("alice", TABLE)
    assert n == n_csv, f"{n} rows, expected {n_csv}"
    return f"HTTP {r.status_code}; {n_csv - n_tsv} rows ({size:,} bytes, Content-Length) in {s:.1f} s"


def load_fits():
    _, n_csv = splits()
    with tempfile.NamedTemporaryFile(suffix=".fits") as f:
        fits_file(n_csv, ROWS, f.name)
        t0 = time.time()
        with open(f.name, "rb") as src:
            r = ok(load_table("alice", TABLE, src, "FITSTable"))
        s = time.time() - t0
    n = count("alice", TABLE)
    assert n == ROWS, f"{n} rows, expected {ROWS}"
    return f"HTTP {r.status_code}; {ROWS - n_csv} rows from a FITS binary table in {s:.1f} s"


def rows_exact():
    t = tap["alice"].run_sync(f"SELECT COUNT(*) AS n, SUM(id) AS s, MIN(id) AS lo, MAX(id) AS hi FROM {TABLE}").to_table()
    n, s, lo, hi = (int(t[c][0]) for c in ("n", "s", "lo", "hi"))
    assert (n, lo, hi) == (ROWS, 0, ROWS - 1) and s == ROWS * (ROWS - 1) // 2, f"n={n} sum={s} min={lo} max={hi}"
    probe = [0, ROWS // 3, ROWS * 8 // 10, ROWS * 9 // 10, ROWS - 1]  # one row of each load
    t = tap["alice"].run_sync(f"SELECT id, ra, dec, mag, band FROM {TABLE} WHERE id IN ({','.join(map(str, probe))}) ORDER BY id").to_table()
    for row in t:
        want = make_rows(int(row["id"]), int(row["id"]) + 1)
        assert abs(float(row["ra"]) - want["ra"][0]) < 1e-9 and abs(float(row["dec"]) - want["dec"][0]) < 1e-9, \
            f"row {row['id']}: ({row['ra']}, {row['dec']})"
        assert abs(float(row["mag"]) - float(want["mag"][0])) < 1e-4 and str(row["band"]) == want["band"][0], \
            f"row {row['id']}: mag {row['mag']} band {row['band']}"
    return f"{n} rows, ids 0..{hi} each once; rows of the TSV, CSV and FITS loads read back exactly"


def indexes():
    for column, unique in (("mag", False), ("id", True)):
        def one(c=column, u=unique):
            phase, message, url = create_index("alice", TABLE, c, unique=u)
            assert phase == "COMPLETED", f"{phase}: {message}"
            return f"job {url.rsplit('/', 1)[-1]} COMPLETED"
        check(f"create_index {TABLE}.{column} (unique={unique}): 303, run, wait, no error", one)

    def in_db():
        loc = psql(f"SELECT sql_schema || '|' || sql_table FROM vonode.published_tables WHERE table_name = '{TABLE}'")
        assert loc, "no row in vonode.published_tables"
        sch, tbl = loc.split("|")
        defs = psql(f"SELECT indexdef FROM pg_indexes WHERE schemaname = '{sch}' AND tablename LIKE '{tbl}%'")
        assert re.search(r"\(mag\)", defs), f"no index on mag: {defs}"
        assert re.search(r"UNIQUE INDEX.*\(id\)", defs), f"no unique index on id: {defs}"
        return f"{len(defs.splitlines())} indexes on {sch}.{tbl}*"

    check("the indexes exist in the database", in_db)

    def bad_column():
        phase, message, _ = create_index("alice", TABLE, "no_such_column")
        if phase is None:
            assert "HTTP 400" in message and "no_such_column" in message, message
            return message[:160]
        assert phase == "ERROR" and "no_such_column" in message, f"{phase}: {message}"
        return f"job ERROR: {message[:160]}"

    check("create_index on a column that does not exist: a clear error", bad_column)

    def not_unique():
        phase, message, _ = create_index("alice", TABLE, "band", unique=True)
        if phase is None:
            assert "HTTP 400" in message, message
            return message[:160]
        assert phase == "ERROR" and message, f"{phase}: {message}"
        return f"job ERROR: {message[:160]}"

    check("create_index unique on a column with duplicates: the job ends in ERROR with a message", not_unique)
    check("the table is still usable after the refused index", lambda: f"{count('alice', TABLE)} rows")


def votable_form():
    name = f"{SCHEMA}.small"
    r = make_rows(0, 3)
    t = Table({k: r[k] for k in COLUMNS})
    buf = BytesIO()
    from_table(t).to_xml(buf)
    resp = ok(create_table("alice", name, buf.getvalue(), "VOTable"))
    assert resp.status_code == 201, f"HTTP {resp.status_code}"
    n = count("alice", name)
    assert n == 3, f"{n} rows: the VOTable carried 3"
    state["small"] = name
    return f"201; the 3 rows the VOTable carried are in {name}"


def hidden_from(who):
    def fn():
        assert TABLE not in tap_schema_tables(who), "in TAP_SCHEMA.tables"
        assert not tap_schema_columns(who, TABLE), "columns in TAP_SCHEMA.columns"
        assert TABLE not in vosi_names(who), "listed by /tap/tables"
        r = http[who].get(f"{TAP}/tables/{TABLE}", timeout=60)
        assert r.status_code == 404, f"/tap/tables/{TABLE}: HTTP {r.status_code}"
        msg = adql_error(who, f"SELECT COUNT(*) FROM {TABLE}")
        assert "no table" in msg.lower(), f"ADQL error: {msg[:200]}"
        return f"absent from TAP_SCHEMA, /tables (404) and ADQL ({msg[:80]})"
    return fn


def others_cannot_write(who, statuses=(403, 404)):
    def fn():
        before = count("alice", TABLE)
        refused(load_table(who, TABLE, tsv_stream(ROWS + 100, ROWS + 110), "tsv"), set(statuses))
        refused(remove_table(who, TABLE), set(statuses))
        refused(set_permissions(who, TABLE, "public=true\n"), set(statuses) | {401})
        assert count("alice", TABLE) == before, "rows changed"
        p = parse_permissions(ok(get_permissions("alice", TABLE)).text)
        assert p.get("public") == "false", f"permissions changed: {p}"
        return f"load, remove_table and set_permissions refused; {before} rows, public={p.get('public')}"
    return fn


def permissions_owner():
    r = ok(get_permissions("alice", TABLE))
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers.get("Content-Type")
    p = parse_permissions(r.text)
    assert p == {"owner": "alice", "public": "false", "r-group": "", "rw-group": ""}, f"{p}"
    return r.text.strip().replace("\n", "; ")


def grant_bob():
    ok(set_permissions("alice", TABLE, f"r-group={group_uri('team-b')}\n"), (200, 204))
    p = parse_permissions(ok(get_permissions("alice", TABLE)).text)
    assert p.get("r-group", "").endswith("team-b") and p.get("public") == "false" and p.get("rw-group") == "", f"{p}"
    return f"r-group={p['r-group']}"


def bob_reads():
    assert TABLE in tap_schema_tables("bob"), "not in TAP_SCHEMA.tables"
    cols = tap_schema_columns("bob", TABLE)
    assert same_columns(cols, ordered=False), f"TAP_SCHEMA.columns has {cols}"
    assert TABLE in vosi_names("bob"), "not listed by /tap/tables"
    ok(http["bob"].get(f"{TAP}/tables/{TABLE}", timeout=60))
    n = count("bob", TABLE)
    assert n == ROWS, f"{n} rows"
    return f"TAP_SCHEMA, /tables and COUNT(*) = {n} with pyvo {pyvo.__version__}"


def bob_crossmatch():
    rng = np.random.default_rng(16)
    ids = np.sort(rng.choice(ROWS, size=min(500, ROWS), replace=False))
    r = rows_at(ids.astype(np.int64))
    ra, dec = r["ra"], r["dec"]
    # offset by 0.3 arcsec, as a real measurement of the same sources would be
    mine = Table({"my_id": ids.astype(np.int64), "my_ra": ra + 0.3 / 3600 / np.maximum(np.cos(np.radians(dec)), 0.01),
                  "my_dec": dec})
    t0 = time.time()
    m = tap["bob"].run_sync(
        f"SELECT m.my_id, s.id FROM TAP_UPLOAD.mine AS m JOIN {TABLE} AS s "
        "ON 1 = CONTAINS(POINT('ICRS', s.ra, s.dec), CIRCLE('ICRS', m.my_ra, m.my_dec, 1.0/3600))",
        uploads={"mine": mine}).to_table()
    s = time.time() - t0
    pairs = {(int(a), int(b)) for a, b in zip(m["my_id"], m["id"])}
    missing = [i for i in ids if (int(i), int(i)) not in pairs]
    assert not missing, f"{len(missing)} of {len(ids)} uploaded positions not matched with their row"
    # every pair returned really is within 1 arcsec (the rows' positions are known)
    up = {int(a): (float(r), float(d)) for a, r, d in zip(mine["my_id"], mine["my_ra"], mine["my_dec"])}
    found = rows_at(np.array([b for _, b in pairs], dtype=np.int64))
    for (a, _), ra2, dec2 in zip(pairs, found["ra"], found["dec"]):
        ra1, dec1 = up[a]
        c = (math.sin(math.radians(dec1)) * math.sin(math.radians(dec2))
             + math.cos(math.radians(dec1)) * math.cos(math.radians(dec2)) * math.cos(math.radians(ra1 - ra2)))
        sep = math.degrees(math.acos(min(1.0, c))) * 3600
        assert sep <= 1.0 + 1e-6, f"pair ({a}, ?) is {sep:.3f} arcsec apart"
    return (f"{len(ids)} uploaded positions each matched their row of {ROWS} in {s:.2f} s "
            f"({len(pairs)} pairs, each within 1 arcsec)")


def group_write():
    name = f"{SCHEMA}.shared"
    r = ok(create_table("alice", name, vosi_definition(name), headers={
        "x-vosi-group-read": group_uri("team-b"), "x-vosi-group-write": group_uri("team-c")}))
    assert r.status_code == 201, f"HTTP {r.status_code}"
    p = parse_permissions(ok(get_permissions("alice", name)).text)
    assert p.get("r-group", "").endswith("team-b") and p.get("rw-group", "").endswith("team-c"), f"{p}"
    ok(load_table("carol", name, tsv_stream(0, 1000), "tsv"))
    n = count("alice", name)
    assert n == 1000, f"{n} rows after carol's load"
    assert count("carol", name) == 1000 and count("bob", name) == 1000, "readers see another count"
    refused(load_table("bob", name, tsv_stream(1000, 1010), "tsv"), {403})
    refused(set_permissions("carol", name, "public=true\n"), {403})
    refused(remove_table("carol", name), {403})
    assert count("alice", name) == 1000, "rows changed"
    ok(remove_table("alice", name))
    return ("x-vosi-group-read/-write on create; carol (team-c, write) loaded 1000 rows; bob (team-b, read) "
            "may not load; carol may not change permissions or drop")


def auth_read():
    name = f"{SCHEMA}.for_everyone"
    r = ok(create_table("alice", name, vosi_definition(name), headers={"x-vosi-auth-read": "false"}))
    assert r.status_code == 201, f"HTTP {r.status_code}"
    ok(load_table("alice", name, tsv_stream(0, 10), "tsv"))
    assert parse_permissions(ok(get_permissions("alice", name)).text).get("public") == "true", "public is not true"
    assert name in tap_schema_tables("anonymous") and count("anonymous", name) == 10, "anonymous cannot read it"
    ok(set_permissions("alice", name, "public=false\n"), (200, 204))
    assert name not in tap_schema_tables("anonymous"), "still in anonymous TAP_SCHEMA after public=false"
    msg = adql_error("anonymous", f"SELECT COUNT(*) FROM {name}")
    assert "no table" in msg.lower(), msg
    ok(remove_table("alice", name))
    return "x-vosi-auth-read: false made it public (anonymous read 10 rows); public=false hid it again"


def bad_permissions():
    for body, label in (("public=maybe\n", "a public value that is not true/false"),
                        ("owner=bob\n", "a change of owner"),
                        ("colour=blue\n", "an unknown key"),
                        ("r-group\n", "a line without '='")):
        check(f"set_permissions refuses {label}", lambda b=body: refused(set_permissions("alice", TABLE, b), {400}))
    p = parse_permissions(ok(get_permissions("alice", TABLE)).text)
    assert p.get("public") == "false", f"{p}"


def removed():
    r = remove_table("alice", TABLE)
    assert r.status_code == 204, f"HTTP {r.status_code}: {message_of(r)}"
    assert TABLE not in tap_schema_tables("alice"), "still in TAP_SCHEMA for alice"
    assert http["alice"].get(f"{TAP}/tables/{TABLE}", timeout=60).status_code == 404, "VOSI still has it"
    assert "no table" in adql_error("alice", f"SELECT COUNT(*) FROM {TABLE}").lower()
    assert psql(f"SELECT count(*) FROM vonode.published_tables WHERE table_name = '{TABLE}'") == "0", \
        "still in vonode.published_tables"
    assert psql(f"SELECT count(*) FROM tap_schema.tables WHERE table_name = '{TABLE}'") == "0", \
        "still in tap_schema.tables (read by the database owner)"
    assert psql(f"SELECT count(*) FROM tap_schema.columns WHERE table_name = '{TABLE}'") == "0", \
        "columns still in tap_schema.columns"
    rels = psql("SELECT string_agg(n.nspname || '.' || c.relname, ' ') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                f"WHERE n.nspname IN ('{SCHEMA}', 'vonode_staging') AND c.relname LIKE 'sources%'")
    assert not rels, f"relations left in the database: {rels}"
    return "204; gone from TAP_SCHEMA, /tables, ADQL, vonode.published_tables and pg_class"


def main():
    check("capabilities advertise youcat's table-update, table-load and table-permissions", capabilities)
    check("anonymous create_table: 401 with a challenge", anonymous_create)
    malformed_definitions()
    if not check(f"create_table {TABLE} (VOSITable form)", create_sources):
        return
    check(f"load_table tsv, rows 0..{splits()[0]:,}", load_tsv)
    bad_loads()
    check("the table is still usable after the refused loads", lambda: f"{count('alice', TABLE)} rows")
    check(f"load_table csv, rows {splits()[0]:,}..{splits()[1]:,}", load_csv)
    check(f"load_table FITSTable, rows {splits()[1]:,}..{ROWS:,}", load_fits)
    check("the rows are exactly the rows loaded", rows_exact)
    indexes()
    check("create_table with rows (VOTable form)", votable_form)
    for who in ("bob", "anonymous"):
        check(f"{who} sees nothing of {TABLE}", hidden_from(who))
    check("bob may not load, drop or share it", others_cannot_write("bob"))
    check("anonymous may not load, drop or share it", others_cannot_write("anonymous", (401, 403, 404)))
    check("GET permissions as the owner", permissions_owner)
    check("bob may not read the permissions", lambda: refused(get_permissions("bob", TABLE), {403, 404}))
    bad_permissions()
    check("alice grants team-b read (POST permissions r-group)", grant_bob)
    check("bob now sees and queries it", bob_reads)
    check("bob's upload crossmatch against it (pyvo 1.2 run_sync with an upload)", bob_crossmatch)
    check("bob still may not load, drop or share it", others_cannot_write("bob"))
    check("anonymous still sees nothing", hidden_from("anonymous"))
    check("group-write: a member loads rows", group_write)
    check("x-vosi-auth-read and public=", auth_read)
    check(f"remove_table {TABLE}", removed)
    if "small" in state:
        check(f"remove_table {state['small']}", lambda: f"HTTP {ok(remove_table('alice', state['small'])).status_code}")
    def nothing_left():
        left = tap_schema_tables("alice")
        assert not left, f"left: {left}"
        return f"TAP_SCHEMA has no table in {SCHEMA}"

    check(f"nothing of alice's left in {SCHEMA}", nothing_left)


def quota():
    name = f"{SCHEMA}.quota"
    half = QUOTA_ROWS // 2

    def advertised():
        r = ok(http["anonymous"].get(f"{TAP}/capabilities", timeout=60))
        assert str(QUOTA_ROWS) in r.text, f"{QUOTA_ROWS} does not appear in the capabilities"
        return f"{QUOTA_ROWS} rows per table in the capabilities"

    check("the row quota is advertised", advertised)
    if not check(f"create_table {name}", lambda: f"HTTP {ok(create_table('alice', name, vosi_definition(name))).status_code}"):
        return
    check(f"a load of {half} rows within the quota",
          lambda: f"HTTP {ok(load_table('alice', name, tsv_stream(0, half), 'tsv')).status_code}, {count('alice', name)} rows")

    def crossing():
        t0 = time.time()
        r = load_table("alice", name, tsv_stream(half, half + QUOTA_ROWS, chunk=5000), "tsv")
        detail = refused(r, {413, 403}, "quota", "limit", str(QUOTA_ROWS))
        n = unchanged("alice", name, half, 2.0)
        return f"{detail} after {time.time() - t0:.1f} s; still {n} rows"

    check(f"a load of {QUOTA_ROWS} more rows crosses the quota mid-load: refused, nothing loaded", crossing)
    check("the table is still usable: a small load and a query",
          lambda: f"HTTP {ok(load_table('alice', name, tsv_stream(half, half + 10), 'tsv')).status_code}, "
                  f"{count('alice', name)} rows")
    check(f"remove_table {name}", lambda: f"HTTP {ok(remove_table('alice', name)).status_code}")


if __name__ == "__main__":
    print(f"pyvo {pyvo.__version__} (queries); requests {requests.__version__} (the pyvo 1.9 table calls); "
          f"step {STEP}, {ROWS:,} rows", flush=True)
    {"main": main, "quota": quota}[STEP]()
    print(f"check.py {STEP}: {failures} failure(s)")
    sys.exit(min(failures, 100))

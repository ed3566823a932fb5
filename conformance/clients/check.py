"""Client checks of issue 19 against a live node, with Debian's pyvo 1.2 and astropy.

check.py STEP BASE: prints PASS/FAIL lines; exits non-zero on any FAIL.
  datalinks  pyvo's iter_datalinks() over TAP queries of ivoa.obscore (sync and async)
             returns every product's links, each with its #this (DataLink 1.1 §4 descriptor).
  upload     an astropy Table with bool, int, float, unicode and masked columns uploaded with
             pyvo (TAP_UPLOAD) and selected back, sync and async, comes back unchanged.
  overflow   pyvo sees OVERFLOW for SELECT * of a table larger than the default MAXREC
             (check.py overflow BASE MAXREC), sync and async.
"""
import sys
import warnings

warnings.simplefilter('ignore')

import numpy as np  # noqa: E402
import pyvo  # noqa: E402
from astropy.table import MaskedColumn, Table  # noqa: E402

failures = 0


def check(ok, what):
    global failures
    print(('PASS ' if ok else 'FAIL ') + what, flush=True)
    if not ok:
        failures += 1


def datalinks(base):
    svc = pyvo.dal.TAPService(base + '/tap')
    for mode, query in [
        ('sync', 'SELECT obs_publisher_did, obs_id, dataproduct_type FROM ivoa.obscore'),
        ('async', 'SELECT * FROM ivoa.obscore'),
        ('sync, aliased', 'SELECT obs_id, obs_publisher_did AS did FROM ivoa.obscore'),
    ]:
        res = svc.run_sync(query) if mode.startswith('sync') else svc.run_async(query)
        key = 'did' if 'aliased' in mode else 'obs_publisher_did'
        dids = [str(x) for x in res[key]]
        check(len(dids) > 0, f'{mode}: ivoa.obscore has products ({len(dids)})')
        got = {}
        try:
            for links in res.iter_datalinks():
                if links is None:
                    continue
                table = links.to_table()
                for row_id in set(str(x) for x in table['ID']):
                    # include_narrower=False: otherwise pyvo downloads the vocabulary from www.ivoa.net
                    got[row_id] = list(links.clone_byid(row_id).bysemantics('#this', include_narrower=False))
        except Exception as e:  # a crash is the defect this checks for
            check(False, f'{mode}: iter_datalinks() raised {type(e).__name__}: {e}')
            continue
        missing = [d for d in dids if d not in got]
        check(not missing, f'{mode}: iter_datalinks() returned the links of every product (missing {missing[:3]})')
        no_this = [d for d in dids if d in got and not got[d]]
        check(not no_this, f'{mode}: every product has its #this link (without: {no_this[:3]})')


def upload(base):
    t = Table()
    t['flag'] = np.array([True, False, True, False])
    t['i16'] = np.array([1, -2, 3, 32767], dtype=np.int16)
    t['i32'] = np.array([1, -2, 3, -2147483647], dtype=np.int32)
    t['i64'] = np.array([10**12, 2, 3, -5], dtype=np.int64)
    t['f32'] = np.array([1.5, 2.25, -3.0, 1e30], dtype=np.float32)
    t['f64'] = np.array([0.1, 1e-300, -3.25, 2.0])
    t['name'] = np.array(['alpha', 'bé ü', '', 'ω'])
    t['masked_f'] = MaskedColumn([1.0, 2.0, 3.0, 4.0], mask=[False, True, False, True])
    t['masked_i'] = MaskedColumn(np.array([7, 8, 9, 10], dtype=np.int32), mask=[True, False, False, False])
    t['masked_b'] = MaskedColumn([True, False, True, True], mask=[False, False, True, False])
    svc = pyvo.dal.TAPService(base + '/tap')
    q = 'SELECT * FROM TAP_UPLOAD.t ORDER BY i32'
    t.sort('i32')
    for mode in ['sync', 'async']:
        r = (svc.run_sync(q, uploads={'t': t}) if mode == 'sync' else svc.run_async(q, uploads={'t': t})).to_table()
        check(r.colnames == t.colnames, f'{mode}: the columns come back by name and order ({r.colnames})')
        for c in t.colnames:
            if c not in r.colnames:
                continue
            a, b = t[c], r[c]
            am, bm = list(np.ma.getmaskarray(a)), list(np.ma.getmaskarray(b))
            av = [None if m else v for v, m in zip(a.tolist(), am)]
            bv = [None if m else v for v, m in zip(np.ma.getdata(b).tolist(), bm)]
            same = a.dtype.kind == b.dtype.kind and am == bm and av == bv
            check(same, f'{mode}: {c} ({a.dtype}) comes back unchanged' + ('' if same else f': sent {av} {a.dtype}, got {bv} {b.dtype}'))


def overflow(base, maxrec):
    svc = pyvo.dal.TAPService(base + '/tap')
    for mode in ['sync', 'async']:
        q = 'SELECT * FROM demo.sources'
        res = svc.run_sync(q) if mode == 'sync' else svc.run_async(q)
        n = len(res)
        check(
            res.query_status == 'OVERFLOW' and n == maxrec,
            f'{mode}: SELECT * FROM demo.sources at the default MAXREC ({maxrec}): pyvo reads {res.query_status} with {n} rows',
        )
    # And no false alarm: a result that fits says OK.
    res = svc.run_sync(f'SELECT TOP {maxrec} * FROM demo.sources')
    check(res.query_status == 'OK' and len(res) == maxrec, f'TOP {maxrec} at MAXREC {maxrec}: pyvo reads {res.query_status}')


STEPS = {'datalinks': datalinks, 'upload': upload, 'overflow': overflow}

if __name__ == '__main__':
    STEPS[sys.argv[1]](sys.argv[2].rstrip('/'), *[int(a) for a in sys.argv[3:]])
    sys.exit(1 if failures else 0)

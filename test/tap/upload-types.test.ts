import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { python, SESSION_PY } from '../soda/python.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';

// Issue 19: an astropy Table uploaded with pyvo (TAP_UPLOAD, TAP-50..TAP-53) comes back as the
// client sent it. astropy writes numpy bool columns as VOTable bit and reads binary bits with
// the wrong mask, so an uploaded True came back False until bits were returned as booleans.

let node: Awaited<ReturnType<typeof startTestNode>>;

beforeAll(async () => {
  node = await startTestNode();
}, 120000);

afterAll(async () => {
  await node?.stop();
});

const ROUND_TRIP_PY = `${SESSION_PY}
import warnings
warnings.simplefilter('ignore')
import numpy as np, pyvo
from astropy.table import Table, MaskedColumn
public, real, mode = sys.argv[1], sys.argv[2], sys.argv[3]
s = Rewrite(public, real)
# The job's redirects are followed below Session.request: rewrite at the adapter too.
_send = requests.adapters.HTTPAdapter.send
def _send_local(self, request, *a, **k):
    if request.url.startswith(public): request.url = real + request.url[len(public):]
    return _send(self, request, *a, **k)
requests.adapters.HTTPAdapter.send = _send_local
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
svc = pyvo.dal.TAPService(public + '/tap', session=s)
q = 'SELECT * FROM TAP_UPLOAD.t ORDER BY i32'
r = (svc.run_sync(q, uploads={'t': t}) if mode == 'sync' else svc.run_async(q, uploads={'t': t})).to_table()
t.sort('i32')
out = {'names': list(r.colnames), 'diff': []}
for c in t.colnames:
    a, b = t[c], r[c]
    if a.dtype.kind != b.dtype.kind:
        out['diff'].append(f'{c}: sent {a.dtype}, got {b.dtype}')
    am = list(np.ma.getmaskarray(a)); bm = list(np.ma.getmaskarray(b))
    if am != bm:
        out['diff'].append(f'{c}: mask sent {am}, got {bm}')
    av = [None if m else v for v, m in zip(a.tolist(), am)]
    bv = [None if m else v for v, m in zip(np.ma.getdata(b).tolist(), bm)]
    if av != bv:
        out['diff'].append(f'{c}: sent {av}, got {bv}')
print(json.dumps(out))
`;

describe('an astropy Table uploaded with pyvo comes back as sent (TAP-50, TAP-52)', () => {
  test.each(['sync', 'async'])('%s: bool, ints, floats, unicode and masked columns', async (mode) => {
    const out = await python<{ names: string[]; diff: string[] }>(ROUND_TRIP_PY, [
      TEST_BASE_URL,
      node.url,
      mode,
    ]);
    expect(out.names).toEqual([
      'flag',
      'i16',
      'i32',
      'i64',
      'f32',
      'f64',
      'name',
      'masked_f',
      'masked_i',
      'masked_b',
    ]);
    expect(out.diff).toEqual([]);
  });

  test('an uploaded bit column is a boolean FIELD, in TAP_SCHEMA terms too (VOT-35)', async () => {
    const votable = `<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results"><TABLE>
<FIELD name="b" datatype="bit"/><FIELD name="n" datatype="int"/>
<DATA><TABLEDATA><TR><TD>1</TD><TD>1</TD></TR><TR><TD>0</TD><TD>2</TD></TR><TR><TD/><TD>3</TD></TR></TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>`;
    const form = new FormData();
    form.append('LANG', 'ADQL');
    form.append('QUERY', 'SELECT b, n FROM TAP_UPLOAD.t ORDER BY n');
    form.append('RESPONSEFORMAT', 'votable/td');
    form.append('UPLOAD', 't,param:t');
    form.append('t', new Blob([votable], { type: 'application/x-votable+xml' }), 't.xml');
    const res = await fetch(`${node.url}/tap/sync`, { method: 'POST', body: form });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    expect(body).toMatch(/<FIELD name="b" datatype="boolean"\/>/);
    const cells = [...body.matchAll(/<TR><TD>([^<]*)<\/TD>|<TR><TD\/>/g)].map((m) => m[1] ?? '');
    expect(cells).toEqual(['T', 'F', '']);
  });
});

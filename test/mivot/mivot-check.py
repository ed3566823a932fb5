"""Checks a MIVOT-annotated VOTable the way a client meets it, printing JSON.

Usage: mivot-check.py <votable> <mivot-v1.0.xsd>

1. The VODML block is cut out and validated against the MIVOT 1.0 schema. That schema is
   XSD 1.1 (assertions), which xmllint cannot compile, so Debian's python3-xmlschema does it.
   Its three imports of the VOTable schemas (by http URL) are dropped: the mapping types use
   nothing from them, and tests fetch nothing.
2. The annotation is read back: Debian's pyvo (1.2) has no pyvo.mivot (added in pyvo 1.6),
   so the mango:EpochPosition roles are resolved here from the XML, each ATTRIBUTE@ref to
   the FIELD with that ID, and the values come from astropy's VOTable reader (any
   serialisation). They become astropy SkyCoords with proper motion, distance, radial
   velocity and obstime, as pyvo's SkyCoordBuilder does.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

import xmlschema
from astropy import units as u
from astropy.coordinates import SkyCoord, Distance
from astropy.io.votable import parse
from astropy.time import Time

VOT = '{http://www.ivoa.net/xml/VOTable/v1.3}'
MIVOT = '{http://www.ivoa.net/xml/mivot}'

path, xsd_path = sys.argv[1], sys.argv[2]
text = open(path, encoding='utf-8').read()
out = {}

schema_text = re.sub(r'<xs:import[^>]*/>', '', open(xsd_path, encoding='utf-8').read())
schema = xmlschema.XMLSchema11(schema_text)
root = ET.fromstring(text.encode('utf-8'))
blocks = root.findall(f'.//{VOT}RESOURCE[@type="meta"]/{MIVOT}VODML')
out['blocks'] = len(blocks)
if not blocks:
    print(json.dumps(out))
    sys.exit(0)
vodml = blocks[0]
errors = [str(e).split('\n')[0] for e in schema.iter_errors(ET.tostring(vodml, encoding='unicode'))]
out['xsd_errors'] = errors

# The annotated TABLE is the one in the same RESOURCE as the meta RESOURCE (MIVOT 1.0 §3).
parent = next(r for r in root.iter(f'{VOT}RESOURCE') if any(c is vodml for m in r.findall(f'{VOT}RESOURCE') for c in m))
fields = parent.find(f'{VOT}TABLE').findall(f'{VOT}FIELD')
ids = {f.get('ID'): i for i, f in enumerate(fields) if f.get('ID')}
coosys = {c.get('ID'): c.attrib for c in root.iter(f'{VOT}COOSYS')}

position = vodml.find(f'{MIVOT}TEMPLATES/{MIVOT}INSTANCE[@dmtype="mango:EpochPosition"]')
roles = {}
for a in position.findall(f'{MIVOT}ATTRIBUTE'):
    roles[a.get('dmrole').split('.')[-1]] = {'ref': a.get('ref'), 'unit': a.get('unit')}
obs = position.find(f'{MIVOT}INSTANCE[@dmrole="mango:EpochPosition.obsDate"]')
epoch = None
if obs is not None:
    rep = obs.find(f'{MIVOT}ATTRIBUTE[@dmrole="mango:DateTime.representation"]').get('value')
    epoch = {'representation': rep, 'ref': obs.find(f'{MIVOT}ATTRIBUTE[@dmrole="mango:DateTime.dateTime"]').get('ref')}
ref = position.find(f'{MIVOT}REFERENCE[@dmrole="mango:EpochPosition.spaceSys"]').get('dmref')
sys_el = vodml.find(f'{MIVOT}GLOBALS/{MIVOT}INSTANCE[@dmid="{ref}"]')
frame = sys_el.find(f'.//{MIVOT}ATTRIBUTE[@dmrole="coords:SpaceFrame.spaceRefFrame"]').get('value')
refpos = sys_el.find(f'.//{MIVOT}ATTRIBUTE[@dmrole="coords:StdRefLocation.position"]').get('value')
out['roles'] = {k: v['ref'] for k, v in roles.items()}
out['epoch'] = epoch
out['frame'] = frame
out['refPosition'] = refpos
# Every ref names a FIELD ID; the position FIELDs ref a COOSYS in the same frame.
out['dangling'] = [v['ref'] for v in roles.values() if v['ref'] not in ids] + (
    [epoch['ref']] if epoch and epoch['ref'] not in ids else [])
out['field_coosys'] = {
    k: coosys.get(fields[ids[v['ref']]].get('ref'), {}).get('system')
    for k, v in roles.items() if v['ref'] in ids and k in ('longitude', 'latitude', 'pmLongitude', 'pmLatitude')}

table = parse(path).get_first_table().to_table()
names = [f.get('name') for f in fields]


def column(role):
    r = roles.get(role)
    if not r:
        return None
    col = table[names[ids[r['ref']]]]
    return u.Quantity(col.data.astype(float), r['unit']) if r['unit'] else col.data


coords = []
for i in range(len(table)):
    kw = {'frame': frame.lower()}
    kw['ra'] = column('longitude')[i]
    kw['dec'] = column('latitude')[i]
    if 'pmLongitude' in roles:
        kw['pm_ra_cosdec'] = column('pmLongitude')[i]
        kw['pm_dec'] = column('pmLatitude')[i]
    if 'parallax' in roles:
        kw['distance'] = Distance(parallax=column('parallax')[i])
    if 'radialVelocity' in roles:
        kw['radial_velocity'] = column('radialVelocity')[i]
    if epoch:
        v = table[names[ids[epoch['ref']]]][i]
        fmt = {'year': 'jyear', 'mjd': 'mjd', 'iso': 'isot'}[epoch['representation']]
        kw['obstime'] = Time(float(v) if fmt != 'isot' else str(v), format=fmt)
    c = SkyCoord(**kw)
    row = {'ra': c.ra.deg, 'dec': c.dec.deg, 'frame': c.frame.name}
    if 'pm_ra_cosdec' in kw:
        row['pm_ra_cosdec'] = c.pm_ra_cosdec.to_value(u.mas / u.yr)
        row['pm_dec'] = c.pm_dec.to_value(u.mas / u.yr)
    if 'distance' in kw:
        row['distance_pc'] = c.distance.to_value(u.pc)
    if 'radial_velocity' in kw:
        row['radial_velocity'] = c.radial_velocity.to_value(u.km / u.s)
    if epoch:
        row['obstime_jyear'] = c.obstime.jyear
        # What the epoch is for: the position moved to another time (astropy's propagation).
        if 'pm_ra_cosdec' in kw and 'distance' in kw:
            moved = c.apply_space_motion(new_obstime=c.obstime + 10 * u.yr)
            row['moved_10yr'] = [moved.ra.deg, moved.dec.deg]
    coords.append(row)
out['coords'] = coords
print(json.dumps(out))

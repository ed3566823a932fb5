import { declaredArraysize, fieldShape } from './arraysize.js';
import { magicNull, textFormatter } from './cells.js';
import type { Coosys, Field, Group, Info, Link, Param, Resource, Timesys } from './types.js';

export const VOTABLE_NS = 'http://www.ivoa.net/xml/VOTable/v1.3';

// XML 1.0 forbids C0 controls other than TAB/LF/CR even as references (VOT-25); lone surrogates
// cannot be encoded in UTF-8 either. Both become U+FFFD.
const BAD_XML =
  /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const TEXT_SPECIAL = /[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]/;

export function escapeText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return s
    .replace(BAD_XML, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

type Attrs = Record<string, string | number | undefined>;

function attrs(a: Attrs): string {
  let s = '';
  for (const k of Object.keys(a)) {
    const v = a[k];
    if (v !== undefined && v !== '') s += ` ${k}="${escapeAttr(String(v))}"`;
  }
  return s;
}

function description(d: string | undefined, indent: string): string {
  return d ? `${indent}<DESCRIPTION>${escapeText(d)}</DESCRIPTION>\n` : '';
}

export function infoXml(i: Info, indent = ''): string {
  const a = attrs({
    ID: i.ID,
    name: i.name,
    value: i.value ?? '',
    unit: i.unit,
    xtype: i.xtype,
    ref: i.ref,
    ucd: i.ucd,
    utype: i.utype,
  });
  // value is schema-required even when empty (VOT-7).
  const withValue = a.includes(' value="') ? a : `${a} value=""`;
  return i.content
    ? `${indent}<INFO${withValue}>${escapeText(i.content)}</INFO>\n`
    : `${indent}<INFO${withValue}/>\n`;
}

export function linkXml(l: Link, indent = ''): string {
  return `${indent}<LINK${attrs({ ID: l.ID, 'content-role': l.contentRole, 'content-type': l.contentType, title: l.title, value: l.value, href: l.href, action: l.action })}/>\n`;
}

/**
 * COOSYS@refposition is new in VOTable 1.5 (its schema has it, 1.4's does not), so a 1.4
 * document leaves it out; a MIVOT annotation still carries the reference position.
 */
export function coosysXml(c: Coosys, indent = '', version: VOTableVersion = '1.4'): string {
  const refposition = version === '1.5' ? c.refposition : undefined;
  return `${indent}<COOSYS${attrs({ ID: c.ID, system: c.system, equinox: c.equinox, epoch: c.epoch, refposition })}/>\n`;
}

export function timesysXml(t: Timesys, indent = ''): string {
  return `${indent}<TIMESYS${attrs({ ID: t.ID, timescale: t.timescale, refposition: t.refposition, timeorigin: t.timeorigin })}/>\n`;
}

function fieldAttrs(f: Field): string {
  return attrs({
    ID: f.ID,
    name: f.name,
    datatype: f.datatype,
    arraysize: declaredArraysize(f),
    width: f.width,
    precision: f.precision,
    unit: f.unit,
    ucd: f.ucd,
    utype: f.utype,
    xtype: f.xtype,
    ref: f.ref,
    type: f.type,
  });
}

function valuesXml(f: Field, nullValue: string | undefined, indent: string): string {
  const v = f.values;
  if (nullValue === undefined && !v) return '';
  const head = `${indent}<VALUES${attrs({ type: v?.type, null: nullValue })}`;
  const inner: string[] = [];
  if (v?.min)
    inner.push(
      `${indent}  <MIN${attrs({ value: v.min.value, inclusive: v.min.inclusive === false ? 'no' : undefined })}/>\n`,
    );
  if (v?.max)
    inner.push(
      `${indent}  <MAX${attrs({ value: v.max.value, inclusive: v.max.inclusive === false ? 'no' : undefined })}/>\n`,
    );
  for (const o of v?.options ?? [])
    inner.push(`${indent}  <OPTION${attrs({ name: o.name, value: o.value })}/>\n`);
  return inner.length ? `${head}>\n${inner.join('')}${indent}</VALUES>\n` : `${head}/>\n`;
}

function fieldBody(f: Field, nullValue: string | undefined, indent: string): string {
  return (
    description(f.description, `${indent}  `) +
    valuesXml(f, nullValue, `${indent}  `) +
    (f.links ?? []).map((l) => linkXml(l, `${indent}  `)).join('')
  );
}

export function fieldXml(f: Field, forBinary: boolean, indent = ''): string {
  const body = fieldBody(f, magicNull(f, forBinary), indent);
  return body
    ? `${indent}<FIELD${fieldAttrs(f)}>\n${body}${indent}</FIELD>\n`
    : `${indent}<FIELD${fieldAttrs(f)}/>\n`;
}

export function paramValue(p: Param): string {
  if (p.value === null || p.value === undefined) return '';
  if (typeof p.value === 'string') return p.value;
  return textFormatter(p, fieldShape(p), p.nullValue)(p.value);
}

export function paramXml(p: Param, indent = ''): string {
  const a = `${fieldAttrs(p)}${attrs({ value: paramValue(p) })}`;
  const withValue = a.includes(' value="') ? a : `${a} value=""`;
  const body = fieldBody(p, p.nullValue, indent);
  return body
    ? `${indent}<PARAM${withValue}>\n${body}${indent}</PARAM>\n`
    : `${indent}<PARAM${withValue}/>\n`;
}

export function groupXml(g: Group, indent = ''): string {
  const inner =
    description(g.description, `${indent}  `) +
    (g.fieldRefs ?? []).map((r) => `${indent}  <FIELDref${attrs({ ref: r })}/>\n`).join('') +
    (g.paramRefs ?? []).map((r) => `${indent}  <PARAMref${attrs({ ref: r })}/>\n`).join('') +
    (g.params ?? []).map((p) => paramXml(p, `${indent}  `)).join('') +
    (g.groups ?? []).map((x) => groupXml(x, `${indent}  `)).join('');
  const a = attrs({ ID: g.ID, name: g.name, ref: g.ref, ucd: g.ucd, utype: g.utype });
  return inner ? `${indent}<GROUP${a}>\n${inner}${indent}</GROUP>\n` : `${indent}<GROUP${a}/>\n`;
}

export function resourceXml(r: Resource, indent = '', version: VOTableVersion = '1.4'): string {
  const i2 = `${indent}  `;
  let s = `${indent}<RESOURCE${attrs({ ID: r.ID, name: r.name, type: r.type, utype: r.utype })}>\n`;
  s += description(r.description, i2);
  for (const i of r.infos ?? []) s += infoXml(i, i2);
  for (const c of r.coosys ?? []) s += coosysXml(c, i2, version);
  for (const t of r.timesys ?? []) s += timesysXml(t, i2);
  for (const g of r.groups ?? []) s += groupXml(g, i2);
  for (const p of r.params ?? []) s += paramXml(p, i2);
  for (const l of r.links ?? []) s += linkXml(l, i2);
  for (const sub of r.resources ?? []) s += resourceXml(sub, i2, version);
  if (r.vodml)
    s += `${r.vodml
      .replace(/\n(?=.)/g, `\n${i2}`)
      .replace(/^/, i2)
      .trimEnd()}\n`;
  return `${s}${indent}</RESOURCE>\n`;
}

/**
 * 1.4 by default: the output uses nothing new in 1.5, and deployed validators and readers
 * (STIL 4.1, Debian's votlint) reject version="1.5" against their 1.4 schema.
 */
export type VOTableVersion = '1.4' | '1.5';

export function votableStart(version: VOTableVersion = '1.4'): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<VOTABLE version="${version}" xmlns="${VOTABLE_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"` +
    ` xsi:schemaLocation="${VOTABLE_NS} http://www.ivoa.net/xml/VOTable/VOTable-${version}.xsd">\n`
  );
}

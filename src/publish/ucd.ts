/**
 * UCD1+ checker: words from the IVOA list (ucd-words.txt, UCDList EN-1.6) combined by the
 * UCD1+ syntax rules: words separated by ';', the first word primary (codes P, Q and the
 * Q-like E, C, V), the others secondary (codes S, Q, E, C, V; a P word is only ever first).
 * Words are compared without regard to case and may carry the default `ivoa:` namespace.
 */
import { readFileSync } from 'node:fs';
import { nearest } from './yaml-reader.js';

type Code = 'P' | 'S' | 'Q' | 'E' | 'C' | 'V';

interface Words {
  /** lower-case word -> (syntax code, word as the list spells it) */
  readonly valid: ReadonlyMap<string, { code: Code; word: string }>;
  /** lower-case deprecated word -> replacement */
  readonly deprecated: ReadonlyMap<string, string>;
}

let words: Words | undefined;

function load(): Words {
  if (words) return words;
  const text = readFileSync(new URL('./ucd-words.txt', import.meta.url), 'utf8');
  const valid = new Map<string, { code: Code; word: string }>();
  const deprecated = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([PSQECVD]) \| (\S+)\s+\|\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'D') deprecated.set(m[2].toLowerCase(), m[3].trim());
    else valid.set(m[2].toLowerCase(), { code: m[1] as Code, word: m[2] });
  }
  words = { valid, deprecated };
  return words;
}

/** The syntax code of a UCD word (P, S, Q, E, C, V), or undefined when not in the list. */
export function ucdWordCode(word: string): string | undefined {
  return load().valid.get(word.toLowerCase())?.code;
}

/** What is wrong with a UCD1+ string; empty when it is valid. */
export function checkUcd(ucd: string): string[] {
  const { valid, deprecated } = load();
  if (ucd.trim() === '') return ['an empty UCD: leave the ucd out or give one'];
  if (/\s/.test(ucd)) return [`'${ucd}' contains whitespace (words are separated by ';' alone)`];
  const problems: string[] = [];
  const seen = new Set<string>();
  const parts = ucd.split(';');
  parts.forEach((raw, i) => {
    if (raw === '') {
      problems.push(`'${ucd}' has an empty word (a stray ';')`);
      return;
    }
    let w = raw;
    const ns = /^([A-Za-z][A-Za-z0-9_-]*):(.*)$/.exec(raw);
    if (ns) {
      if (ns[1].toLowerCase() !== 'ivoa') {
        problems.push(`'${raw}' is in namespace '${ns[1]}', not an IVOA UCD word`);
        return;
      }
      w = ns[2];
    }
    const key = w.toLowerCase();
    if (seen.has(key)) problems.push(`'${w}' appears twice in '${ucd}'`);
    seen.add(key);
    const hit = valid.get(key);
    if (!hit) {
      const instead = deprecated.get(key);
      problems.push(
        instead
          ? `'${w}' is a deprecated UCD word: use '${instead}'`
          : `'${w}' is not a word of the IVOA UCD list${suggest(key, valid)}`,
      );
      return;
    }
    if (i === 0 && hit.code === 'S') {
      problems.push(`'${hit.word}' is a secondary word and cannot come first in '${ucd}'`);
    } else if (i > 0 && hit.code === 'P') {
      problems.push(`'${hit.word}' is a primary word and can only come first in '${ucd}'`);
    }
  });
  return problems;
}

function suggest(key: string, valid: ReadonlyMap<string, { word: string }>): string {
  const near = nearest(key, [...valid.keys()]);
  return near ? ` (did you mean '${valid.get(near)!.word}'?)` : '';
}

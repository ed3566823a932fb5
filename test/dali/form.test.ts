// Form bodies decoded chunk by chunk (DALI-3) must read exactly as node's querystring reads
// the whole body, wherever the socket splits it.
import { parse } from 'node:querystring';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FormDecoder, FormTooLargeError, MAX_FORM_FIELDS, readForm } from '../../src/dali/form.js';

function decodeIn(body: string, cuts: number[]): Record<string, unknown> {
  const bytes = Buffer.from(body, 'latin1');
  const d = new FormDecoder();
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    d.write(bytes.subarray(at, c));
    at = c;
  }
  return { ...d.end() };
}

/** A seeded generator, so a failure names the body it failed on and repeats. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ALPHABET = ['a', 'b', 'Q', '=', '&', '+', '%', '2', 'C', 'e', '9', 'G', '%2', '%E2%82%AC', '%zz', ' '];

describe('FormDecoder', () => {
  it('reads the forms clients send (QUERY, LANG, repeated UPLOAD)', () => {
    const body =
      'LANG=ADQL&QUERY=SELECT+*+FROM+demo.sources+WHERE+ra+%3E+10&UPLOAD=a%2Cparam%3Aa&UPLOAD=b%2Cparam%3Ab';
    expect(decodeIn(body, [])).toEqual({
      LANG: 'ADQL',
      QUERY: 'SELECT * FROM demo.sources WHERE ra > 10',
      UPLOAD: ['a,param:a', 'b,param:b'],
    });
  });

  it('keeps malformed escapes as written and decodes UTF-8', () => {
    for (const body of ['a=%', 'a=%4', 'a=%4g&b=%%41', 'a=%E2%82%AC', '=x', 'a', 'a&&b=', 'x=1=2'])
      expect(decodeIn(body, []), body).toEqual({ ...parse(body) });
  });

  it('agrees with querystring.parse on 2,000 random bodies cut at random places', () => {
    const r = rng(20261202);
    for (let n = 0; n < 2000; n++) {
      let body = '';
      const parts = Math.floor(r() * 30);
      for (let i = 0; i < parts; i++) body += ALPHABET[Math.floor(r() * ALPHABET.length)];
      const cuts: number[] = [];
      for (let c = 1; c < body.length; c++) if (r() < 0.3) cuts.push(c);
      expect(decodeIn(body, cuts), JSON.stringify({ body, cuts })).toEqual({ ...parse(body) });
    }
  });

  it('refuses a body over the byte limit and a form with too many fields (413)', async () => {
    await expect(readForm(Readable.from([Buffer.from('a=1&b=2')]), 5)).rejects.toBeInstanceOf(
      FormTooLargeError,
    );
    const many = Array.from({ length: MAX_FORM_FIELDS + 1 }, (_, i) => `f${i}=1`).join('&');
    await expect(readForm(Readable.from([Buffer.from(many)]), 1e6)).rejects.toThrow(/more than 1000 fields/);
    expect(await readForm(Readable.from([Buffer.from('QUERY=a%2'), Buffer.from('Cb')]), 100)).toEqual({
      QUERY: 'a,b',
    });
  });
});

import { describe, expect, it } from 'vitest';
import { parseYaml, toYaml, YamlError } from '../../src/broker/index.js';

describe('YAML subset (EB-16)', () => {
  it('reads block and flow collections, quoting and comments', () => {
    const doc = parseYaml(`
# comment
name: "my run"   # trailing comment
executable:
  kind: urn:x:pipeline-1.0
  params: {size: 24, mode: 'fast', flag: true}
list:
- a
- 2
- - nested
  - "x # not a comment"
maps:
  - name: one
    value: 1.5e3
  - name: two
    value: ~
empty: []
quoted: 'it''s'
`);
    expect(doc).toEqual({
      name: 'my run',
      executable: { kind: 'urn:x:pipeline-1.0', params: { size: 24, mode: 'fast', flag: true } },
      list: ['a', 2, ['nested', 'x # not a comment']],
      maps: [
        { name: 'one', value: 1500 },
        { name: 'two', value: null },
      ],
      empty: [],
      quoted: "it's",
    });
  });

  it('writes what it reads back unchanged', () => {
    const value = {
      kind: 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/session/scheduled-execution-session-1.0',
      meta: { uuid: '2f6c0b54-1c5e-4a5e-9a39-0d1c2f3e4a5b', messages: [] },
      phase: 'OFFERED',
      numbers: [1, -2.5, 0],
      strings: ['true', '123', 'a: b', '', 'line\nbreak', '#x', '- y'],
      nested: [{ a: { b: [{ c: null }] } }, [1, [2]]],
      flags: { yes: true, no: false },
    };
    expect(parseYaml(toYaml(value))).toEqual(value);
  });

  it('keeps a __proto__ key as data, in block and flow mappings', () => {
    const doc = parseYaml('a: {__proto__: {polluted: 1}}\n__proto__:\n  polluted: 2\n') as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.keys(doc)).toEqual(['a', '__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((doc.a as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(doc.a, '__proto__')?.value).toEqual({ polluted: 1 });
  });

  it('refuses what it does not support, naming the line', () => {
    expect(() => parseYaml('a: 1\nb: |\n  text\n')).toThrow(/line 2: block scalars/);
    expect(() => parseYaml('a: &x 1\n')).toThrow(YamlError);
    expect(() => parseYaml('a: 1\na: 2\n')).toThrow(/duplicate key "a"/);
    expect(() => parseYaml('a: [1, 2\n')).toThrow(/expected ','/);
    expect(() => parseYaml('a:\n    b: 1\n  c: 2\n')).toThrow(/indentation/);
  });
});

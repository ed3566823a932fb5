import { describe, expect, it } from 'vitest';
import { readRequest } from '../../src/broker/index.js';

/**
 * Reading jupyter-notebook executables (EB-31; issue 21 item 4): the notebook inline, as a
 * data: URL or an http(s) location, the mode, and refusals that point into the request
 * (EB-61). The sessions themselves run in conformance/broker-notebook.sh.
 */
const KIND = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/executable/jupyter-notebook-1.0';
const notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] };

const read = (executable: Record<string, unknown>) =>
  readRequest({ executable: { kind: KIND, ...executable } });

describe('jupyter-notebook executables (EB-31)', () => {
  it('defaults to an interactive server, with or without a notebook', () => {
    expect(read({}).request?.executable).toMatchObject({ kind: 'notebook', mode: 'interactive' });
    const inline = read({ content: notebook }).request?.executable;
    expect(inline).toMatchObject({ kind: 'notebook', mode: 'interactive' });
    expect(JSON.parse((inline as { content: string }).content)).toEqual(notebook);
  });

  it('reads a data: URL (base64 or percent-encoded) into the notebook itself, and keeps an http(s) location to fetch', () => {
    const b64 = `data:application/x-ipynb+json;base64,${Buffer.from(JSON.stringify(notebook)).toString('base64')}`;
    const pct = `data:application/x-ipynb+json,${encodeURIComponent(JSON.stringify(notebook))}`;
    for (const location of [b64, pct]) {
      const ex = read({ mode: 'batch', location }).request?.executable as {
        content?: string;
        location?: string;
      };
      expect(JSON.parse(ex.content as string)).toEqual(notebook);
      expect(ex.location).toBeUndefined();
    }
    const remote = read({ location: 'https://notebooks.example.org/a.ipynb' }).request?.executable;
    expect(remote).toMatchObject({ location: 'https://notebooks.example.org/a.ipynb', content: undefined });
  });

  it('refuses what it cannot run, saying where (EB-61)', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ mode: 'sideways' }, 'executable.mode'],
      [{ mode: 'batch' }, 'executable.location'],
      [{ location: 'file:///etc/passwd' }, 'executable.location'],
      [{ location: 'data:,{"cells": 1}' }, 'executable.location'],
      [{ content: 'not json' }, 'executable.content'],
      [{ content: notebook, location: 'https://notebooks.example.org/a.ipynb' }, 'executable.content'],
    ];
    for (const [ex, path] of cases) {
      const r = read(ex);
      expect(r.request, JSON.stringify(ex)).toBeUndefined();
      expect(r.messages.map((m) => m.values?.path)).toContain(path);
    }
  });

  it('data resource names become data/<name> next to the notebook: plain names only', () => {
    const r = readRequest({
      executable: { kind: KIND },
      data: [
        {
          kind: 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/data/ivoa-data-resource-1.0',
          meta: { name: '../../etc' },
          ivoa: { obscore: { obs_publisher_did: 'ivo://x/y' } },
        },
      ],
    });
    expect(r.request).toBeUndefined();
    expect(r.messages[0].message).toContain("the notebook's data/<name>");
  });
});

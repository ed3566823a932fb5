import { describe, expect, it } from 'vitest';
import { parseDuration, readRequest } from '../../src/broker/request.js';

const PIPE = 'urn:vonode:broker:types:executable:pipeline-1.0';

describe('execution request reader', () => {
  it('reads the V25 shape (type/name, nested requested ranges) and the V26 shape (kind/meta) alike (EB-20, EB-40)', () => {
    const v25 = readRequest({
      name: 'a',
      executable: { type: PIPE, name: 'x', pipeline: 'p' },
      compute: [
        {
          type: 'https://www.purl.org/ivoa.net/EB/schema/types/resources/compute/simple-compute-resource-1.0',
          cores: { requested: { min: 2, max: 4 } },
          memory: { min: 3 },
        },
      ],
      schedule: { requested: { start: '2030-01-01T00:00:00Z/PT2H', duration: 'PT30M' } },
    });
    expect(v25.messages).toEqual([]);
    expect(v25.request?.compute.cores).toEqual({ min: 2, max: 4 });
    expect(v25.request?.compute.memory).toEqual({ min: 3, max: 3 });
    expect(v25.request?.schedule).toEqual({
      earliest: Date.parse('2030-01-01T00:00:00Z'),
      latest: Date.parse('2030-01-01T02:00:00Z'),
      durationSeconds: 1800,
    });
    const v26 = readRequest({
      meta: { name: 'a' },
      executable: { kind: PIPE, meta: { name: 'x' }, pipeline: 'p' },
      compute: { kind: 'uri:simple-compute-resource-1.0', cores: { min: 2, max: 4 }, memory: { min: 3 } },
    });
    expect(v26.request?.compute.cores).toEqual(v25.request?.compute.cores);
    expect(v26.request?.name).toBe('a');
  });

  it('collects every problem with a path into the request (EB-61)', () => {
    const r = readRequest({
      executable: { kind: 'uri:docker-container-1.0', image: { locations: ['x'] }, privileged: true },
      compute: { cores: { min: 4, max: 2 } },
      data: [{ kind: 'uri:S3-data-resource-1.0', bucket: 'b' }],
      schedule: { requested: { duration: 'soon' } },
    });
    expect(r.request).toBeUndefined();
    expect(r.messages.map((m) => m.values?.path)).toEqual([
      'executable.privileged',
      'compute.cores',
      'data[0].kind',
      'data[0]',
      'schedule.requested.duration',
    ]);
    expect(readRequest('text').messages[0].message).toMatch(/mapping/);
    expect(readRequest({}).messages[0].values?.path).toBe('executable');
  });

  it('matches type URIs of every schema generation on their last segment (EB-85..88)', () => {
    for (const kind of [
      'https://www.purl.org/ivoa.net/EB/schema/types/resources/compute/simple-compute-1.0.yaml',
      'https://www.purl.org/ivoa.net/EB/schema/types/computer/simple-compute-resource-1.0',
      'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/compute/simple-compute-resource-1.0',
      'uri:simple-compute-resource-1.0',
    ]) {
      const r = readRequest({
        executable: { kind: PIPE, pipeline: 'p' },
        compute: { kind, cores: { min: 1 } },
      });
      expect(r.messages, kind).toEqual([]);
    }
  });

  it('parses ISO-8601 durations, leniently on input (EB-54)', () => {
    expect(parseDuration('PT1H30M')).toBe(5400);
    expect(parseDuration('P1DT1S')).toBe(86401);
    expect(parseDuration('P1H')).toBe(3600);
    expect(parseDuration('PT')).toBeUndefined();
    expect(parseDuration('1H')).toBeUndefined();
  });
});

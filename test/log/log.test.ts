import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/index.js';
import { consoleLine, createLogger, logLine, parseLogFormat } from '../../src/log/index.js';

/** Issue 23 item 5: one log format, JSON by default, readable on a terminal, warnings stackless. */
function collect() {
  const lines: string[] = [];
  return { lines, sink: { write: (l: string) => lines.push(l) } };
}

describe('node log', () => {
  it('writes one JSON record a line by default', () => {
    const { lines, sink } = collect();
    const log = createLogger({ level: 'info', format: 'json', sink });
    log.info({ status: 200, ms: 4.2 }, 'request');
    log.debug('not at info');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 30, msg: 'request', status: 200, ms: 4.2 });
  });

  it('writes a readable line in the console form', () => {
    const { lines, sink } = collect();
    const log = createLogger({ level: 'info', format: 'console', sink });
    log.warn({ url: '/tap/sync', status: 503 }, 'the database is unavailable');
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}the database is unavailable {2}url=\/tap\/sync status=503\n$/,
    );
    // A line that is not JSON passes unchanged.
    expect(consoleLine('plain')).toBe('plain\n');
  });

  it('gives a warning the error type and message, an error its stack', () => {
    const { lines, sink } = collect();
    const log = createLogger({ level: 'info', format: 'json', sink });
    const failure = new TypeError('connection terminated');
    log.warn({ err: failure }, 'retrying');
    log.warn(failure);
    log.error({ err: failure }, 'gave up');
    const [w1, w2, e] = lines.map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
    expect(w1?.err).toMatchObject({ type: 'TypeError', message: 'connection terminated' });
    expect(w1?.err?.stack ?? '').toBe('');
    expect(JSON.stringify(w2)).not.toContain('at ');
    expect(JSON.stringify(w2)).toContain('connection terminated');
    expect(String(e?.err?.stack)).toContain('TypeError: connection terminated\n    at ');
  });

  it('logs the node\'s "warning:" lines at warn, others at info', () => {
    const { lines, sink } = collect();
    const log = createLogger({ level: 'info', format: 'json', sink });
    logLine(log, 'warning: the spool folder is nearly full');
    logLine(log, 'ready in 2.1 s');
    const [w, i] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(w).toMatchObject({ level: 40, msg: 'the spool folder is nearly full' });
    expect(i).toMatchObject({ level: 30, msg: 'ready in 2.1 s' });
  });

  it('reads VONODE_LOG_FORMAT, defaulting to the console form on a terminal only', () => {
    expect(parseLogFormat(undefined, true)).toBe('console');
    expect(parseLogFormat('', false)).toBe('json');
    expect(parseLogFormat(' JSON ', true)).toBe('json');
    expect(parseLogFormat('pretty', false)).toBeUndefined();
    expect(() => parseConfig({ VONODE_LOG_FORMAT: 'pretty' })).toThrow(ConfigError);
    expect(() => parseConfig({ VONODE_LOG_FORMAT: 'pretty' })).toThrow(
      /VONODE_LOG_FORMAT='pretty'.*log format/,
    );
    expect(parseConfig({ VONODE_LOG_FORMAT: 'console' }).logFormat).toBe('console');
  });
});

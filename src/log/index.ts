import { type Logger, type LoggerOptions, pino } from 'pino';

/**
 * The node's one log (issue 23): every line of a running node, the HTTP requests and the
 * node's own messages alike, in one format on standard error. JSON by default, so a log
 * collector reads each line as a record; a readable console form when a person watches a
 * terminal (VONODE_LOG_FORMAT=console, the default when standard error is a terminal).
 */
export type LogFormat = 'json' | 'console';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Where the lines go: standard error unless a test or tool gives its own. */
export interface LineSink {
  write(line: string): unknown;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
// Fields every JSON line has; the console form shows them in its own way or not at all.
const FRAME = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** A pino JSON line as one readable line: time, level, message, then the other fields. */
export function consoleLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = new Date(Number(record.time)).toISOString().slice(11, 23);
  const level = (LEVEL_NAMES[Number(record.level)] ?? String(record.level)).padEnd(5);
  const fields = Object.entries(record)
    .filter(([k]) => !FRAME.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${time} ${level} ${String(record.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}\n`;
}

/**
 * Warnings and lower carry an error's type and message, not its stack: a transient
 * condition (a lost database connection that is retried) is not a crash, and a stack in
 * the log reads as one. Errors keep their stacks.
 */
function withoutStack(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  // Same class and fields (pino's serializer names the type by its constructor), no stack.
  const copy = Object.create(Object.getPrototypeOf(value) as object) as Error;
  Object.assign(copy, value, { message: value.message });
  Object.defineProperty(copy, 'stack', { value: undefined, enumerable: false });
  return copy;
}

export function createLogger(opts: {
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly sink?: LineSink;
}): Logger {
  const sink = opts.sink ?? process.stderr;
  const options: LoggerOptions = {
    level: opts.level,
    hooks: {
      logMethod(args, method, level) {
        if (level < 50) {
          const [first, ...rest] = args as unknown[];
          if (first instanceof Error) return method.apply(this, [withoutStack(first), ...rest] as never);
          if (first && typeof first === 'object' && 'err' in first) {
            const o = first as Record<string, unknown>;
            return method.apply(this, [{ ...o, err: withoutStack(o.err) }, ...rest] as never);
          }
        }
        return method.apply(this, args);
      },
    },
  };
  const destination =
    opts.format === 'console' ? { write: (line: string) => sink.write(consoleLine(line)) } : sink;
  return pino(options, destination as never);
}

/** VONODE_LOG_FORMAT, or the default for where standard error goes. */
export function parseLogFormat(text: string | undefined, stderrIsTty: boolean): LogFormat | undefined {
  const t = text?.trim().toLowerCase();
  if (!t) return stderrIsTty ? 'console' : 'json';
  return t === 'json' || t === 'console' ? t : undefined;
}

/** A node message ("vonode: warning: ...") at its level: warnings as warn, others as info. */
export function logLine(logger: Logger, line: string): void {
  const m = /^warning:\s*/i.exec(line);
  if (m) logger.warn(line.slice(m[0].length));
  else logger.info(line);
}

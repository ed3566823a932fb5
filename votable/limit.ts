export interface LimitedRows {
  leadingStatus: 'OK' | 'OVERFLOW';
  rows: AsyncIterable<readonly unknown[]>;
  trailingStatus: () => 'OVERFLOW' | undefined;
}

/**
 * MAXREC for any row source (DALI-44/45): reads ahead up to `readAheadRows` (default 5,000)
 * rows; if the source ends or passes MAXREC within them, the true status goes in the leading
 * INFO (what pyvo 1.2 reads). Otherwise the leading status is OK and, when a row beyond MAXREC
 * turns up while streaming, trailingStatus() answers OVERFLOW. Exactly `maxRecords` rows are
 * written either way; the source is closed as soon as the extra row is seen.
 * Spread the result into a ResultDocument.
 */
export async function limitRows(
  source: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>,
  options: { maxRecords: number; readAheadRows?: number },
): Promise<LimitedRows> {
  const max = Math.max(0, options.maxRecords);
  const ahead = Math.max(0, options.readAheadRows ?? 5000);
  const it: AsyncIterator<readonly unknown[]> | Iterator<readonly unknown[]> =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<readonly unknown[]>)[Symbol.asyncIterator]()
      : (source as Iterable<readonly unknown[]>)[Symbol.iterator]();
  const buffered: (readonly unknown[])[] = [];
  let ended = false;
  while (buffered.length < Math.min(max + 1, ahead + 1)) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    buffered.push(r.value);
  }
  if (ended || buffered.length > max) {
    const overflow = buffered.length > max;
    if (!ended) await it.return?.();
    const rows = buffered.slice(0, max);
    return {
      leadingStatus: overflow ? 'OVERFLOW' : 'OK',
      rows: (async function* () {
        yield* rows;
      })(),
      trailingStatus: () => undefined,
    };
  }
  let overflow = false;
  async function* rest(): AsyncGenerator<readonly unknown[]> {
    let n = 0;
    try {
      for (const r of buffered) {
        n++;
        yield r;
      }
      buffered.length = 0;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        if (n >= max) {
          overflow = true;
          return;
        }
        n++;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  return { leadingStatus: 'OK', rows: rest(), trailingStatus: () => (overflow ? 'OVERFLOW' : undefined) };
}

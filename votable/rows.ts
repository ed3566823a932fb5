/** Iterates sync or async row sources alike. */
export async function* iterateRows(
  rows: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>,
): AsyncGenerator<readonly unknown[]> {
  if (Symbol.asyncIterator in rows) yield* rows as AsyncIterable<readonly unknown[]>;
  else yield* rows as Iterable<readonly unknown[]>;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

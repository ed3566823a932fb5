const CSV_QUOTE = /[",\r\n]/;

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
export function csvField(s: string): string {
  return CSV_QUOTE.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const TSV_SPECIAL = /[\t\n\r\\]/;

/** TSV (IANA text/tab-separated-values) cannot hold tabs or line breaks in a field: escape them. */
export function tsvField(s: string): string {
  return TSV_SPECIAL.test(s)
    ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : s;
}

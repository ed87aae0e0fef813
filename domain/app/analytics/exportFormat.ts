/**
 * Export encodings, written row by row so a large export is never held whole: CSV as RFC 4180
 * (a header row, CRLF line ends, a field quoted when it holds a comma, quote, CR or LF, quotes
 * doubled) or one JSON array whose elements are sent as they come.
 */
export type ExportValue = string | number | boolean | null;

export const csvField = (value: ExportValue): string => {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

export const csvLine = (values: readonly ExportValue[]): string => `${values.map(csvField).join(',')}\r\n`;

/** Lines of text, a chunk at a time, batching small rows so a million rows are not a million writes. */
const CHUNK_CHARS = 64 * 1024;

export async function* encodeCsv(
  columns: readonly string[], rows: AsyncIterable<Readonly<Record<string, ExportValue>>> | Iterable<Readonly<Record<string, ExportValue>>>,
): AsyncGenerator<string> {
  let chunk = csvLine(columns);
  for await (const row of rows) {
    chunk += csvLine(columns.map((column) => row[column] ?? null));
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

export async function* encodeJsonArray(
  columns: readonly string[], rows: AsyncIterable<Readonly<Record<string, ExportValue>>> | Iterable<Readonly<Record<string, ExportValue>>>,
): AsyncGenerator<string> {
  let chunk = '[';
  let first = true;
  for await (const row of rows) {
    // Only the named columns, in their order, whatever else the row carries.
    const element = Object.fromEntries(columns.map((column) => [column, row[column] ?? null]));
    chunk += `${first ? '\n' : ',\n'}${JSON.stringify(element)}`;
    first = false;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}${first ? '' : '\n'}]\n`;
}

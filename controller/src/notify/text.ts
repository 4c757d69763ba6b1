// Text helpers shared by the e-mail and Slack renderers.

/** How much of a payload a notification shows. */
export const PAYLOAD_EXCERPT_BYTES = 2048;
/** How much of the termination message or log tail a notification shows. */
export const OUTPUT_EXCERPT_BYTES = 4096;

export type Excerpt = {
  text: string;
  truncated: boolean;
  shownBytes: number;
  totalBytes: number;
};

const isContinuationByte = (byte: number | undefined) => byte !== undefined && (byte & 0xc0) === 0x80;

/** The first maxBytes of UTF-8 text, cut on a character boundary. */
export function excerptHead(text: string, maxBytes: number, totalBytes?: number): Excerpt {
  const bytes = Buffer.from(text, 'utf8');
  const total = Math.max(totalBytes ?? 0, bytes.length);
  let end = Math.min(maxBytes, bytes.length);
  while (end > 0 && end < bytes.length && isContinuationByte(bytes[end])) end--;
  return { text: bytes.subarray(0, end).toString('utf8'), truncated: end < total, shownBytes: end, totalBytes: total };
}

/** The last maxBytes of UTF-8 text (the end of a log is what explains a crash). */
export function excerptTail(text: string, maxBytes: number): Excerpt {
  const bytes = Buffer.from(text, 'utf8');
  let start = Math.max(0, bytes.length - maxBytes);
  while (start < bytes.length && isContinuationByte(bytes[start])) start++;
  return {
    text: bytes.subarray(start).toString('utf8'),
    truncated: start > 0,
    shownBytes: bytes.length - start,
    totalBytes: bytes.length,
  };
}

/** One line of at most maxChars, for subjects and headers: no CR/LF can reach a mail header. */
export function oneLine(value: string, maxChars: number): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
  const flat = value.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length <= maxChars ? flat : `${chars.slice(0, maxChars - 1).join('')}…`;
}

export function formatTime(date: Date): string {
  return Number.isNaN(date.getTime()) ? 'unknown' : `${date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB`;
}

/** "first 2 KiB of 5.3 KiB" / "last 4 KiB of 10 KiB": what a truncated excerpt shows. */
export function truncationNote(excerpt: Excerpt, which: 'first' | 'last'): string {
  return `truncated: showing the ${which} ${formatBytes(excerpt.shownBytes)} of ${formatBytes(excerpt.totalBytes)}`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "a, b, c and 17 more" */
export function listWithRest(shown: string[], total: number): string {
  const rest = total - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}

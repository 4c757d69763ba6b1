// What SQS accepts, checked before sending so a message that can never be sent is known as such.

/** Characters SQS allows in a body or string attribute: #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD #x10000–#x10FFFF. */
const ALLOWED = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const FIRST_DISALLOWED = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The largest message SQS takes (body and attributes), since 2025. */
export const SQS_MAX_MESSAGE_BYTES = 1024 * 1024;
export const SQS_MAX_ATTRIBUTES = 10;
export const SQS_MAX_BATCH_ENTRIES = 10;

/** Why SQS would refuse `text` as a message body, or undefined. */
export function sqsTextProblem(text: string): string | undefined {
  return text === '' ? 'it is empty' : unsupportedCharacter(text);
}

/** The first character SQS does not carry, described, or undefined. */
export function unsupportedCharacter(text: string): string | undefined {
  if (ALLOWED.test(text)) return undefined;
  const match = FIRST_DISALLOWED.exec(text);
  const unit = match ? match[0].codePointAt(0)! : 0;
  return `holds U+${unit.toString(16).toUpperCase().padStart(4, '0')} at position ${match?.index ?? 0}, which SQS does not carry`;
}

// Slack incoming-webhook payloads. `text` alone is enough for Slack-compatible receivers
// (Mattermost, Rocket.Chat); `blocks` is the richer layout for Slack itself.
import { DIGEST_DETAILED } from './digest.ts';
import { digestSummary } from './html.ts';
import {
  OUTPUT_EXCERPT_BYTES, PAYLOAD_EXCERPT_BYTES, excerptHead, excerptTail, formatTime, listWithRest, oneLine, plural,
  truncationNote, type Excerpt,
} from './text.ts';
import type { FailureDigest, FailureReport } from './types.ts';

type PlainText = { type: 'plain_text'; text: string; emoji?: boolean };
type Mrkdwn = { type: 'mrkdwn'; text: string };
export type SlackBlock =
  | { type: 'header'; text: PlainText }
  | { type: 'section'; text?: Mrkdwn; fields?: Mrkdwn[] }
  | { type: 'context'; elements: Mrkdwn[] }
  | { type: 'divider' };
export type SlackMessage = { text: string; blocks: SlackBlock[] };

// Slack's limits: longer texts make the whole post fail with invalid_blocks.
const HEADER_MAX_CHARS = 150;
const SECTION_MAX_CHARS = 3000;
const FIELD_MAX_CHARS = 2000;
/** Digest groups beyond this are summed into one line, keeping under Slack's 50 blocks. */
const DIGEST_GROUP_BLOCKS = 10;

const SLACK_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Escapes what Slack treats as markup (<!channel>, <url|label>); text stays otherwise literal. */
export function escapeSlack(value: string): string {
  return value.replace(/[&<>]/g, (char) => SLACK_ESCAPES[char] ?? char);
}

/** Escaped text of at most maxChars, cut between characters rather than inside an escape. */
function fitEscaped(value: string, maxChars: number, keep: 'start' | 'end' = 'start'): { text: string; cut: boolean } {
  const chars = Array.from(value);
  if (keep === 'end') chars.reverse();
  const kept: string[] = [];
  let length = 0;
  let cut = false;
  for (const char of chars) {
    const escaped = escapeSlack(char);
    if (length + escaped.length > maxChars) {
      cut = true;
      break;
    }
    kept.push(escaped);
    length += escaped.length;
  }
  if (keep === 'end') kept.reverse();
  return { text: kept.join(''), cut };
}

/** A code block that a ``` inside untrusted text cannot close early. */
function codeBlock(label: string, excerpt: Excerpt | undefined, which: 'first' | 'last'): string {
  if (!excerpt) return `*${label}*: none recorded`;
  const fence = '```';
  const safe = excerpt.text.replace(/```/g, '`\u200b`\u200b`');
  const budget = SECTION_MAX_CHARS - label.length - 120;
  const { text, cut } = fitEscaped(safe, budget, which === 'first' ? 'start' : 'end');
  const note = excerpt.truncated || cut ? ` _(${cut ? `truncated to the ${which} part that fits Slack` : truncationNote(excerpt, which)})_` : '';
  return `*${label}*${note}\n${fence}${text || ' '}${fence}`;
}

const field = (name: string, value: string): Mrkdwn => ({
  type: 'mrkdwn',
  text: `*${name}*\n${fitEscaped(value, FIELD_MAX_CHARS - name.length - 4).text}`,
});

function failureFields(report: FailureReport): Mrkdwn[] {
  return [
    field('Job type', report.jobType),
    field('Job', report.jobName),
    field('Namespace', report.namespace),
    field('Binding', report.binding),
    field('Reason', report.reason),
    field('Exit code', report.exitCode === undefined ? 'none' : String(report.exitCode)),
    field('Attempts', String(report.attempts)),
    field('Failed at', formatTime(report.failedAt)),
  ];
}

function header(text: string): SlackBlock {
  // Escaped like the rest: no markup gets through, however a Slack-compatible receiver treats plain_text.
  return { type: 'header', text: { type: 'plain_text', text: fitEscaped(oneLine(text, HEADER_MAX_CHARS), HEADER_MAX_CHARS).text, emoji: false } };
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

export function renderFailureSlack(report: FailureReport): SlackMessage {
  const output = report.message ? excerptTail(report.message, OUTPUT_EXCERPT_BYTES) : undefined;
  const payload = excerptHead(report.payload, PAYLOAD_EXCERPT_BYTES, report.payloadBytes);
  return {
    text: escapeSlack(oneLine(
      `Job ${report.jobName} (${report.namespace}/${report.jobType}) failed: ${report.reason}` +
      (report.exitCode === undefined ? '' : `, exit code ${report.exitCode}`),
      500,
    )),
    blocks: [
      header(`Job failed: ${report.jobName}`),
      { type: 'section', fields: failureFields(report) },
      section(codeBlock('Termination message / last log lines', output, 'last')),
      section(codeBlock('Payload', payload, 'first')),
      {
        type: 'context',
        elements: [{
          type: 'mrkdwn',
          text: fitEscaped(`Message ID ${report.messageId} · kubectl -n ${report.namespace} describe job ${report.jobName}`, FIELD_MAX_CHARS).text,
        }],
      },
    ],
  };
}

export function renderDigestSlack(digest: FailureDigest): SlackMessage {
  const shownGroups = digest.groups.slice(0, DIGEST_GROUP_BLOCKS);
  const otherGroups = digest.groups.slice(DIGEST_GROUP_BLOCKS);
  const groupLines = shownGroups.map((group) => section(fitEscaped(
    `${group.jobType} · ${group.reason}: ${plural(group.count, 'failure')}` +
    (group.exitCodes.length > 0 ? `, exit codes ${group.exitCodes.join(', ')}` : '') +
    `\nJobs: ${listWithRest(group.jobNames, group.count)}`,
    SECTION_MAX_CHARS,
  ).text));
  if (otherGroups.length > 0) {
    const count = otherGroups.reduce((sum, group) => sum + group.count, 0);
    groupLines.push(section(`…and ${plural(count, 'failure')} in ${plural(otherGroups.length, 'other group')}`));
  }
  const detailed = digest.detailed.slice(0, DIGEST_DETAILED).map((report, index) => {
    const output = report.message ? excerptTail(report.message, 1024) : undefined;
    const title = fitEscaped(`${index + 1}. ${report.jobName} · ${report.reason}` +
      (report.exitCode === undefined ? '' : ` · exit code ${report.exitCode}`) + ` · message ${report.messageId}`, 400).text;
    return section(`${title}\n${codeBlock('Last output', output, 'last')}`);
  });
  return {
    text: escapeSlack(oneLine(
      `${plural(digest.count, 'more Job', 'more Jobs')} failed in ${digest.namespace}/${digest.jobType} ` +
      `between ${formatTime(digest.windowStart)} and ${formatTime(digest.windowEnd)}`,
      500,
    )),
    blocks: [
      header(`${plural(digest.count, 'more Job', 'more Jobs')} failed: ${digest.namespace}/${digest.jobType}`),
      section(fitEscaped(digestSummary(digest), SECTION_MAX_CHARS).text),
      ...groupLines,
      ...(detailed.length > 0 ? [{ type: 'divider' } as const, ...detailed] : []),
    ],
  };
}

// The failure e-mail: a diagnostic page with everything needed to find and replay the message.
// Payloads and logs are untrusted: every interpolated value goes through escapeHtml.
import { DIGEST_NAMES_PER_GROUP } from './digest.ts';
import {
  OUTPUT_EXCERPT_BYTES, PAYLOAD_EXCERPT_BYTES, excerptHead, excerptTail, formatTime, listWithRest, oneLine, plural,
  truncationNote, type Excerpt,
} from './text.ts';
import type { FailureDigest, FailureReport } from './types.ts';

export type RenderedEmail = { subject: string; html: string; text: string };

const SUBJECT_MAX_CHARS = 200;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value
    .replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char)
    // Control characters are invalid in HTML; show that something was there.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd');
}

const style = {
  body: 'margin:0;padding:16px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1f2328;background:#ffffff',
  h1: 'margin:0 0 12px;font-size:18px;color:#b42318',
  h2: 'margin:20px 0 6px;font-size:15px',
  h3: 'margin:16px 0 6px;font-size:14px',
  table: 'border-collapse:collapse;margin:0 0 8px',
  th: 'text-align:left;vertical-align:top;padding:4px 12px 4px 0;color:#57606a;font-weight:600;white-space:nowrap',
  td: 'vertical-align:top;padding:4px 12px 4px 0',
  gridTh: 'text-align:left;padding:6px 10px;border:1px solid #d0d7de;background:#f6f8fa',
  gridTd: 'vertical-align:top;padding:6px 10px;border:1px solid #d0d7de',
  pre: 'margin:0;padding:10px;background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;font-family:SFMono-Regular,Consolas,Menlo,monospace;font-size:12px;white-space:pre-wrap;word-break:break-all',
  note: 'margin:4px 0;color:#9a6700;font-size:12px',
  muted: 'margin:20px 0 0;color:#57606a;font-size:12px',
  code: 'font-family:SFMono-Regular,Consolas,Menlo,monospace;font-size:12px',
} as const;

function page(subject: string, content: string): string {
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>${escapeHtml(subject)}</title></head>`,
    `<body style="${style.body}">`,
    content,
    `<p style="${style.muted}">Sent by Sluice, which turns SQS messages into Kubernetes Jobs.</p>`,
    '</body></html>',
  ].join('\n');
}

function fields(report: FailureReport): [string, string][] {
  return [
    ['Job type', report.jobType],
    ['Job', report.jobName],
    ['Namespace', report.namespace],
    ['Binding', report.binding],
    ['Message ID', report.messageId],
    ['Reason', report.reason],
    ['Exit code', report.exitCode === undefined ? 'none' : String(report.exitCode)],
    ['Attempts', String(report.attempts)],
    ['Failed at', formatTime(report.failedAt)],
  ];
}

const kubectlHint = (report: FailureReport) => `kubectl -n ${report.namespace} describe job ${report.jobName}`;

function excerpts(report: FailureReport): { output?: Excerpt; payload: Excerpt } {
  return {
    output: report.message ? excerptTail(report.message, OUTPUT_EXCERPT_BYTES) : undefined,
    payload: excerptHead(report.payload, PAYLOAD_EXCERPT_BYTES, report.payloadBytes),
  };
}

function preBlock(title: string, excerpt: Excerpt | undefined, which: 'first' | 'last', heading: 'h2' | 'h3'): string {
  const parts = [`<${heading} style="${style[heading]}">${escapeHtml(title)}</${heading}>`];
  if (!excerpt) return [...parts, `<p style="${style.note}">none recorded</p>`].join('\n');
  if (excerpt.truncated) parts.push(`<p style="${style.note}">${escapeHtml(truncationNote(excerpt, which))}</p>`);
  parts.push(`<pre style="${style.pre}">${escapeHtml(excerpt.text)}</pre>`);
  return parts.join('\n');
}

function failureDetailsHtml(report: FailureReport, heading: 'h2' | 'h3'): string {
  const rows = fields(report)
    .map(([name, value]) => `<tr><th style="${style.th}">${escapeHtml(name)}</th><td style="${style.td}">${escapeHtml(value)}</td></tr>`)
    .join('\n');
  const { output, payload } = excerpts(report);
  return [
    `<table role="presentation" style="${style.table}">`,
    rows,
    '</table>',
    preBlock('Termination message / last log lines', output, 'last', heading),
    preBlock('Payload', payload, 'first', heading),
    `<p style="${style.muted}">Inspect: <span style="${style.code}">${escapeHtml(kubectlHint(report))}</span></p>`,
  ].join('\n');
}

function textBlock(title: string, excerpt: Excerpt | undefined, which: 'first' | 'last'): string {
  if (!excerpt) return `${title}: none recorded`;
  const note = excerpt.truncated ? ` (${truncationNote(excerpt, which)})` : '';
  return `${title}${note}:\n${excerpt.text}`;
}

function failureDetailsText(report: FailureReport): string {
  const width = Math.max(...fields(report).map(([name]) => name.length));
  const { output, payload } = excerpts(report);
  return [
    fields(report).map(([name, value]) => `${`${name}:`.padEnd(width + 1)} ${value}`).join('\n'),
    '',
    textBlock('Termination message / last log lines', output, 'last'),
    '',
    textBlock('Payload', payload, 'first'),
    '',
    `Inspect: ${kubectlHint(report)}`,
  ].join('\n');
}

export function failureSubject(report: FailureReport): string {
  return oneLine(`[Sluice] ${report.namespace}/${report.jobType}: Job ${report.jobName} failed (${report.reason})`, SUBJECT_MAX_CHARS);
}

export function renderFailureEmail(report: FailureReport): RenderedEmail {
  const subject = failureSubject(report);
  const headline = `Job ${report.jobName} failed: ${report.reason}`;
  return {
    subject,
    html: page(subject, [`<h1 style="${style.h1}">${escapeHtml(headline)}</h1>`, failureDetailsHtml(report, 'h2')].join('\n')),
    text: [headline, '', failureDetailsText(report), '', '-- ', 'Sent by Sluice.'].join('\n'),
  };
}

export function digestSubject(digest: FailureDigest): string {
  return oneLine(
    `[Sluice] ${digest.namespace}/${digest.jobType}: ${plural(digest.count, 'more Job', 'more Jobs')} failed (digest)`,
    SUBJECT_MAX_CHARS,
  );
}

/** The opening sentence of a digest: how many, where, when, and why it is a digest. */
export function digestSummary(digest: FailureDigest): string {
  const already = digest.sentIndividually > 0
    ? `, in addition to the ${plural(digest.sentIndividually, 'failure')} already reported one by one`
    : '';
  return `${plural(digest.count, 'Job')} of type ${digest.jobType} in namespace ${digest.namespace} failed between ` +
    `${formatTime(digest.windowStart)} and ${formatTime(digest.windowEnd)}${already}. ` +
    'They are summarised here so that a burst of failures sends one message instead of hundreds.';
}

function exitCodesText(exitCodes: number[]): string {
  return exitCodes.length === 0 ? 'none' : exitCodes.join(', ');
}

export function renderDigestEmail(digest: FailureDigest): RenderedEmail {
  const subject = digestSubject(digest);
  const headline = `${plural(digest.count, 'more Job', 'more Jobs')} failed in ${digest.namespace}/${digest.jobType}`;
  const groupRows = digest.groups.map((group) => [
    '<tr>',
    `<td style="${style.gridTd}">${escapeHtml(group.jobType)}</td>`,
    `<td style="${style.gridTd}">${escapeHtml(group.reason)}</td>`,
    `<td style="${style.gridTd};text-align:right">${group.count}</td>`,
    `<td style="${style.gridTd}">${escapeHtml(exitCodesText(group.exitCodes))}</td>`,
    `<td style="${style.gridTd}">${escapeHtml(listWithRest(group.jobNames, group.count))}</td>`,
    '</tr>',
  ].join(''));
  const detailed = digest.detailed.map((report, index) => [
    `<h2 style="${style.h2}">${index + 1}. Job ${escapeHtml(report.jobName)}: ${escapeHtml(report.reason)}</h2>`,
    failureDetailsHtml(report, 'h3'),
  ].join('\n'));
  const html = page(subject, [
    `<h1 style="${style.h1}">${escapeHtml(headline)}</h1>`,
    `<p>${escapeHtml(digestSummary(digest))}</p>`,
    `<table style="${style.table}">`,
    '<tr>' + ['Job type', 'Reason', 'Failures', 'Exit codes', `Jobs (first ${DIGEST_NAMES_PER_GROUP})`]
      .map((name) => `<th style="${style.gridTh}">${escapeHtml(name)}</th>`).join('') + '</tr>',
    ...groupRows,
    '</table>',
    detailed.length > 0 ? `<p>The first ${plural(detailed.length, 'failure')} in detail:</p>` : '',
    ...detailed,
  ].join('\n'));

  const text = [
    headline,
    '',
    digestSummary(digest),
    '',
    ...digest.groups.map((group) =>
      `- ${group.jobType} / ${group.reason}: ${plural(group.count, 'failure')}, exit codes ${exitCodesText(group.exitCodes)}\n` +
      `  Jobs: ${listWithRest(group.jobNames, group.count)}`),
    ...digest.detailed.flatMap((report, index) => ['', `${index + 1}. Job ${report.jobName}: ${report.reason}`, failureDetailsText(report)]),
    '',
    '-- ',
    'Sent by Sluice.',
  ].join('\n');
  return { subject, html, text };
}

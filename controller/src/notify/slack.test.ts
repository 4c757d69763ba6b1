import { describe, expect, it } from 'vitest';
import { buildDigest } from './digest.ts';
import { escapeSlack, renderDigestSlack, renderFailureSlack, type SlackBlock, type SlackMessage } from './slack.ts';
import { failureReport } from './test-support.ts';

const texts = (message: SlackMessage) => message.blocks.flatMap((block: SlackBlock) => {
  if (block.type === 'header') return [block.text.text];
  if (block.type === 'section') return [block.text?.text ?? '', ...(block.fields ?? []).map((f) => f.text)];
  if (block.type === 'context') return block.elements.map((e) => e.text);
  return [];
});

describe('renderFailureSlack', () => {
  it('carries the failure in text and blocks', () => {
    const message = renderFailureSlack(failureReport());
    expect(message.text).toBe('Job render-7f3a9c (media/render) failed: BackoffLimitExceeded, exit code 137');
    const all = texts(message).join('\n');
    for (const value of ['*Job type*\nrender', '*Binding*\nvideos', '*Attempts*\n3', 'CUDA out of memory', '{"videoId":"v-42","quality":"1080p"}', '5fea7756-0ea4-451a-a703-a558b933e274']) {
      expect(all).toContain(value);
    }
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Job failed: render-7f3a9c', emoji: false } });
  });

  it('escapes Slack markup so a payload cannot mention @channel or forge links', () => {
    const message = renderFailureSlack(failureReport({ payload: '<!channel> <https://evil.example|click> & ``` break out', jobName: '<!here>' }));
    const all = texts(message).join('\n') + message.text;
    expect(all).not.toMatch(/<!channel>|<!here>|<https:/);
    expect(all).toContain('&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp;');
    // The payload's own ``` cannot close the code block early.
    const payloadBlock = texts(message).find((t) => t.startsWith('*Payload*'))!;
    expect(payloadBlock.match(/```/g)).toHaveLength(2);
  });

  it('stays within Slack block limits for huge, markup-heavy payloads and logs', () => {
    const message = renderFailureSlack(failureReport({ payload: '<'.repeat(50_000), message: '&'.repeat(50_000), jobName: 'j'.repeat(300) }));
    for (const block of message.blocks) {
      if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(150);
      if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
      if (block.type === 'section') for (const field of block.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(2000);
    }
    const payloadBlock = texts(message).find((t) => t.startsWith('*Payload*'))!;
    expect(payloadBlock).toContain('truncated');
    // Whole escapes only: the cut never leaves half an entity behind.
    expect(payloadBlock.split('```')[1]).toMatch(/^(&lt;)+$/);
    const outputBlock = texts(message).find((t) => t.startsWith('*Termination message'))!;
    expect(outputBlock.split('```')[1]).toMatch(/^(&amp;)+$/);
  });
});

describe('renderDigestSlack', () => {
  const reports = Array.from({ length: 195 }, (_, i) =>
    failureReport({ jobName: `render-${i}`, reason: i % 3 === 0 ? 'DeadlineExceeded' : 'BackoffLimitExceeded' }));
  const digest = buildDigest(reports, {
    namespace: 'media', jobType: 'render', start: new Date('2026-03-01T12:00:00Z'), end: new Date('2026-03-01T12:01:00Z'), sentIndividually: 5,
  });

  it('mentions the count and groups compactly', () => {
    const message = renderDigestSlack(digest);
    expect(message.text).toContain('195 more Jobs failed in media/render');
    const all = texts(message).join('\n');
    expect(all).toContain('render · BackoffLimitExceeded: 130 failures, exit codes 137');
    expect(all).toContain('render · DeadlineExceeded: 65 failures');
    expect(all).toContain('and 120 more');
    expect(all.match(/^\d\. render-\d+/gm)).toEqual(['1. render-0', '2. render-1', '3. render-2']);
  });

  it('keeps under the 50-block limit however many groups there are', () => {
    const many = buildDigest(Array.from({ length: 200 }, (_, i) => failureReport({ reason: `Reason${i}` })), {
      namespace: 'media', jobType: 'render', start: new Date(), end: new Date(),
    });
    const message = renderDigestSlack(many);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(texts(message).join('\n')).toContain('…and 190 failures in 190 other groups');
  });

  it('escapes Slack markup from the failures', () => {
    const hostile = renderDigestSlack(buildDigest([failureReport({ reason: '<!channel>' })], {
      namespace: 'media', jobType: 'render', start: new Date(), end: new Date(),
    }));
    expect(JSON.stringify(hostile)).not.toContain('<!channel>');
  });
});

describe('escapeSlack', () => {
  it('escapes only the three control characters', () => {
    expect(escapeSlack('a & b < c > d "e" *f*')).toBe('a &amp; b &lt; c &gt; d "e" *f*');
  });
});

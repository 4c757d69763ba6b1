import { describe, expect, it } from 'vitest';
import { buildDigest } from './digest.ts';
import { escapeHtml, renderDigestEmail, renderFailureEmail } from './html.ts';
import { failureReport } from './test-support.ts';

describe('escapeHtml', () => {
  it('escapes markup and quotes', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('replaces control characters that are invalid in HTML', () => {
    expect(escapeHtml('a\u0000b\u001bc\nd\te')).toBe('a\ufffdb\ufffdc\nd\te');
  });
});

describe('renderFailureEmail', () => {
  it('shows every field of the report', () => {
    const email = renderFailureEmail(failureReport());
    for (const value of [
      'render', 'render-7f3a9c', 'media', 'videos', '5fea7756-0ea4-451a-a703-a558b933e274', 'BackoffLimitExceeded', '137',
      '2026-03-01 12:00:00 UTC', 'CUDA out of memory', '{&quot;videoId&quot;:&quot;v-42&quot;,&quot;quality&quot;:&quot;1080p&quot;}',
    ]) {
      expect(email.html).toContain(value);
    }
    expect(email.html).toMatch(/Attempts<\/th><td[^>]*>3</);
    expect(email.subject).toBe('[Sluice] media/render: Job render-7f3a9c failed (BackoffLimitExceeded)');
    expect(email.text).toContain('Exit code:  137');
    expect(email.text).toContain('{"videoId":"v-42","quality":"1080p"}');
  });

  it('escapes a hostile payload, log and names so no markup gets through', () => {
    const email = renderFailureEmail(failureReport({
      payload: '{"name":"<script>alert(document.cookie)</script>"}',
      message: '</pre><img src=x onerror=alert(1)>',
      jobName: 'render-<b>bold</b>',
      reason: '"><iframe>',
    }));
    expect(email.html).not.toContain('<script');
    expect(email.html).not.toContain('<img');
    expect(email.html).not.toContain('<iframe');
    expect(email.html).not.toContain('<b>');
    expect(email.html).toContain('&lt;script&gt;alert(document.cookie)&lt;/script&gt;');
    expect(email.html).toContain('&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;');
    // The plain-text part shows the payload as it was.
    expect(email.text).toContain('<script>alert(document.cookie)</script>');
  });

  it('shows only the first 2 KiB of a large payload, marked as truncated', () => {
    const payload = JSON.stringify({ frames: 'A'.repeat(10_000) });
    const email = renderFailureEmail(failureReport({ payload }));
    expect(email.html).toContain('truncated: showing the first 2 KiB of 9.8 KiB');
    const shown = /<pre[^>]*>(\{&quot;frames&quot;:&quot;A+)<\/pre>/.exec(email.html)?.[1];
    expect(shown?.replaceAll('&quot;', '"')).toHaveLength(2048);
    expect(email.text).toContain('Payload (truncated: showing the first 2 KiB of 9.8 KiB):');
  });

  it('keeps the last lines of a long log, marked as truncated', () => {
    const message = `${Array.from({ length: 2000 }, (_, i) => `step ${i}`).join('\n')}\nFATAL: model checksum mismatch`;
    const email = renderFailureEmail(failureReport({ message }));
    expect(email.html).toContain('FATAL: model checksum mismatch');
    expect(email.html).not.toContain('step 0\n');
    expect(email.html).toMatch(/truncated: showing the last 4 KiB of [\d.]+ KiB/);
  });

  it('says so when there is no exit code or output', () => {
    const email = renderFailureEmail(failureReport({ exitCode: undefined, message: undefined, reason: 'Unschedulable' }));
    expect(email.html).toMatch(/Exit code<\/th><td[^>]*>none</);
    expect(email.html).toContain('none recorded');
  });

  it('keeps the subject on one line whatever the reason contains', () => {
    const email = renderFailureEmail(failureReport({ reason: 'Bad\r\nBcc: someone@example.com' }));
    expect(email.subject).not.toMatch(/[\r\n]/);
  });
});

describe('renderDigestEmail', () => {
  const reports = [
    ...Array.from({ length: 150 }, (_, i) => failureReport({ jobName: `render-${i}`, reason: 'BackoffLimitExceeded', exitCode: 1 })),
    ...Array.from({ length: 45 }, (_, i) => failureReport({ jobName: `late-${i}`, reason: 'DeadlineExceeded', exitCode: undefined })),
  ];
  const digest = buildDigest(reports, {
    namespace: 'media', jobType: 'render', start: new Date('2026-03-01T12:00:00Z'), end: new Date('2026-03-01T12:01:00Z'), sentIndividually: 5,
  });
  const email = renderDigestEmail(digest);

  it('states the count in the subject and the summary', () => {
    expect(email.subject).toBe('[Sluice] media/render: 195 more Jobs failed (digest)');
    expect(email.html).toContain('195 Jobs of type render in namespace media failed between 2026-03-01 12:00:00 UTC and 2026-03-01 12:01:00 UTC');
    expect(email.html).toContain('in addition to the 5 failures already reported one by one');
    expect(email.text).toContain('195 Jobs of type render');
  });

  it('lists each (job type, reason) group compactly', () => {
    expect(email.html).toMatch(/<td[^>]*>render<\/td><td[^>]*>BackoffLimitExceeded<\/td><td[^>]*>150<\/td><td[^>]*>1<\/td><td[^>]*>render-0, render-1, .*render-9 and 140 more<\/td>/);
    expect(email.html).toMatch(/<td[^>]*>DeadlineExceeded<\/td><td[^>]*>45<\/td><td[^>]*>none<\/td>/);
    expect(email.text).toContain('- render / BackoffLimitExceeded: 150 failures, exit codes 1');
    expect(email.text).toContain('- render / DeadlineExceeded: 45 failures, exit codes none');
  });

  it('shows only the first three in detail', () => {
    expect(email.html).toContain('The first 3 failures in detail');
    expect(email.html).toContain('3. Job render-2');
    expect(email.html).not.toContain('4. Job');
    expect(email.html.match(/Payload<\/h3>/g)).toHaveLength(3);
  });

  it('escapes what the failures carry', () => {
    const hostile = renderDigestEmail(buildDigest([failureReport({ reason: '<script>x</script>', payload: '<script>y</script>' })], {
      namespace: 'media', jobType: 'render', start: new Date(), end: new Date(),
    }));
    expect(hostile.html).not.toContain('<script');
    expect(hostile.html).toContain('&lt;script&gt;y&lt;/script&gt;');
  });
});

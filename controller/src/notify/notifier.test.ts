import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Notifications } from '../api/schemas.ts';
import type { RenderedEmail } from './html.ts';
import { createNotifyCounters } from '../metrics.ts';
import { Notifier, type NotifierOptions, type SecretReader } from './notifier.ts';
import type { SlackMessage } from './slack.ts';
import { ManualClock, captureLog, failureReport } from './test-support.ts';
import { PermanentDeliveryError, type EmailSettings, type Transports } from './transports.ts';

class FakeTransports implements Transports {
  emails: { settings: EmailSettings; email: RenderedEmail }[] = [];
  posts: { url: string; message: SlackMessage }[] = [];
  webhookAttempts = 0;
  /** What the next webhook attempts throw, in order; an empty list means success. */
  webhookErrors: Error[] = [];
  alwaysFailWebhook?: Error;
  closed = false;

  sendEmail(settings: EmailSettings, email: RenderedEmail): Promise<void> {
    this.emails.push({ settings, email });
    return Promise.resolve();
  }

  postWebhook(url: string, message: SlackMessage): Promise<void> {
    this.webhookAttempts++;
    const error = this.alwaysFailWebhook ?? this.webhookErrors.shift();
    if (error) return Promise.reject(error);
    this.posts.push({ url, message });
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const config = (overrides: Partial<Notifications> = {}): Notifications => ({
  email: { from: 'sluice@example.com', to: ['oncall@example.com'], via: 'ses' },
  slack: { webhookUrlSecretRef: { name: 'slack', key: 'url' } },
  digestWindowSeconds: 60,
  maxPerWindow: 5,
  ...overrides,
});

const secrets: SecretReader = (name, key) => Promise.resolve(`https://hooks.example/${name}/${key}\n`);

function setup(options: Partial<NotifierOptions> = {}) {
  const clock = new ManualClock();
  const transports = new FakeTransports();
  const { log, lines } = captureLog();
  const notifier = new Notifier({ log, clock, transports, retries: 2, retryDelayMs: 1, ...options });
  return { clock, transports, notifier, lines };
}

const subjects = (transports: FakeTransports) => transports.emails.map((e) => e.email.subject);
const burst = (notifier: Notifier, count: number, overrides: Parameters<typeof failureReport>[0] = {}, notifications = config()) => {
  for (let i = 0; i < count; i++) notifier.notify(failureReport({ jobName: `render-${i}`, ...overrides }), notifications, secrets);
};

describe('Notifier rate limit', () => {
  it('sends maxPerWindow failures on their own and the rest as one digest when the window ends', async () => {
    const { clock, transports, notifier } = setup();
    burst(notifier, 7);
    await notifier.settled();
    expect(subjects(transports)).toEqual([0, 1, 2, 3, 4].map((i) => `[Sluice] media/render: Job render-${i} failed (BackoffLimitExceeded)`));
    expect(transports.posts).toHaveLength(5);
    expect(notifier.stats).toMatchObject({ sent: 10, digested: 2 });

    clock.advance(59_999);
    await notifier.settled();
    expect(transports.emails).toHaveLength(5);

    clock.advance(1);
    await notifier.settled();
    expect(subjects(transports)[5]).toBe('[Sluice] media/render: 2 more Jobs failed (digest)');
    expect(transports.emails[5]?.email.text).toContain('render-5, render-6');
    expect(transports.emails[5]?.email.text).toContain('in addition to the 5 failures already reported one by one');
    expect(transports.posts[5]?.message.text).toContain('2 more Jobs failed in media/render');
    expect(notifier.stats).toEqual({ sent: 12, digested: 2, failed: 0, retries: 0 });
  });

  it('turns 200 simultaneous failures into maxPerWindow messages plus one digest per destination', async () => {
    const { clock, transports, notifier } = setup();
    burst(notifier, 200);
    clock.advance(60_000);
    await notifier.settled();
    expect(transports.emails).toHaveLength(6);
    expect(transports.posts).toHaveLength(6);
    expect(subjects(transports)[5]).toContain('195 more Jobs failed');
    expect(notifier.stats.digested).toBe(195);
  });

  it('sends no digest for a window that stayed within its budget', async () => {
    const { clock, transports, notifier } = setup();
    burst(notifier, 5);
    clock.advance(120_000);
    await notifier.flush();
    expect(transports.emails).toHaveLength(5);
    expect(notifier.stats.digested).toBe(0);
  });

  it('counts a failure at the last millisecond in the window and one at its end in the next', async () => {
    const { clock, transports, notifier } = setup();
    burst(notifier, 5);
    clock.advance(59_999);
    burst(notifier, 1, { jobName: 'last-in-window' });
    clock.advance(1);
    burst(notifier, 1, { jobName: 'first-of-next' });
    await notifier.settled();
    expect(subjects(transports).slice(5)).toEqual([
      '[Sluice] media/render: 1 more Job failed (digest)',
      '[Sluice] media/render: Job first-of-next failed (BackoffLimitExceeded)',
    ]);
    expect(transports.emails[5]?.email.text).toContain('last-in-window');
  });

  it('closes an expired window on the next failure even if its timer has not run yet', async () => {
    // A clock whose timers never fire: time moves on, and the window must still end.
    let now = 0;
    const { transports, notifier } = setup({ clock: { now: () => now, schedule: () => () => undefined } });
    burst(notifier, 6);
    now = 60_000;
    burst(notifier, 1, { jobName: 'next-window' });
    await notifier.settled();
    expect(subjects(transports).slice(5)).toEqual([
      '[Sluice] media/render: 1 more Job failed (digest)',
      '[Sluice] media/render: Job next-window failed (BackoffLimitExceeded)',
    ]);
  });

  it('gives every window of a sustained stream maxPerWindow + 1 messages', async () => {
    const { clock, transports, notifier } = setup();
    for (let window = 0; window < 3; window++) {
      for (let i = 0; i < 10; i++) {
        burst(notifier, 1, { jobName: `w${window}-${i}` });
        clock.advance(6_000);
      }
    }
    await notifier.flush();
    expect(transports.emails).toHaveLength(18);
    expect(subjects(transports).filter((s) => s.includes('(digest)'))).toEqual(Array(3).fill('[Sluice] media/render: 5 more Jobs failed (digest)'));
  });

  it('limits each (namespace, job type) on its own', async () => {
    const { transports, notifier } = setup();
    burst(notifier, 6, { namespace: 'media', jobType: 'render' });
    burst(notifier, 6, { namespace: 'media', jobType: 'transcode' });
    burst(notifier, 6, { namespace: 'other', jobType: 'render' });
    await notifier.settled();
    expect(transports.emails).toHaveLength(15);
    await notifier.flush();
    expect(subjects(transports).filter((s) => s.includes('(digest)')).sort()).toEqual([
      '[Sluice] media/render: 1 more Job failed (digest)',
      '[Sluice] media/transcode: 1 more Job failed (digest)',
      '[Sluice] other/render: 1 more Job failed (digest)',
    ]);
  });

  it('fixes a window length when it opens and applies the latest maxPerWindow', async () => {
    const { clock, transports, notifier } = setup();
    burst(notifier, 1, {}, config({ digestWindowSeconds: 10 }));
    burst(notifier, 5, {}, config({ digestWindowSeconds: 3600, maxPerWindow: 3 }));
    await notifier.settled();
    expect(transports.emails).toHaveLength(3);
    clock.advance(10_000);
    await notifier.settled();
    expect(subjects(transports)[3]).toBe('[Sluice] media/render: 3 more Jobs failed (digest)');
  });
});

describe('Notifier destinations', () => {
  it('sends only to the destinations configured', async () => {
    const { transports, notifier } = setup();
    burst(notifier, 1, {}, config({ slack: undefined }));
    burst(notifier, 1, { jobType: 'transcode' }, config({ email: undefined }));
    burst(notifier, 3, { jobType: 'silent' }, config({ email: undefined, slack: undefined }));
    await notifier.flush();
    expect(subjects(transports)).toEqual(['[Sluice] media/render: Job render-0 failed (BackoffLimitExceeded)']);
    expect(transports.posts.map((p) => p.message.text)).toEqual(['Job render-0 (media/transcode) failed: BackoffLimitExceeded, exit code 137']);
    expect(notifier.stats).toMatchObject({ sent: 2, digested: 0 });
  });

  it('reads the webhook URL from the Secret the config names', async () => {
    const { transports, notifier } = setup();
    burst(notifier, 1);
    await notifier.settled();
    expect(transports.posts[0]?.url).toBe('https://hooks.example/slack/url');
    expect(transports.emails[0]?.settings).toMatchObject({ from: 'sluice@example.com', to: ['oncall@example.com'] });
  });
});

describe('Notifier failures', () => {
  it('retries a failed delivery and counts the retries', async () => {
    const { transports, notifier } = setup();
    transports.webhookErrors = [new Error('503'), new Error('503')];
    burst(notifier, 1);
    await notifier.settled();
    expect(transports.webhookAttempts).toBe(3);
    expect(transports.posts).toHaveLength(1);
    expect(notifier.stats).toEqual({ sent: 2, digested: 0, failed: 0, retries: 2 });
  });

  it('gives up after the retries with an error log, never throwing to the caller', async () => {
    const { transports, notifier, lines } = setup();
    transports.alwaysFailWebhook = new Error('connection refused');
    expect(() => burst(notifier, 1)).not.toThrow();
    await notifier.settled();
    expect(transports.webhookAttempts).toBe(3);
    expect(notifier.stats).toEqual({ sent: 1, digested: 0, failed: 1, retries: 2 });
    const dropped = lines.find((line) => line.msg === 'failure notification dropped');
    expect(dropped).toMatchObject({ level: 50, channel: 'slack', jobName: 'render-0', attempts: 3 });
    expect(JSON.stringify(lines)).not.toContain('hooks.example');
  });

  it('does not retry a permanent failure', async () => {
    const { transports, notifier } = setup();
    transports.alwaysFailWebhook = new PermanentDeliveryError('webhook answered 404');
    burst(notifier, 1);
    await notifier.settled();
    expect(transports.webhookAttempts).toBe(1);
    expect(notifier.stats).toMatchObject({ failed: 1, retries: 0 });
  });

  it('treats a Secret that cannot be read as a failed delivery', async () => {
    const { transports, notifier } = setup();
    notifier.notify(failureReport(), config(), () => Promise.reject(new Error('secrets "slack" not found')));
    await notifier.settled();
    expect(transports.emails).toHaveLength(1);
    expect(notifier.stats).toMatchObject({ sent: 1, failed: 1, retries: 2 });
  });

  it('bounds an attempt by the timeout even when the Secret read never answers', async () => {
    const { transports, notifier } = setup({ timeoutMs: 20, retries: 1 });
    notifier.notify(failureReport(), config({ email: undefined }), () => new Promise<string>(() => undefined));
    await notifier.close();
    expect(transports.webhookAttempts).toBe(0);
    expect(notifier.stats).toMatchObject({ sent: 0, failed: 1, retries: 1 });
  });

  it('drops deliveries beyond the queue bound instead of growing without limit', async () => {
    const { transports, notifier } = setup({ concurrency: 1, maxQueued: 2 });
    for (let i = 0; i < 4; i++) burst(notifier, 1, { jobType: `type-${i}` }, config({ slack: undefined }));
    await notifier.settled();
    expect(transports.emails).toHaveLength(3);
    expect(notifier.stats).toMatchObject({ sent: 3, failed: 1 });
  });
});

describe('Notifier shutdown', () => {
  it('flush() sends held digests before their window ends', async () => {
    const { transports, notifier } = setup();
    burst(notifier, 8);
    await notifier.flush();
    expect(subjects(transports)[5]).toBe('[Sluice] media/render: 3 more Jobs failed (digest)');
  });

  it('close() flushes, releases the transports and ignores later failures', async () => {
    const { transports, notifier, lines } = setup();
    burst(notifier, 6);
    await notifier.close();
    expect(transports.emails).toHaveLength(6);
    expect(transports.closed).toBe(true);
    burst(notifier, 1);
    await notifier.settled();
    expect(transports.emails).toHaveLength(6);
    expect(lines.some((line) => line.msg === 'notifier is closed; failure notification dropped')).toBe(true);
  });
});

describe('Notifier metrics', () => {
  it('counts sent, digested and failed deliveries in prom-client counters', async () => {
    const registry = new Registry();
    const { transports, notifier } = setup({ counters: createNotifyCounters([registry]) });
    transports.alwaysFailWebhook = new PermanentDeliveryError('webhook answered 404');
    burst(notifier, 7);
    await notifier.flush();
    const metrics = await registry.getMetricsAsJSON();
    const value = (name: string, labels: Record<string, string>) => metrics.find((m) => m.name === name)?.values
      .find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    expect(value('sluice_notifications_sent_total', { channel: 'email', kind: 'failure', namespace: 'media', job_type: 'render' })).toBe(5);
    expect(value('sluice_notifications_sent_total', { channel: 'email', kind: 'digest' })).toBe(1);
    expect(value('sluice_notifications_failed_total', { channel: 'slack', kind: 'failure' })).toBe(5);
    expect(value('sluice_notifications_digested_total', { namespace: 'media', job_type: 'render', channel: 'email' })).toBe(2);
    expect(value('sluice_notifications_digested_total', { namespace: 'media', job_type: 'render', channel: 'slack' })).toBe(2);
  });
});

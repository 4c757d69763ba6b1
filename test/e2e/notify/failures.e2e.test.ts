// Destinations that fail: retried with backoff, then given up with an error log; the caller never
// sees an exception and never waits for it.
import { afterEach, describe, expect, it } from 'vitest';
import type { Notifications } from '../../../controller/src/api/schemas.ts';
import { Notifier } from '../../../controller/src/notify/notifier.ts';
import { captureLog, failureReport } from '../../../controller/src/notify/test-support.ts';
import { startSmtpServer, startWebhookReceiver, type WebhookReceiver } from './servers.ts';

const slackOnly: Notifications = { slack: { webhookUrlSecretRef: { name: 'slack', key: 'url' } }, digestWindowSeconds: 60, maxPerWindow: 5 };

describe('a failing webhook', () => {
  let webhook: WebhookReceiver | undefined;
  afterEach(() => webhook?.close());

  it('that answers 500 is retried, then given up with an error log and without throwing', async () => {
    webhook = await startWebhookReceiver(() => 500);
    const url = webhook.url;
    const { log, lines } = captureLog();
    const notifier = new Notifier({ log, retries: 2, retryDelayMs: 100 });
    const started = Date.now();
    expect(() => notifier.notify(failureReport(), slackOnly, () => Promise.resolve(url))).not.toThrow();
    expect(Date.now() - started).toBeLessThan(100);
    await notifier.close();

    expect(webhook.requests).toBe(3);
    // Backoff: at least 100 ms, then at least 200 ms between attempts.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(notifier.stats).toEqual({ sent: 0, digested: 0, failed: 1, retries: 2 });
    expect(lines.filter((line) => line.msg === 'failure notification not delivered; retrying')).toHaveLength(2);
    const dropped = lines.find((line) => line.msg === 'failure notification dropped');
    expect(dropped).toMatchObject({ level: 50, channel: 'slack', kind: 'failure', attempts: 3, jobName: 'render-7f3a9c' });
    expect(JSON.stringify(dropped?.err)).toContain('webhook answered 500');
    // The URL is a credential: it never reaches the logs.
    expect(JSON.stringify(lines)).not.toContain('secret-token');
  });

  it('that recovers gets the message on a later attempt', async () => {
    webhook = await startWebhookReceiver((request) => (request < 3 ? 503 : 200));
    const url = webhook.url;
    const notifier = new Notifier({ log: captureLog().log, retries: 3, retryDelayMs: 20 });
    notifier.notify(failureReport(), slackOnly, () => Promise.resolve(url));
    await notifier.close();
    expect(webhook.requests).toBe(3);
    expect(webhook.posts).toHaveLength(1);
    expect(notifier.stats).toEqual({ sent: 1, digested: 0, failed: 0, retries: 2 });
  });

  it('that refuses connections is retried, then given up', async () => {
    const closed = await startWebhookReceiver();
    const url = closed.url;
    await closed.close();
    const notifier = new Notifier({ log: captureLog().log, retries: 2, retryDelayMs: 20 });
    notifier.notify(failureReport(), slackOnly, () => Promise.resolve(url));
    await notifier.close();
    expect(notifier.stats).toEqual({ sent: 0, digested: 0, failed: 1, retries: 2 });
  });

  it('that answers 404 is not retried', async () => {
    webhook = await startWebhookReceiver(() => 404);
    const url = webhook.url;
    const notifier = new Notifier({ log: captureLog().log, retries: 3, retryDelayMs: 20 });
    notifier.notify(failureReport(), slackOnly, () => Promise.resolve(url));
    await notifier.close();
    expect(webhook.requests).toBe(1);
    expect(notifier.stats).toMatchObject({ failed: 1, retries: 0 });
  });

  it('that never answers times out on each attempt', async () => {
    webhook = await startWebhookReceiver(() => 'hang');
    const url = webhook.url;
    const { log, lines } = captureLog();
    const notifier = new Notifier({ log, retries: 1, retryDelayMs: 20, timeoutMs: 300 });
    const started = Date.now();
    notifier.notify(failureReport(), slackOnly, () => Promise.resolve(url));
    await notifier.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(webhook.requests).toBe(2);
    expect(notifier.stats).toMatchObject({ sent: 0, failed: 1, retries: 1 });
    expect(JSON.stringify(lines.find((line) => line.msg === 'failure notification dropped')?.err)).toMatch(/timeout|aborted/i);
  });
});

describe('an SMTP server that is down', () => {
  it('is retried, then given up; the webhook still gets the failure', async () => {
    const smtp = await startSmtpServer();
    const port = smtp.port;
    await smtp.close();
    const webhook = await startWebhookReceiver();
    try {
      const notifier = new Notifier({ log: captureLog().log, retries: 2, retryDelayMs: 20, timeoutMs: 2_000 });
      notifier.notify(failureReport(), {
        ...slackOnly,
        email: { from: 'sluice@sluice.test', to: ['oncall@sluice.test'], via: 'smtp', smtp: { host: '127.0.0.1', port, secure: false } },
      }, () => Promise.resolve(webhook.url));
      await notifier.close();
      expect(webhook.posts).toHaveLength(1);
      expect(notifier.stats).toEqual({ sent: 1, digested: 0, failed: 1, retries: 2 });
    } finally {
      await webhook.close();
    }
  });
});

describe('notify()', () => {
  it('hands over at once even while every destination is slow', async () => {
    const webhook = await startWebhookReceiver(() => 'hang');
    try {
      const notifier = new Notifier({ log: captureLog().log, retries: 0, timeoutMs: 300 });
      const started = Date.now();
      for (let i = 0; i < 20; i++) notifier.notify(failureReport({ jobType: `type-${i}` }), slackOnly, () => Promise.resolve(webhook.url));
      expect(Date.now() - started).toBeLessThan(200);
      await notifier.close();
      expect(notifier.stats).toMatchObject({ sent: 0, failed: 20 });
    } finally {
      await webhook.close();
    }
  });
});

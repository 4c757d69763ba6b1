// A burst of 200 failures against real destinations: a bounded number of e-mails and webhook
// posts, the overflow arriving as one digest when the (real) window ends.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notifications } from '../../../controller/src/api/schemas.ts';
import { Notifier } from '../../../controller/src/notify/notifier.ts';
import { captureLog, failureReport } from '../../../controller/src/notify/test-support.ts';
import { startSmtpServer, startWebhookReceiver, type SmtpReceiver, type WebhookReceiver } from './servers.ts';

describe('rate limit under a burst', () => {
  let smtp: SmtpReceiver;
  let webhook: WebhookReceiver;
  beforeAll(async () => {
    [smtp, webhook] = await Promise.all([startSmtpServer(), startWebhookReceiver()]);
  });
  afterAll(() => Promise.all([smtp.close(), webhook.close()]));

  it('turns 200 simultaneous failures into maxPerWindow messages plus one digest per destination', async () => {
    const notifier = new Notifier({ log: captureLog().log, retries: 1, retryDelayMs: 50 });
    const config: Notifications = {
      email: { from: 'sluice@sluice.test', to: ['oncall@sluice.test'], via: 'smtp', smtp: { host: '127.0.0.1', port: smtp.port, secure: false } },
      slack: { webhookUrlSecretRef: { name: 'slack', key: 'url' } },
      digestWindowSeconds: 2,
      maxPerWindow: 5,
    };
    const started = Date.now();
    for (let i = 0; i < 200; i++) {
      notifier.notify(
        failureReport({ jobName: `render-${i}`, reason: i % 4 === 0 ? 'DeadlineExceeded' : 'BackoffLimitExceeded', failedAt: new Date() }),
        config,
        () => Promise.resolve(webhook.url),
      );
    }
    await notifier.settled();
    expect(smtp.mails).toHaveLength(5);
    expect(webhook.posts).toHaveLength(5);

    // The digest waits for the window's own timer, not for flush().
    while (smtp.mails.length < 6 && Date.now() - started < 10_000) await sleep(100);
    await notifier.settled();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    await sleep(500);
    expect(smtp.mails).toHaveLength(6);
    expect(webhook.posts).toHaveLength(6);

    const digestMail = smtp.mails[5];
    expect(digestMail?.subject).toBe('[Sluice] media/render: 195 more Jobs failed (digest)');
    expect(digestMail?.html).toContain('195 Jobs of type render in namespace media failed between');
    expect(digestMail?.text).toContain('- render / BackoffLimitExceeded: 147 failures, exit codes 137');
    expect(digestMail?.text).toContain('- render / DeadlineExceeded: 48 failures, exit codes 137');
    expect(webhook.posts[5]?.body.text).toContain('195 more Jobs failed in media/render');
    expect(notifier.stats).toEqual({ sent: 12, digested: 195, failed: 0, retries: 0 });
    await notifier.close();
    expect(smtp.mails).toHaveLength(6);
  });
});

// One failure reaches each kind of destination for real: SES (the local AWS endpoint), an SMTP
// server and a Slack-compatible webhook.
import { SESClient, VerifyEmailIdentityCommand } from '@aws-sdk/client-ses';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notifications } from '../../../controller/src/api/schemas.ts';
import { Notifier } from '../../../controller/src/notify/notifier.ts';
import { captureLog, failureReport } from '../../../controller/src/notify/test-support.ts';
import { stack } from '../support/stack.ts';
import { startSmtpServer, startWebhookReceiver, type SmtpReceiver, type WebhookReceiver } from './servers.ts';

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const hostilePayload = (marker: string) => JSON.stringify({ videoId: marker, title: '<script>alert(1)</script>', frames: 'A'.repeat(5000) });
const noSecrets = () => Promise.reject(new Error('no Secret expected'));

type SesMessage = { subject?: string; body?: string; source?: string; destinations?: { ToAddresses?: string[] } };

async function sentSesMessages(): Promise<SesMessage[]> {
  const response = await fetch(`${stack.awsEndpoint}/moto-api/data.json`);
  const data = await response.json() as { ses?: { Message?: SesMessage[] } };
  return data.ses?.Message ?? [];
}

describe('e-mail through SES', () => {
  const from = 'sluice-alerts@sluice.test';

  beforeAll(async () => {
    await new SESClient({}).send(new VerifyEmailIdentityCommand({ EmailAddress: from }));
  });

  it('sends the diagnostic page with the job, reason and an escaped payload excerpt', async () => {
    const notifier = new Notifier({ log: captureLog().log, retries: 0 });
    const jobName = unique('render');
    const config: Notifications = {
      email: { from, to: ['oncall@sluice.test', 'media-team@sluice.test'], via: 'ses', region: stack.awsRegion, endpoint: stack.awsEndpoint },
      digestWindowSeconds: 60,
      maxPerWindow: 5,
    };
    notifier.notify(failureReport({ jobName, reason: 'DeadlineExceeded', payload: hostilePayload(jobName) }), config, noSecrets);
    await notifier.close();
    expect(notifier.stats).toMatchObject({ sent: 1, failed: 0 });

    const sent = (await sentSesMessages()).find((message) => message.subject?.includes(jobName));
    expect(sent?.subject).toBe(`[Sluice] media/render: Job ${jobName} failed (DeadlineExceeded)`);
    expect(sent?.source).toBe(from);
    expect(sent?.destinations?.ToAddresses).toEqual(['oncall@sluice.test', 'media-team@sluice.test']);
    const html = sent?.body ?? '';
    expect(html).toContain(`>${jobName}<`);
    expect(html).toContain('>DeadlineExceeded<');
    expect(html).toContain(`{&quot;videoId&quot;:&quot;${jobName}&quot;,&quot;title&quot;:&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;`);
    expect(html).not.toContain('<script');
    expect(html).toContain('truncated: showing the first 2 KiB of 5 KiB');
  });

  it('gives up at once, without retrying, when SES rejects an unverified sender', async () => {
    const { log, lines } = captureLog();
    const notifier = new Notifier({ log, retries: 3, retryDelayMs: 10 });
    const config: Notifications = {
      email: { from: `${unique('nobody')}@unverified.test`, to: ['oncall@sluice.test'], via: 'ses' },
      digestWindowSeconds: 60,
      maxPerWindow: 5,
    };
    expect(() => notifier.notify(failureReport(), config, noSecrets)).not.toThrow();
    await notifier.close();
    expect(notifier.stats).toEqual({ sent: 0, digested: 0, failed: 1, retries: 0 });
    const dropped = lines.find((line) => line.msg === 'failure notification dropped');
    expect(JSON.stringify(dropped?.err)).toContain('not verified');
  });
});

describe('e-mail through SMTP', () => {
  let smtp: SmtpReceiver;
  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterAll(() => smtp.close());

  it('delivers an HTML e-mail with a plain-text alternative to a real SMTP server', async () => {
    const notifier = new Notifier({ log: captureLog().log, retries: 0 });
    const jobName = unique('render');
    const config: Notifications = {
      email: { from: 'sluice@sluice.test', to: ['oncall@sluice.test'], via: 'smtp', smtp: { host: '127.0.0.1', port: smtp.port, secure: false } },
      digestWindowSeconds: 60,
      maxPerWindow: 5,
    };
    notifier.notify(failureReport({ jobName, payload: hostilePayload(jobName), message: 'Traceback (most recent call last):\nMemoryError' }), config, noSecrets);
    await notifier.close();

    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail?.from).toBe('sluice@sluice.test');
    expect(mail?.to).toEqual(['oncall@sluice.test']);
    expect(mail?.subject).toBe(`[Sluice] media/render: Job ${jobName} failed (BackoffLimitExceeded)`);
    expect(mail?.headers['auto-submitted']).toBe('auto-generated');
    expect(mail?.html).toContain(`>${jobName}<`);
    expect(mail?.html).toContain('Traceback (most recent call last):\nMemoryError');
    expect(mail?.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail?.html).not.toContain('<script');
    expect(mail?.text).toContain(`Job:        ${jobName}`);
    expect(mail?.text).toContain('"title":"<script>alert(1)</script>"');
  });

  it('does not retry a recipient the server refuses with 550', async () => {
    const refusing = await startSmtpServer({ rejectRecipients: true });
    try {
      const notifier = new Notifier({ log: captureLog().log, retries: 3, retryDelayMs: 10 });
      notifier.notify(failureReport(), {
        email: { from: 'sluice@sluice.test', to: ['gone@sluice.test'], via: 'smtp', smtp: { host: '127.0.0.1', port: refusing.port, secure: false } },
        digestWindowSeconds: 60,
        maxPerWindow: 5,
      }, noSecrets);
      await notifier.close();
      expect(notifier.stats).toEqual({ sent: 0, digested: 0, failed: 1, retries: 0 });
      expect(refusing.mails).toEqual([]);
    } finally {
      await refusing.close();
    }
  });
});

describe('Slack-compatible webhook', () => {
  let webhook: WebhookReceiver;
  beforeAll(async () => {
    webhook = await startWebhookReceiver();
  });
  afterAll(() => webhook.close());

  it('posts text and blocks to the URL held in the Secret', async () => {
    const notifier = new Notifier({ log: captureLog().log, retries: 0 });
    const jobName = unique('render');
    const read: { name: string; key: string }[] = [];
    notifier.notify(failureReport({ jobName, payload: hostilePayload(jobName) }), {
      slack: { webhookUrlSecretRef: { name: 'media-slack', key: 'webhook-url' } },
      digestWindowSeconds: 60,
      maxPerWindow: 5,
    }, (name, key) => {
      read.push({ name, key });
      return Promise.resolve(`${webhook.url}\n`);
    });
    await notifier.close();

    expect(read).toEqual([{ name: 'media-slack', key: 'webhook-url' }]);
    expect(webhook.posts).toHaveLength(1);
    const [post] = webhook.posts;
    expect(post?.path).toBe('/services/T000/B000/secret-token');
    expect(post?.headers['content-type']).toBe('application/json');
    expect(post?.body.text).toBe(`Job ${jobName} (media/render) failed: BackoffLimitExceeded, exit code 137`);
    expect(post?.body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: `Job failed: ${jobName}`, emoji: false } });
    const payloadBlock = post?.body.blocks.find((block) => block.type === 'section' && block.text?.text.startsWith('*Payload*'));
    expect(payloadBlock?.type === 'section' && payloadBlock.text?.text).toContain('"title":"&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(JSON.stringify(post?.body)).not.toContain('<script');
  });
});

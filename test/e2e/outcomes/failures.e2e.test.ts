// A failed Job's message goes to the dead-letter queue with its diagnostics, and people hear of it:
// an HTML e-mail through SES and a Slack-compatible webhook — a storm of failures as a digest.
import { VerifyEmailIdentityCommand, SESClient } from '@aws-sdk/client-ses';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import * as k8s from '@kubernetes/client-node';
import { core, createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';
import { apply, createQueue, drainQueue, installCrds, releaseJobs, sluiceJobs, sqs } from '../support/sluice.ts';
import { stack } from '../support/stack.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
let webhook: Server;
const posts: { type: string; body: { text?: string } }[] = [];
const queues: Record<string, string> = {};
const MAX_PER_WINDOW = 3;

type SentMail = { subject?: string; body?: string; destinations?: { ToAddresses?: string[] } };
async function mailTo(address: string): Promise<SentMail[]> {
  const data = await (await fetch(`${stack.awsEndpoint}/moto-api/data.json`)).json() as { ses?: { Message?: SentMail[] } };
  return (data.ses?.Message ?? []).filter((m) => JSON.stringify(m.destinations ?? '').includes(address));
}

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('failures');
  webhook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      posts.push({ type: request.url ?? '', body: JSON.parse(body) as { text?: string } });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const { port } = webhook.address() as { port: number };
  await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'slack' }, stringData: { url: `http://127.0.0.1:${port}/hook/${ns.name}` } } });
  await new SESClient({}).send(new VerifyEmailIdentityCommand({ EmailAddress: 'sluice@alerts.test' }));

  for (const name of ['render', 'storm']) {
    queues[name] = await createQueue(`${ns.name}-${name}`);
    queues[`${name}-dlq`] = await createQueue(`${ns.name}-${name}-dlq`);
    await apply('JobType', ns.name, name, {
      image: 'registry.invalid/render:1',
      retries: { backoffLimit: 0 },
      podTemplate: { metadata: { annotations: { 'sim.sluice.dev/outcome': 'fail', 'sim.sluice.dev/exit-code': '3', 'sim.sluice.dev/message': 'ffmpeg: moov atom not found' } } },
      notifications: {
        email: { from: 'sluice@alerts.test', to: [`oncall-${name}-${ns.name}@team.test`] },
        slack: { webhookUrlSecretRef: { name: 'slack', key: 'url' } },
        maxPerWindow: MAX_PER_WINDOW,
        digestWindowSeconds: 10,
      },
    });
    await apply('QueueBinding', ns.name, name, {
      queueUrl: queues[name],
      deadLetter: { queueUrl: queues[`${name}-dlq`] },
      maxInFlight: 100,
      routes: [{ name: 'all', when: 'true', jobType: name }],
    });
  }
  controller = await startController({ namespace: ns.name });
});

afterAll(async () => {
  await controller?.stop();
  await new Promise((r) => webhook?.close(r));
  if (ns) {
    await releaseJobs(ns.name);
    await ns.remove();
  }
});

describe('a failed Job', () => {
  it('sends its original message to the dead-letter queue with diagnostics', async () => {
    const body = '{"videoId":"v-17","chapters":["intro","pricing"]}';
    await sqs.send(new SendMessageCommand({
      QueueUrl: queues.render, MessageBody: body,
      MessageAttributes: { tenant: { DataType: 'String', StringValue: 'acme' } },
    }));
    const [dead] = await drainQueue(queues['render-dlq']!, 1, 60_000);
    const attribute = (name: string) => dead?.MessageAttributes?.[name]?.StringValue;
    expect(dead?.Body).toBe(body);
    expect(attribute('Sluice.Reason')).toBe('JobFailed');
    expect(attribute('Sluice.Detail')).toBe('BackoffLimitExceeded: ffmpeg: moov atom not found');
    expect(attribute('Sluice.ExitCode')).toBe('3');
    expect(attribute('Sluice.Attempts')).toBe('1');
    expect(attribute('Sluice.JobType')).toBe('render');
    expect(attribute('Sluice.JobName')).toMatch(/^render-[0-9a-f]{16}$/);
    expect(attribute('tenant')).toBe('acme');
  });

  it('e-mails an HTML diagnostic with the job, reason and payload excerpt', async () => {
    const [mail] = await eventually('an e-mail to on-call', async () => {
      const mails = await mailTo(`oncall-render-${ns.name}@team.test`);
      return mails.length ? mails : undefined;
    });
    expect(mail?.body).toContain('render');
    expect(mail?.body).toContain('BackoffLimitExceeded');
    expect(mail?.body).toContain('moov atom not found');
    expect(mail?.body).toContain('v-17');
  });

  it('posts to the Slack webhook', async () => {
    const post = await eventually('a webhook post', () => Promise.resolve(posts.find((p) => JSON.stringify(p.body).includes('render'))));
    expect(JSON.stringify(post.body)).toContain('BackoffLimitExceeded');
  });

  it('records the failure on the Job and its JobType: Events and status', async () => {
    const [job] = await sluiceJobs(ns.name, 'sluice.dev/job-type=render');
    const events = await eventually('a JobFailed event on the Job', async () => {
      const list = await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: `involvedObject.name=${job!.metadata!.name!}` });
      return list.items.some((e) => e.reason === 'JobFailed') ? list.items : undefined;
    });
    expect(events.find((e) => e.reason === 'JobFailed')?.type).toBe('Warning');
    type JobTypeStatus = { status?: { failed?: number; lastFailureReason?: string } };
    const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const jobType = await eventually('the JobType to count the failure', async () => {
      const object = await custom.getNamespacedCustomObject({ group: 'sluice.dev', version: 'v1alpha1', namespace: ns.name, plural: 'jobtypes', name: 'render' }) as JobTypeStatus;
      return (object.status?.failed ?? 0) >= 1 ? object : undefined;
    });
    expect(jobType.status?.lastFailureReason).toBe('BackoffLimitExceeded');
  });

  it('finalizes the Job once its outcome is recorded', async () => {
    await eventually('no Job to hold a finalizer', async () => {
      const jobs = await sluiceJobs(ns.name, 'sluice.dev/job-type=render');
      return jobs.length === 1 && !jobs[0]!.metadata?.finalizers?.length ? true : undefined;
    });
  });
});

describe('a storm of 200 failures', () => {
  it('dead-letters every message and sends a bounded number of notifications', async () => {
    for (let i = 0; i < 200; i += 10) {
      await sqs.send(new SendMessageBatchCommand({
        QueueUrl: queues.storm,
        Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: JSON.stringify({ videoId: `storm-${i + j}` }) })),
      }));
    }
    const started = Date.now();
    await drainQueue(queues['storm-dlq']!, 200, 180_000);
    // Let the last window's digest go out.
    await new Promise((r) => setTimeout(r, 12_000));
    const windows = Math.ceil((Date.now() - started) / 10_000) + 1;
    const mails = await mailTo(`oncall-storm-${ns.name}@team.test`);
    const stormPosts = posts.filter((p) => JSON.stringify(p.body).includes('storm'));
    expect(mails.length).toBeGreaterThan(MAX_PER_WINDOW);
    expect(mails.length).toBeLessThanOrEqual(windows * (MAX_PER_WINDOW + 1));
    expect(stormPosts.length).toBeLessThanOrEqual(windows * (MAX_PER_WINDOW + 1));
    expect(mails.some((m) => /\d+ (failed|failures)/i.test(`${m.subject ?? ''} ${m.body ?? ''}`))).toBe(true);
  });
});

// The SRE commands, run as the CLI binary against the local stack: route a message without
// creating anything, look into and redrive the dead-letter queue, send a test message.
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace } from '../support/kube.ts';
import { apply, cleanUp, createQueue, installCrds, queueDepth, sluiceJobs, sqs } from '../support/sluice.ts';
import { runSluice } from '../support/cli.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let queueUrl: string;
let dlqUrl: string;

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('cli');
  queueUrl = await createQueue(`${ns.name}-fable`);
  dlqUrl = await createQueue(`${ns.name}-fable-dlq`);
  await apply('JobType', ns.name, 'transcode', { image: 'registry.invalid/transcoder:5', retries: { nonRetryableExitCodes: [2] } });
  await apply('QueueBinding', ns.name, 'fable', {
    queueUrl,
    deadLetter: { queueUrl: dlqUrl },
    dedupeKey: 'body.jobId',
    routes: [{ name: 'transcode', when: 'body.type == "TRANSCODE_VIDEO"', jobType: 'transcode' }],
  });
});

afterAll(() => cleanUp(ns, []));

describe('sluice route', () => {
  it('prints the route and the Job a message would become, creating nothing', async () => {
    const result = await runSluice('route', 'fable', '-n', ns.name, '--body', 'TRANSCODE_VIDEO|job-9|{"src":"in.mov"}');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('route transcode → JobType transcode');
    expect(result.stdout).toContain('kind: Job');
    expect(result.stdout).toContain('sluice.dev/dedupe-key: job-9');
    expect(result.stdout).toMatch(/values:\s+- 2/);
    expect(await sluiceJobs(ns.name)).toHaveLength(0);
  });

  it('says why a message would be dead-lettered, and exits non-zero', async () => {
    const result = await runSluice('route', 'fable', '-n', ns.name, '--body', 'UNKNOWN|job-1|x');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('dead-letter: NoRouteMatched: no route matched (tried transcode)');
  });

  it('reports a missing binding clearly', async () => {
    const result = await runSluice('route', 'nope', '-n', ns.name, '--body', '{}');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`QueueBinding ${ns.name}/nope not found`);
  });
});

describe('sluice dlq', () => {
  it('peeks at dead letters with their reasons, then redrives them as the producer sent them', async () => {
    for (const jobId of ['job-1', 'job-2']) {
      await sqs.send(new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: `TRANSCODE_VIDEO|${jobId}|meta`,
        MessageAttributes: {
          'Sluice.Reason': { DataType: 'String', StringValue: 'JobFailed' },
          'Sluice.Detail': { DataType: 'String', StringValue: 'BackoffLimitExceeded: ffmpeg crashed' },
          tenant: { DataType: 'String', StringValue: 'acme' },
        },
      }));
    }
    const peek = await runSluice('dlq', 'peek', 'fable', '-n', ns.name);
    expect(peek.code).toBe(0);
    expect(peek.stdout).toContain('JobFailed: BackoffLimitExceeded: ffmpeg crashed');
    expect(peek.stdout).toContain('2 message(s)');
    expect(await queueDepth(dlqUrl)).toBe(2);

    const redrive = await runSluice('dlq', 'redrive', 'fable', '-n', ns.name);
    expect(redrive.stdout).toContain('redrove 2 message(s)');
    expect(await queueDepth(dlqUrl)).toBe(0);
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2, MessageAttributeNames: ['All'] }));
    expect(Messages.map((m) => m.Body).sort()).toEqual(['TRANSCODE_VIDEO|job-1|meta', 'TRANSCODE_VIDEO|job-2|meta']);
    // The producer's attributes, and the redrive's own attempt identity (the dead letter's MessageId).
    for (const m of Messages) expect(Object.keys(m.MessageAttributes ?? {}).sort()).toEqual(['Sluice.Redrive', 'tenant']);
  });
});

describe('sluice send', () => {
  it('puts a test message on the binding\'s queue', async () => {
    const result = await runSluice('send', 'fable', '-n', ns.name, '--body', 'TRANSCODE_VIDEO|job-test|x');
    expect(result.stdout).toMatch(/^sent \S+ to /);
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }));
    expect(Messages.map((m) => m.Body)).toContain('TRANSCODE_VIDEO|job-test|x');
  });
});

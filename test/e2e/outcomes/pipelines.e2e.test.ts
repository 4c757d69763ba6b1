// Pipelines: a Job that succeeds sends the next step's message (001: interview → questions), and
// a fan-out's last finisher sends one fan-in message (003: five visuals → one "assemble"), once,
// even when the controller is killed while the last visuals finish.
import { ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { createTestNamespace, eventually } from '../support/kube.ts';
import { apply, createQueue, installCrds, payloadOf, releaseJobs, sluiceJobs, sqs, waitForJobCount } from '../support/sluice.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
const running: ControllerProcess[] = [];

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('pipelines');
});

afterAll(async () => {
  await Promise.all(running.map((c) => c.kill()));
  if (ns) {
    await releaseJobs(ns.name);
    await ns.remove();
  }
});

async function controller(): Promise<ControllerProcess> {
  const started = await startController({ namespace: ns.name });
  running.push(started);
  return started;
}

describe('onSuccess chain (001: interview → questions)', () => {
  it('sends the next step built from the message and the Job\'s result', async () => {
    const videos = await createQueue(`${ns.name}-videos`);
    const questions = await createQueue(`${ns.name}-questions`);
    await apply('JobType', ns.name, 'transcribe', {
      image: 'registry.invalid/transcribe:1',
      podTemplate: { metadata: { annotations: { 'sim.sluice.dev/message': '{"transcriptKey":"transcripts/iv-1.json","words":812}' } } },
      onSuccess: { queueUrl: questions, body: '{"interview_id": body.interview_id, "transcript": result.transcriptKey}' },
    });
    await apply('JobType', ns.name, 'extract-questions', { image: 'registry.invalid/questions:1' });
    await apply('QueueBinding', ns.name, 'videos', { queueUrl: videos, routes: [{ name: 'all', when: 'true', jobType: 'transcribe' }] });
    await apply('QueueBinding', ns.name, 'questions', { queueUrl: questions, routes: [{ name: 'all', when: 'true', jobType: 'extract-questions' }] });
    await controller();

    await sqs.send(new SendMessageCommand({ QueueUrl: videos, MessageBody: '{"interview_id":"iv-1"}' }));
    const [next] = await waitForJobCount(ns.name, 1, 'sluice.dev/job-type=extract-questions', 60_000);
    expect(JSON.parse(payloadOf(next!)!)).toEqual({ interview_id: 'iv-1', transcript: 'transcripts/iv-1.json' });
    await eventually('the first Job to lose its finalizer', async () => {
      const [first] = await sluiceJobs(ns.name, 'sluice.dev/job-type=transcribe');
      return first && !first.metadata?.finalizers?.length ? first : undefined;
    });
    expect(await sluiceJobs(ns.name, 'sluice.dev/job-type=extract-questions')).toHaveLength(1);
  });
});

describe('fan-out / fan-in (003: visuals → assemble)', () => {
  it('sends exactly one assemble message when the last visual finishes, across a controller kill', async () => {
    const visuals = await createQueue(`${ns.name}-visuals`);
    const assemble = await createQueue(`${ns.name}-assemble`);
    await apply('JobType', ns.name, 'visual', {
      image: 'registry.invalid/visuals:1',
      // Staggered durations spread the finishes over a few seconds.
      podTemplate: { metadata: { annotations: { 'sim.sluice.dev/duration': '2s' } } },
      fanIn: {
        group: 'body.noteId',
        expected: 'body.totalVisuals',
        send: { queueUrl: assemble, body: '{"noteId": body.noteId, "step": "assemble", "visuals": job.finished}' },
      },
    });
    await apply('QueueBinding', ns.name, 'visuals', { queueUrl: visuals, routes: [{ name: 'all', when: 'true', jobType: 'visual' }] });
    const first = await controller();

    await sqs.send(new SendMessageBatchCommand({
      QueueUrl: visuals,
      Entries: Array.from({ length: 5 }, (_, i) => ({
        Id: String(i),
        MessageBody: JSON.stringify({ noteId: 'note-7', visual: i, totalVisuals: 5 }),
      })),
    }));
    await waitForJobCount(ns.name, 5, 'sluice.dev/job-type=visual');
    // Kill the controller while the visuals are finishing; a new one takes over.
    await new Promise((r) => setTimeout(r, 2200));
    await first.kill();
    await controller();

    await eventually('every visual Job to be finalized', async () => {
      const jobs = await sluiceJobs(ns.name, 'sluice.dev/job-type=visual');
      return jobs.length === 5 && jobs.every((j) => !j.metadata?.finalizers?.length) ? true : undefined;
    }, 90_000);
    const received: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: assemble, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      received.push(...Messages.map((m) => m.Body!));
    }
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!)).toEqual({ noteId: 'note-7', step: 'assemble', visuals: 5 });
  });
});

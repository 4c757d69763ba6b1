// The chaos soak at CI size (hack/chaos/soak.ts runs it at full size): 1,000 messages through four
// bindings while the leading controller is SIGKILLed every 15 s, kube-apiserver restarts once and
// SQS and MongoDB are each away for 10 s. Nothing may be lost, nothing may run twice.
import { expect, it } from 'vitest';
import { failures, runSoak } from '../../../hack/chaos/soak.ts';

it('loses nothing and runs nothing twice under faults (1,000 messages)', async () => {
  const report = await runSoak({ messages: 1000, killEverySeconds: 15, outageSeconds: 10, rate: 40, log: () => undefined });
  console.log(`soak: ${JSON.stringify(report)}`);
  expect(failures(report)).toEqual([]);
  expect(report.controllerKills).toBeGreaterThan(0);
  expect(report.jobsCreated).toBe(report.expectedJobs);
  expect(report.deadLetters).toBe(report.expectedDeadLetters);
}, 900_000);

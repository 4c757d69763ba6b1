// The client benchmarks' Jobs (job-client.ts, watch-client.ts): built as the dispatcher builds them
// for a message of a typical size, but suspended, so the Job controller makes no pods and the API
// server's load stays the same while two clients are compared on them.
import type * as k8s from '@kubernetes/client-node';
import { jobTypeSpecSchema, type JobType } from '../../controller/src/api/schemas.ts';
import { buildJob } from '../../controller/src/job/build-job.ts';

/** Creates a bench namespace `bench-<prefix>-<run>`; `job(i)` builds the i-th suspended Job in it. */
export async function suspendedJobs(core: k8s.CoreV1Api, prefix: string): Promise<{ namespace: string; job: (index: number) => k8s.V1Job }> {
  const namespace = `bench-${prefix}-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'sluice.dev/bench': 'true' } } } });
  const jobType: JobType = {
    apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'bench', namespace },
    spec: jobTypeSpecSchema.parse({ image: 'registry.invalid/bench:1' }),
  };
  const job = (index: number) => {
    const raw = JSON.stringify({ n: index, note: 'a message of a typical size, with a few fields to route on' });
    const built = buildJob({
      namespace, binding: 'bench', queueUrl: 'bench', route: 'all', messageId: `m-${index}`, dedupeKey: `m-${index}`,
      payload: { raw, format: 'json', bytes: raw.length },
    }, jobType).job;
    built.spec!.suspend = true;
    return built;
  };
  return { namespace, job };
}

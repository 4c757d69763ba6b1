// Every Job a test namespace ever had, from a watch: Jobs with ttlSecondsAfterFinished 0 are gone
// by the time a test lists them, so creations are counted as they happen (name → uids seen).
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { Informer } from '../../../controller/src/kube/informer.ts';
import { jobPhase } from '../../../controller/src/reconcile/job-phase.ts';
import { kubeConfig } from './kube.ts';

export type JobRecord = { name: string; uid: string; payload: string | undefined; labels: Record<string, string>; seenAt: number; finishedAt?: number };

export type JobLog = {
  /** Every distinct Job (by uid), in the order they appeared. */
  records: JobRecord[];
  /** Names that were created more than once. */
  recreated: () => string[];
  /** Called with each new Job and the Jobs of the namespace not finished at that moment. */
  onCreate: (listener: (job: JobRecord, unfinished: JobRecord[]) => void) => void;
  stop: () => Promise<void>;
};

export async function watchJobs(namespace: string, labelSelector = 'app.kubernetes.io/managed-by=sluice'): Promise<JobLog> {
  const informer = new Informer<k8s.V1Job>({
    kubeConfig, path: `/apis/batch/v1/namespaces/${namespace}/jobs`, labelSelector, logger: pino({ level: 'silent' }), watchdogSeconds: 30,
  });
  const records: JobRecord[] = [];
  const byUid = new Map<string, JobRecord>();
  const listeners: ((job: JobRecord, unfinished: JobRecord[]) => void)[] = [];
  const see = (job: k8s.V1Job, deleted = false) => {
    const uid = job.metadata!.uid!;
    let record = byUid.get(uid);
    if (!record) {
      record = {
        name: job.metadata!.name!, uid,
        payload: job.spec?.template.metadata?.annotations?.['sluice.dev/payload'],
        labels: job.metadata?.labels ?? {},
        seenAt: Date.now(),
      };
      const unfinished = records.filter((r) => r.finishedAt === undefined);
      records.push(record);
      byUid.set(uid, record);
      for (const listener of listeners) listener(record, unfinished);
    }
    if (record.finishedAt === undefined && (deleted || jobPhase(job) !== 'active')) record.finishedAt = Date.now();
  };
  informer.addHandlers({ add: (job) => see(job), update: (job) => see(job), delete: (job) => see(job, true) });
  informer.start();
  await informer.synced();
  return {
    records,
    recreated: () => {
      const counts = new Map<string, number>();
      for (const r of records) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
      return [...counts].filter(([, n]) => n > 1).map(([name]) => name);
    },
    onCreate: (listener) => listeners.push(listener),
    stop: () => informer.stop(),
  };
}

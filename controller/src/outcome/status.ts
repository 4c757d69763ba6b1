// Writes a Job's phase to its JobType's StatusSink. Writes are monotonic, so repeats are harmless;
// a phase this process already wrote for the Job is not written again. A store that refuses a write
// for good (its schema, a constraint, validation) gives an OutcomeError; anything else throws to be
// retried with backoff, keeping the finalizer.
import type * as k8s from '@kubernetes/client-node';
import type { JobType, Phase } from '../api/schemas.ts';
import { ANNOTATION_STATUS_KEY } from '../job/labels.ts';
import { EventReason } from '../kube/event-reasons.ts';
import type { Logger } from '../log.ts';
import { sentAtMillis, sinkFields, type Facts } from '../reconcile/outcome-facts.ts';
import type { EventSink } from '../reconcile/queue-binding.ts';
import { measuredWrite } from '../sinks/measured-write.ts';
import { permanentSinkError } from '../sinks/permanent-errors.ts';
import { writeVersion, type StatusSinkClient } from '../sinks/types.ts';
import { OutcomeError } from './outcome-error.ts';

export type StatusDeps = {
  sinks: (namespace: string, name: string) => Promise<StatusSinkClient>;
  event: EventSink;
};

export class StatusRecorder {
  readonly #deps: StatusDeps;
  /** Phases written (or refused for good) by this process, per Job uid. */
  readonly #written = new Map<string, Phase>();

  constructor(deps: StatusDeps) {
    this.#deps = deps;
  }

  async write(job: k8s.V1Job, jobType: JobType | undefined, facts: Facts, logger: Logger): Promise<void> {
    const mapping = jobType?.spec.statusSink;
    const key = job.metadata?.annotations?.[ANNOTATION_STATUS_KEY];
    if (!mapping || key === undefined) return;
    const uid = job.metadata?.uid ?? '';
    if (this.#written.get(uid) === facts.phase) return;
    const namespace = job.metadata!.namespace!;
    try {
      const sink = await this.#deps.sinks(namespace, mapping.name);
      const result = await measuredWrite(sink, namespace, mapping.name, {
        table: mapping.table ?? '',
        keyField: mapping.key.field,
        key,
        version: writeVersion(sentAtMillis(job), facts.phase),
        versionField: mapping.versionField,
        fields: sinkFields(mapping, facts),
        createIfMissing: mapping.createIfMissing,
      });
      this.#written.set(uid, facts.phase);
      logger.debug({ phase: facts.phase, key, result }, 'Wrote status');
      if (result === 'missing') {
        this.#deps.event(job, 'Warning', EventReason.StatusRecordMissing, `no record with ${mapping.key.field}=${key} in ${mapping.name}; createIfMissing is false`);
      }
    } catch (error) {
      const message = `writing ${facts.phase} to StatusSink ${mapping.name} failed: ${(error as Error).message}`;
      const permanent = permanentSinkError(error);
      if (permanent) {
        this.#written.set(uid, facts.phase);
        throw new OutcomeError('SinkWriteRejected', `${message} (${permanent}; not retried)`, { cause: error });
      }
      this.#deps.event(job, 'Warning', EventReason.SinkWriteFailed, message);
      if (jobType) this.#deps.event(jobType, 'Warning', EventReason.SinkWriteFailed, message);
      throw new Error(message, { cause: error });
    }
  }

  forget(uid: string): void {
    this.#written.delete(uid);
  }
}

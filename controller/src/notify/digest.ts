// Folds the failures a rate limit held back into one summary. Memory stays bounded however many
// failures arrive: counts per (job type, reason), a few names per group, a few reports in full.
import type { FailureDigest, FailureGroup, FailureReport } from './types.ts';

/** How many held failures a digest shows in full. */
export const DIGEST_DETAILED = 3;
/** How many Job names a digest lists per (job type, reason) group. */
export const DIGEST_NAMES_PER_GROUP = 10;

type GroupState = Omit<FailureGroup, 'exitCodes'> & { exitCodes: Set<number> };

export class DigestBuilder {
  readonly namespace: string;
  readonly jobType: string;
  #count = 0;
  readonly #groups = new Map<string, GroupState>();
  readonly #detailed: FailureReport[] = [];

  constructor(namespace: string, jobType: string) {
    this.namespace = namespace;
    this.jobType = jobType;
  }

  get count(): number {
    return this.#count;
  }

  add(report: FailureReport): void {
    this.#count++;
    if (this.#detailed.length < DIGEST_DETAILED) this.#detailed.push(report);
    const key = JSON.stringify([report.jobType, report.reason]);
    let group = this.#groups.get(key);
    if (!group) {
      group = {
        jobType: report.jobType,
        reason: report.reason,
        count: 0,
        exitCodes: new Set(),
        jobNames: [],
        firstFailedAt: report.failedAt,
        lastFailedAt: report.failedAt,
      };
      this.#groups.set(key, group);
    }
    group.count++;
    if (report.exitCode !== undefined) group.exitCodes.add(report.exitCode);
    if (group.jobNames.length < DIGEST_NAMES_PER_GROUP) group.jobNames.push(report.jobName);
    if (report.failedAt < group.firstFailedAt) group.firstFailedAt = report.failedAt;
    if (report.failedAt > group.lastFailedAt) group.lastFailedAt = report.failedAt;
  }

  build(window: { start: Date; end: Date; sentIndividually: number }): FailureDigest {
    const groups = [...this.#groups.values()]
      .map((group) => ({ ...group, exitCodes: [...group.exitCodes].sort((a, b) => a - b), jobNames: [...group.jobNames] }))
      // The biggest problem first; ties in a stable, readable order.
      .sort((a, b) => b.count - a.count || a.jobType.localeCompare(b.jobType) || a.reason.localeCompare(b.reason));
    return {
      namespace: this.namespace,
      jobType: this.jobType,
      windowStart: window.start,
      windowEnd: window.end,
      count: this.#count,
      sentIndividually: window.sentIndividually,
      groups,
      detailed: [...this.#detailed],
    };
  }
}

/** A digest of the given failures in one go (for callers that already hold them all). */
export function buildDigest(
  reports: FailureReport[],
  window: { namespace: string; jobType: string; start: Date; end: Date; sentIndividually?: number },
): FailureDigest {
  const builder = new DigestBuilder(window.namespace, window.jobType);
  for (const report of reports) builder.add(report);
  return builder.build({ start: window.start, end: window.end, sentIndividually: window.sentIndividually ?? 0 });
}

import { describe, expect, it } from 'vitest';
import { DIGEST_DETAILED, DIGEST_NAMES_PER_GROUP, DigestBuilder, buildDigest } from './digest.ts';
import { failureReport } from './test-support.ts';

const window = { namespace: 'media', jobType: 'render', start: new Date('2026-03-01T12:00:00Z'), end: new Date('2026-03-01T12:01:00Z') };

describe('digest grouping', () => {
  it('groups by job type and reason, biggest group first, with distinct sorted exit codes', () => {
    const reports = [
      ...Array.from({ length: 3 }, (_, i) => failureReport({ jobName: `oom-${i}`, reason: 'BackoffLimitExceeded', exitCode: i === 0 ? 137 : 1 })),
      failureReport({ jobName: 'slow-0', reason: 'DeadlineExceeded', exitCode: undefined }),
      ...Array.from({ length: 5 }, (_, i) => failureReport({ jobName: `pf-${i}`, reason: 'PodFailurePolicy', exitCode: 2 })),
    ];
    const digest = buildDigest(reports, { ...window, sentIndividually: 5 });
    expect(digest.count).toBe(9);
    expect(digest.sentIndividually).toBe(5);
    expect(digest.groups.map((g) => [g.reason, g.count, g.exitCodes])).toEqual([
      ['PodFailurePolicy', 5, [2]],
      ['BackoffLimitExceeded', 3, [1, 137]],
      ['DeadlineExceeded', 1, []],
    ]);
    expect(digest.groups[1]?.jobNames).toEqual(['oom-0', 'oom-1', 'oom-2']);
  });

  it('keeps a separate group per job type when a digest spans several', () => {
    const digest = buildDigest([
      failureReport({ jobType: 'render' }), failureReport({ jobType: 'transcode' }), failureReport({ jobType: 'render' }),
    ], window);
    expect(digest.groups.map((g) => [g.jobType, g.count])).toEqual([['render', 2], ['transcode', 1]]);
  });

  it('tracks the first and last failure time of each group', () => {
    const digest = buildDigest([
      failureReport({ failedAt: new Date('2026-03-01T12:00:30Z') }),
      failureReport({ failedAt: new Date('2026-03-01T12:00:10Z') }),
      failureReport({ failedAt: new Date('2026-03-01T12:00:50Z') }),
    ], window);
    expect(digest.groups[0]?.firstFailedAt.toISOString()).toBe('2026-03-01T12:00:10.000Z');
    expect(digest.groups[0]?.lastFailedAt.toISOString()).toBe('2026-03-01T12:00:50.000Z');
  });

  it('stays bounded: a few reports in full, a few names per group, however many fail', () => {
    const builder = new DigestBuilder('media', 'render');
    for (let i = 0; i < 10_000; i++) builder.add(failureReport({ jobName: `render-${i}` }));
    const digest = builder.build({ start: window.start, end: window.end, sentIndividually: 0 });
    expect(digest.count).toBe(10_000);
    expect(digest.groups[0]?.count).toBe(10_000);
    expect(digest.groups[0]?.jobNames).toHaveLength(DIGEST_NAMES_PER_GROUP);
    expect(digest.detailed.map((r) => r.jobName)).toEqual(Array.from({ length: DIGEST_DETAILED }, (_, i) => `render-${i}`));
  });
});

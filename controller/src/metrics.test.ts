import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configuredChannels, dispatcherRunning, registry, withLeaderMetric } from './metrics.ts';
import { metricValue } from './testing/metrics.ts';

describe('metrics', () => {
  it('export sluice_build_info = 1 with the version of controller/package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await metricValue('sluice_build_info', { version })).toBe(1);
  });

  it('keep a dispatcher marked running until every dispatcher of that binding and mode in the process stopped', async () => {
    const labels = { namespace: 'ns', binding: 'replicas', mode: 'deployment' };
    const first = dispatcherRunning('ns', 'replicas', 'deployment');
    const second = dispatcherRunning('ns', 'replicas', 'deployment');
    expect(await metricValue('sluice_dispatcher_info', labels)).toBe(1);
    first();
    first();
    expect(await metricValue('sluice_dispatcher_info', labels)).toBe(1);
    second();
    expect(await metricValue('sluice_dispatcher_info', labels)).toBeUndefined();
  });

  it('name the notification channels a JobType configures', () => {
    expect(configuredChannels(undefined)).toEqual([]);
    expect(configuredChannels({ slack: {} })).toEqual(['slack']);
    expect(configuredChannels({ email: {}, slack: {} })).toEqual(['email', 'slack']);
  });
});

describe('docs/metrics.md', () => {
  it('documents every sluice_ metric the controller exports, with exactly its labels', () => {
    withLeaderMetric({ onStartedLeading: () => undefined });
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const exported = registry.getMetricsAsArray().filter((m) => m.name.startsWith('sluice_'));
    expect(exported.map((m) => m.name)).toContain('sluice_leader');
    for (const metric of exported) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${metric.name}\` |`));
      expect(row, metric.name).toBeDefined();
      const [, , type, labels] = row!.split('|').map((cell) => cell.trim());
      expect(type, metric.name).toBe(metric.type);
      const documented = [...labels!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]).sort();
      expect(documented, metric.name).toEqual([...((metric as { labelNames?: string[] }).labelNames ?? [])].sort());
    }
  });
});

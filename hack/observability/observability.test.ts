import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ruleGroups, runbookAnchor } from './alerts.ts';
import { dashboardQueries, sluiceDashboard } from './dashboard.ts';
import { knownMetric, metricsIn, sluiceMetrics } from './metric-names.ts';
import { repoRoot } from './paths.ts';
import { observabilityQueries } from './queries.ts';
import { renderObservabilityFiles } from './render.ts';

const read = (path: string) => readFileSync(resolve(repoRoot, path), 'utf8');
const alerts = ruleGroups.flatMap((group) => group.rules);

describe('generated observability files', () => {
  it.each([...renderObservabilityFiles()])('%s is up to date (npm run generate:observability)', (path, content) => {
    expect(read(path)).toBe(content);
  });
});

describe('dashboard', () => {
  const dashboard = sluiceDashboard();

  it('is templated by datasource, namespace and binding', () => {
    const variables = (dashboard.templating?.list ?? []).map((v) => [v.name, v.type]);
    expect(variables).toEqual([['datasource', 'datasource'], ['namespace', 'query'], ['binding', 'query']]);
  });

  it('queries the chosen datasource in every panel', () => {
    const panels = (dashboard.panels ?? []).filter((panel) => panel.type !== 'row');
    expect(panels.length).toBeGreaterThan(15);
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('uses only metrics that Sluice exports', () => {
    for (const { panel, expr } of dashboardQueries(dashboard)) {
      const metrics = metricsIn(expr);
      expect(metrics.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const metric of metrics) expect(knownMetric(metric), `${panel}: ${metric}`).toBe(true);
    }
  });

  it('filters binding metrics by the namespace and binding variables', () => {
    for (const { panel, expr } of dashboardQueries(dashboard)) {
      for (const metric of metricsIn(expr)) {
        const labels: readonly string[] = sluiceMetrics[metric as keyof typeof sluiceMetrics] ?? [];
        if (labels.includes('binding')) expect(expr, panel).toContain('binding=~"$binding"');
        if (labels.includes('namespace')) expect(expr, panel).toContain('namespace=~"$namespace"');
      }
    }
  });

  it('shows the panels SREs look for', () => {
    const titles = (dashboard.panels ?? []).map((panel) => panel.title);
    for (const title of ['Queue depth', 'Oldest message age', 'Dispatch rate', 'Message → Job latency', 'Job outcomes',
      'Dead letters', 'Status sink write errors', 'Status sink write latency', 'Dispatcher replicas', 'Leader',
      'Work queue depth', 'Reconcile errors', 'CPU', 'Memory']) {
      expect(titles).toContain(title);
    }
  });

  it('lays panels out without overlap', () => {
    const cells = new Set<string>();
    for (const panel of dashboard.panels ?? []) {
      const { x, y, w, h } = panel.gridPos!;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let row = y; row < y + h; row++) {
        for (let column = x; column < x + w; column++) {
          const cell = `${column},${row}`;
          expect(cells.has(cell), `${panel.title} overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
      }
    }
  });
});

describe('alerts', () => {
  const runbooks = read('docs/runbooks.md');

  it('cover the failure modes of the issue', () => {
    expect(alerts.map((a) => a.alert)).toEqual([
      'SluiceBacklogGrowing', 'SluiceMessagesAging', 'SluiceDispatchStalled', 'SluiceDeadLetterRate',
      'SluiceSinkErrors', 'SluiceNotifierFailing', 'SluiceNoLeader',
    ]);
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s points at its runbook section', (name, alert) => {
    expect(alert.annotations.runbook_url).toBe(`docs/runbooks.md#${runbookAnchor(name)}`);
    expect(runbooks).toMatch(new RegExp(`^## ${name}$`, 'm'));
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s uses only metrics that Sluice exports', (_name, alert) => {
    const metrics = metricsIn(alert.expr);
    expect(metrics.length).toBeGreaterThan(0);
    for (const metric of metrics) expect(knownMetric(metric), metric).toBe(true);
  });

  it('has a promtool test for each alert', () => {
    const tests = read('hack/observability/rules.test.yaml');
    for (const alert of alerts) expect(tests).toContain(`alertname: ${alert.alert}`);
  });
});

describe('docs/metrics.md', () => {
  const doc = read('docs/metrics.md');

  it.each(Object.entries(sluiceMetrics))('documents %s with its labels', (name, labels) => {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\``));
    expect(row, name).toBeDefined();
    for (const label of labels) expect(row, `${name} label ${label}`).toContain(`\`${label}\``);
  });
});

describe('queries for the e2e check', () => {
  it('fills in every dashboard variable', () => {
    const queries = observabilityQueries({ namespace: 'media', binding: 'videos' });
    expect(queries.length).toBe(dashboardQueries().length + alerts.length);
    for (const { source, expr } of queries) expect(expr, source).not.toMatch(/\$[a-z_]/);
    expect(queries[0]!.expr).toBe('sum by (namespace, binding, state) (sluice_queue_messages{namespace=~"media", binding=~"videos"})');
  });
});

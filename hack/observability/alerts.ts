// Sluice's Prometheus alerts: `npm run generate:observability` writes them as a PrometheusRule to
// manifests/observability/ and as rule groups to the chart. Each alert's runbook is the section of
// docs/runbooks.md named after it; hack/observability/rules.test.yaml tests each one with promtool.

/** Where runbook_url points. The chart replaces it with `prometheusRule.runbookBaseUrl`. */
export const RUNBOOK_BASE = 'docs/runbooks.md';

export type Alert = {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string; runbook_url: string };
};

export type RuleGroup = { name: string; rules: Alert[] };

/** GitHub's anchor for a Markdown heading that is just the alert's name. */
export const runbookAnchor = (alert: string) => alert.toLowerCase();

function alert(name: string, spec: Omit<Alert, 'alert' | 'annotations'> & { summary: string; description: string }): Alert {
  return {
    alert: name,
    expr: spec.expr,
    for: spec.for,
    labels: spec.labels,
    annotations: { summary: spec.summary, description: spec.description, runbook_url: `${RUNBOOK_BASE}#${runbookAnchor(name)}` },
  };
}

const byBinding = 'namespace, binding';

export const ruleGroups: RuleGroup[] = [
  {
    name: 'sluice.queues',
    rules: [
      alert('SluiceBacklogGrowing', {
        expr: `sum by (${byBinding}) (sluice_queue_messages{state="visible"}) > 100\n`
          + `and sum by (${byBinding}) (deriv(sluice_queue_messages{state="visible"}[15m])) > 0`,
        for: '15m',
        labels: { severity: 'warning' },
        summary: 'The queue of QueueBinding {{ $labels.namespace }}/{{ $labels.binding }} keeps growing.',
        description: '{{ $value | humanize }} visible messages and still rising for 15 minutes: messages arrive faster than Sluice turns them into Jobs.',
      }),
      alert('SluiceMessagesAging', {
        expr: `max by (${byBinding}) (sluice_queue_oldest_message_age_seconds) > 900`,
        for: '10m',
        labels: { severity: 'warning' },
        summary: 'Messages of QueueBinding {{ $labels.namespace }}/{{ $labels.binding }} wait more than 15 minutes.',
        description: 'The oldest message seen is {{ $value | humanizeDuration }} old.',
      }),
      alert('SluiceDispatchStalled', {
        expr: `sum by (${byBinding}) (sluice_queue_messages{state="visible"}) > 0\n`
          + `unless sum by (${byBinding}) (rate(sluice_messages_dispatched_total[10m])) > 0`,
        for: '15m',
        labels: { severity: 'critical' },
        summary: 'QueueBinding {{ $labels.namespace }}/{{ $labels.binding }} has messages but dispatches none.',
        description: '{{ $value | humanize }} visible messages and no message became a Job for 15 minutes.',
      }),
      alert('SluiceDeadLetterRate', {
        expr: `sum by (${byBinding}, reason) (increase(sluice_messages_dead_lettered_total[15m])) > 10`,
        for: '5m',
        labels: { severity: 'warning' },
        summary: 'QueueBinding {{ $labels.namespace }}/{{ $labels.binding }} dead-letters messages ({{ $labels.reason }}).',
        description: '{{ $value | humanize }} messages dead-lettered with reason {{ $labels.reason }} in 15 minutes.',
      }),
    ],
  },
  {
    name: 'sluice.outcomes',
    rules: [
      alert('SluiceSinkErrors', {
        expr: 'sum by (namespace, sink) (rate(sluice_sink_write_errors_total[5m])) > 0',
        for: '10m',
        labels: { severity: 'warning' },
        summary: 'Writes to StatusSink {{ $labels.namespace }}/{{ $labels.sink }} fail.',
        description: '{{ $value | humanize }} failed writes per second for 10 minutes: application records lag behind their Jobs.',
      }),
      alert('SluiceNotifierFailing', {
        expr: 'sum by (namespace, job_type, channel) (rate(sluice_notifications_failed_total[15m])) > 0',
        for: '15m',
        labels: { severity: 'warning' },
        summary: 'Sluice cannot send {{ $labels.channel }} failure notifications for JobType {{ $labels.namespace }}/{{ $labels.job_type }}.',
        description: '{{ $value | humanize }} failed sends per second for 15 minutes: Job failures go unannounced.',
      }),
    ],
  },
  {
    name: 'sluice.controller',
    rules: [
      alert('SluiceNoLeader', {
        expr: 'sum(sluice_leader) == 0 or absent(sluice_leader)',
        for: '5m',
        labels: { severity: 'critical' },
        summary: 'No Sluice controller replica holds the leader Lease.',
        description: 'Without a leader nothing is dispatched by embedded dispatchers and no Job outcome is recorded.',
      }),
    ],
  },
];

/** The PrometheusRule for `kubectl apply -n <sluice namespace>`. */
export function prometheusRule(): object {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'sluice', labels: { 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/part-of': 'sluice' } },
    spec: { groups: ruleGroups },
  };
}

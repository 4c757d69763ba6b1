// The Sluice Grafana dashboard, built with Grafana's foundation SDK: `npm run generate:observability`
// writes it to manifests/observability/ and the chart. Every query uses only the metrics in
// docs/metrics.md; the e2e suite runs each one against a real Prometheus.
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder, DashboardCursorSync, DatasourceVariableBuilder, QueryVariableBuilder, RowBuilder,
  VariableRefresh, VariableSort, type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

export const DASHBOARD_UID = 'sluice-overview';

const datasource: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** The namespace and binding variables as a label matcher: `{namespace=~"$namespace", binding=~"$binding"}`. */
const binding = 'namespace=~"$namespace", binding=~"$binding"';
const namespace = 'namespace=~"$namespace"';
/** Only the Sluice processes' own series (the controller and dispatchers export sluice_build_info). */
const sluiceProcess = '* on (job, instance) group_left (version) sluice_build_info';

type Query = { expr: string; legend: string };

function query({ expr, legend }: Query, refId: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(datasource).expr(expr).legendFormat(legend).range().refId(refId);
}

function timeseries(title: string, description: string, unit: string, queries: Query[], width = 12): TimeseriesBuilder {
  const panel = new TimeseriesBuilder()
    .title(title)
    .description(description)
    .datasource(datasource)
    .unit(unit)
    .min(0)
    .span(width)
    .height(8)
    .fillOpacity(10)
    .lineWidth(1)
    .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true));
  queries.forEach((q, index) => panel.withTarget(query(q, String.fromCharCode(65 + index))));
  return panel;
}

const quantiles = (metric: string, by: string, selector: string, legendPrefix: string): Query[] =>
  [0.5, 0.9, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le, ${by}) (rate(${metric}_bucket{${selector}}[$__rate_interval])))`,
    legend: `p${q * 100} ${legendPrefix}`,
  }));

export function sluiceDashboard(): Dashboard {
  return new DashboardBuilder('Sluice')
    .uid(DASHBOARD_UID)
    .description('SQS queues, the Jobs their messages become, outcomes and the Sluice controller.')
    .tags(['sluice', 'sqs', 'kubernetes'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-3h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(new QueryVariableBuilder('namespace')
      .label('Namespace')
      .datasource(datasource)
      .query('label_values(sluice_messages_received_total, namespace)')
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      .allValue('.*'))
    .withVariable(new QueryVariableBuilder('binding')
      .label('QueueBinding')
      .datasource(datasource)
      .query('label_values(sluice_messages_received_total{namespace=~"$namespace"}, binding)')
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      .allValue('.*'))

    .withRow(new RowBuilder('Queues'))
    .withPanel(timeseries('Queue depth', 'Messages in each queue by state (SQS GetQueueAttributes): visible wait for a dispatcher, in_flight are received and not yet deleted, delayed are not yet deliverable.', 'short', [
      { expr: `sum by (namespace, binding, state) (sluice_queue_messages{${binding}})`, legend: '{{namespace}}/{{binding}} {{state}}' },
    ]))
    .withPanel(timeseries('Oldest message age', 'Age of the oldest message seen in recent receives (SQS has no API for it; an idle queue shows its last value).', 's', [
      { expr: `max by (namespace, binding) (sluice_queue_oldest_message_age_seconds{${binding}})`, legend: '{{namespace}}/{{binding}}' },
    ]))
    .withPanel(timeseries('Dispatch rate', 'Messages turned into Jobs per second, by JobType, beside messages received (redeliveries included).', 'suffix:msg/s', [
      { expr: `sum by (namespace, binding, job_type) (rate(sluice_messages_dispatched_total{${binding}}[$__rate_interval]))`, legend: '{{namespace}}/{{binding}} → {{job_type}}' },
      { expr: `sum by (namespace, binding) (rate(sluice_messages_received_total{${binding}}[$__rate_interval]))`, legend: '{{namespace}}/{{binding}} received' },
    ]))
    .withPanel(timeseries('Message → Job latency', 'From the message\'s SQS SentTimestamp to its Job existing: queueing in SQS included.', 's',
      quantiles('sluice_message_to_job_seconds', 'namespace, binding', binding, '{{namespace}}/{{binding}}')))
    .withPanel(timeseries('Deferred messages', 'Messages returned to SQS for later, by reason (JobType at maxConcurrency, JobType missing, …).', 'suffix:msg/s', [
      { expr: `sum by (namespace, binding, reason) (rate(sluice_messages_deferred_total{${binding}}[$__rate_interval]))`, legend: '{{namespace}}/{{binding}} {{reason}}' },
    ]))
    .withPanel(timeseries('Dispatcher replicas', 'Running dispatchers per binding: embedded in the controller, or a Deployment (scaled by KEDA).', 'short', [
      { expr: `count by (namespace, binding, mode) (sluice_dispatcher_info{${binding}})`, legend: '{{namespace}}/{{binding}} {{mode}}' },
    ]))

    .withRow(new RowBuilder('Jobs'))
    .withPanel(timeseries('Job outcomes', 'Jobs finished per second by JobType and result.', 'suffix:jobs/s', [
      { expr: `sum by (namespace, job_type, result) (rate(sluice_jobs_finished_total{${namespace}}[$__rate_interval]))`, legend: '{{namespace}}/{{job_type}} {{result}}' },
    ]))
    .withPanel(timeseries('Active Jobs', 'Unfinished Jobs by JobType (compare with its maxConcurrency).', 'short', [
      { expr: `sum by (namespace, job_type) (sluice_jobs_active{${namespace}})`, legend: '{{namespace}}/{{job_type}}' },
    ]))
    .withPanel(timeseries('Job duration', 'Job start → finish, by JobType.', 's',
      quantiles('sluice_job_duration_seconds', 'namespace, job_type', namespace, '{{namespace}}/{{job_type}}')))
    .withPanel(timeseries('Jobs created', 'Jobs created per second by JobType.', 'suffix:jobs/s', [
      { expr: `sum by (namespace, job_type) (rate(sluice_jobs_created_total{${namespace}}[$__rate_interval]))`, legend: '{{namespace}}/{{job_type}}' },
    ]))

    .withRow(new RowBuilder('Failures'))
    .withPanel(timeseries('Dead letters', 'Messages sent to the dead-letter queue per second, by reason.', 'suffix:msg/s', [
      { expr: `sum by (namespace, binding, reason) (rate(sluice_messages_dead_lettered_total{${binding}}[$__rate_interval]))`, legend: '{{namespace}}/{{binding}} {{reason}}' },
    ]))
    .withPanel(timeseries('SQS and Job create errors', 'Failed SQS calls by operation, and failed Job creates (each retry counts).', 'suffix:errors/s', [
      { expr: `sum by (namespace, binding, operation) (rate(sluice_sqs_errors_total{${binding}}[$__rate_interval]))`, legend: '{{namespace}}/{{binding}} SQS {{operation}}' },
      { expr: `sum by (namespace, binding) (rate(sluice_job_create_errors_total{${binding}}[$__rate_interval]))`, legend: '{{namespace}}/{{binding}} Job create' },
    ]))
    .withPanel(timeseries('Status sink write errors', 'Failed writes to the application\'s records, per StatusSink.', 'suffix:errors/s', [
      { expr: `sum by (namespace, sink) (rate(sluice_sink_write_errors_total{${namespace}}[$__rate_interval]))`, legend: '{{namespace}}/{{sink}}' },
    ]))
    .withPanel(timeseries('Status sink write latency', 'Write latency to the application\'s records, per StatusSink.', 's',
      quantiles('sluice_sink_write_seconds', 'namespace, sink', namespace, '{{namespace}}/{{sink}}')))
    .withPanel(timeseries('Notifications', 'Failure notifications sent, folded into digests, and failed, by channel.', 'suffix:msg/s', [
      { expr: `sum by (channel) (rate(sluice_notifications_sent_total{${namespace}}[$__rate_interval]))`, legend: 'sent {{channel}}' },
      { expr: `sum by (channel) (rate(sluice_notifications_digested_total{${namespace}}[$__rate_interval]))`, legend: 'digested {{channel}}' },
      { expr: `sum by (channel) (rate(sluice_notifications_failed_total{${namespace}}[$__rate_interval]))`, legend: 'failed {{channel}}' },
    ]))
    .withPanel(timeseries('Outcome terminal errors', 'Outcome steps that can never succeed (recorded and given up), by reason.', 'suffix:errors/s', [
      { expr: `sum by (namespace, job_type, reason) (rate(sluice_outcome_terminal_errors_total{${namespace}}[$__rate_interval]))`, legend: '{{namespace}}/{{job_type}} {{reason}}' },
    ]))

    .withRow(new RowBuilder('Controller'))
    .withPanel(timeseries('Leader', '1 on the replica holding the Lease. Exactly one replica should be 1.', 'short', [
      { expr: 'max by (instance) (sluice_leader)', legend: '{{instance}}' },
      { expr: 'sum(sluice_leader)', legend: 'leaders' },
    ], 8))
    .withPanel(timeseries('Work queue depth', 'Keys waiting per work queue (controller-runtime\'s workqueue_depth).', 'short', [
      { expr: 'sum by (name) (workqueue_depth)', legend: '{{name}}' },
    ], 8))
    .withPanel(timeseries('Reconcile errors', 'Reconciles that failed (retried with backoff), and work queue retries.', 'suffix:/s', [
      { expr: 'sum by (controller) (rate(controller_runtime_reconcile_total{result="error"}[$__rate_interval]))', legend: '{{controller}} errors' },
      { expr: 'sum by (name) (rate(workqueue_retries_total[$__rate_interval]))', legend: '{{name}} retries' },
    ], 8))
    .withPanel(timeseries('CPU', 'CPU of each Sluice process (controller replicas and dispatchers).', 'percentunit', [
      { expr: `rate(process_cpu_seconds_total[$__rate_interval]) ${sluiceProcess}`, legend: '{{instance}}' },
    ], 8))
    .withPanel(timeseries('Memory', 'Resident memory of each Sluice process.', 'bytes', [
      { expr: `process_resident_memory_bytes ${sluiceProcess}`, legend: '{{instance}}' },
    ], 8))
    .withPanel(timeseries('Event loop lag', 'Node.js event loop lag (p99): a busy loop delays receives and lease renewals.', 's', [
      { expr: `nodejs_eventloop_lag_p99_seconds ${sluiceProcess}`, legend: '{{instance}}' },
    ], 8))
    .build();
}

/** Every panel query of the dashboard, for checks that run them against a Prometheus. */
export function dashboardQueries(dashboard: Dashboard = sluiceDashboard()): { panel: string; expr: string }[] {
  const queries: { panel: string; expr: string }[] = [];
  for (const panel of dashboard.panels ?? []) {
    if (!('targets' in panel)) continue;
    for (const target of panel.targets ?? []) {
      const expr = (target as { expr?: unknown }).expr;
      if (typeof expr === 'string') queries.push({ panel: panel.title ?? '', expr });
    }
  }
  return queries;
}

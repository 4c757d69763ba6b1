// The metrics the dashboard and alerts may use: the agreed interface (docs/metrics.md) that the
// controller and dispatchers export. Tests check every query against this list.
export const sluiceMetrics = {
  sluice_messages_received_total: ['namespace', 'binding'],
  sluice_messages_dispatched_total: ['namespace', 'binding', 'job_type'],
  sluice_messages_dead_lettered_total: ['namespace', 'binding', 'reason'],
  sluice_messages_deferred_total: ['namespace', 'binding', 'reason'],
  sluice_sqs_errors_total: ['namespace', 'binding', 'operation'],
  sluice_job_create_errors_total: ['namespace', 'binding'],
  sluice_message_to_job_seconds: ['namespace', 'binding'],
  sluice_queue_messages: ['namespace', 'binding', 'state'],
  sluice_queue_oldest_message_age_seconds: ['namespace', 'binding'],
  sluice_jobs_created_total: ['namespace', 'job_type'],
  sluice_jobs_finished_total: ['namespace', 'job_type', 'result'],
  sluice_job_duration_seconds: ['namespace', 'job_type', 'result'],
  sluice_jobs_active: ['namespace', 'job_type'],
  sluice_leader: [],
  sluice_dispatcher_info: ['namespace', 'binding', 'mode'],
  sluice_sink_write_seconds: ['namespace', 'sink'],
  sluice_sink_write_errors_total: ['namespace', 'sink'],
  sluice_notifications_sent_total: ['namespace', 'job_type', 'channel', 'kind'],
  sluice_notifications_digested_total: ['namespace', 'job_type', 'channel'],
  sluice_notifications_failed_total: ['namespace', 'job_type', 'channel', 'kind'],
  sluice_outcome_terminal_errors_total: ['namespace', 'job_type', 'reason'],
  sluice_progress_reports_total: ['namespace', 'job_type', 'result'],
  sluice_build_info: ['version'],
} as const satisfies Record<string, readonly string[]>;

/** controller-runtime's names for the machinery, and prom-client's process and Node.js defaults used here. */
export const machineryMetrics = [
  'workqueue_depth', 'workqueue_adds_total', 'workqueue_retries_total', 'workqueue_queue_duration_seconds',
  'workqueue_work_duration_seconds', 'controller_runtime_reconcile_total',
  'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds',
  // only as absent()'s companion in rule tests
  'up',
] as const;

const histograms = new Set(['sluice_message_to_job_seconds', 'sluice_job_duration_seconds', 'sluice_sink_write_seconds']);

/** Metric names a PromQL expression selects (`_bucket`/`_sum`/`_count` series count as their histogram). */
export function metricsIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const names = withoutStrings.match(/\b(sluice_[a-z0-9_]+|workqueue_[a-z_]+|controller_runtime_[a-z_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)\b/g) ?? [];
  return [...new Set(names.map((name) => {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return histograms.has(base) ? base : name;
  }))];
}

export const knownMetric = (name: string) => name in sluiceMetrics || (machineryMetrics as readonly string[]).includes(name);

// Every PromQL expression of the dashboard and the alerts, with the dashboard's variables filled
// in, for an e2e check against a real Prometheus: each must evaluate without error (and, with
// traffic, return data).
import { ruleGroups } from './alerts.ts';
import { dashboardQueries } from './dashboard.ts';

export type Variables = { namespace?: string; binding?: string; rateInterval?: string };

/** `$namespace`, `$binding` (regexes; default `.*`) and `$__rate_interval` (default `1m`) filled in. */
export function withVariables(expr: string, { namespace = '.*', binding = '.*', rateInterval = '1m' }: Variables = {}): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$namespace', namespace)
    .replaceAll('$binding', binding);
}

export function observabilityQueries(variables: Variables = {}): { source: string; expr: string }[] {
  return [
    ...dashboardQueries().map(({ panel, expr }) => ({ source: `panel ${panel}`, expr: withVariables(expr, variables) })),
    ...ruleGroups.flatMap((group) => group.rules.map((rule) => ({ source: `alert ${rule.alert}`, expr: rule.expr }))),
  ];
}

// Prints the dashboard's queries as a Prometheus rule file of recording rules, so that
// `promtool check rules` parses every panel's PromQL without a server (check-rules.sh).
import { stringify } from 'yaml';
import { dashboardQueries } from './dashboard.ts';
import { withVariables } from './queries.ts';

const rules = dashboardQueries().map(({ expr }, index) => ({ record: `sluice_dashboard:query_${index}`, expr: withVariables(expr) }));
process.stdout.write(stringify({ groups: [{ name: 'sluice.dashboard', rules }] }, { lineWidth: 0 }));

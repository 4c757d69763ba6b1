// Reads series back from the process's prom-client registry, as a scrape would see them.
import { registry } from '../metrics.ts';

type Labels = Record<string, string>;

type Sample = { value: number; labels: Partial<Record<string, string | number>>; metricName?: string };

async function samples(name: string): Promise<Sample[] | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  return (await metric.get()).values;
}

const matches = (actual: Partial<Record<string, string | number>>, wanted: Labels) =>
  Object.keys(actual).length === Object.keys(wanted).length && Object.entries(wanted).every(([k, v]) => actual[k] === v);

/** The value of the series with exactly these labels; undefined when it does not exist. */
export async function metricValue(name: string, labels: Labels = {}): Promise<number | undefined> {
  return (await samples(name))?.find((s) => matches(s.labels, labels))?.value;
}

/** A histogram series' count and sum; undefined when it does not exist. */
export async function histogram(name: string, labels: Labels): Promise<{ count: number; sum: number } | undefined> {
  const values = await samples(name);
  const count = values?.find((s) => s.metricName === `${name}_count` && matches(s.labels, labels))?.value;
  const sum = values?.find((s) => s.metricName === `${name}_sum` && matches(s.labels, labels))?.value;
  return count === undefined || sum === undefined ? undefined : { count, sum };
}

/** Every label set of a metric, for checking what was initialised or removed. */
export async function labelSets(name: string): Promise<Labels[]> {
  return ((await samples(name)) ?? []).map((s) => Object.fromEntries(Object.entries(s.labels).map(([k, v]) => [k, String(v)])));
}

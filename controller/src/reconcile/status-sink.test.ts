import { describe, expect, it } from 'vitest';
import type { StatusSink } from '../api/schemas.ts';
import { FakeKube } from '../testing/fake-kube.ts';
import { eventLog, NAMESPACE, silentLogger } from '../testing/fixtures.ts';
import { histogram, metricValue } from '../testing/metrics.ts';
import { FakeSink } from '../testing/outcome-harness.ts';
import { statusSinkReconciler } from './status-sink.ts';
import { StatusWriter } from './status-writer.ts';

describe('the StatusSink reconciler', () => {
  it('starts the sink\'s write metrics at 0 when it sees the StatusSink, and reports it Reachable', async () => {
    const kube = new FakeKube();
    kube.create('StatusSink', NAMESPACE, {
      apiVersion: 'sluice.dev/v1alpha1', kind: 'StatusSink', metadata: { name: 'orders' },
      spec: { dynamodb: { region: 'us-east-1' } },
    } as StatusSink);
    const reconcile = statusSinkReconciler({
      sinks: kube.cache<StatusSink>('StatusSink'), open: () => Promise.resolve(new FakeSink()), status: new StatusWriter(kube.custom), event: eventLog().sink,
    });
    const labels = { namespace: NAMESPACE, sink: 'orders' };
    expect(await metricValue('sluice_sink_write_errors_total', labels)).toBeUndefined();
    await reconcile({ key: `${NAMESPACE}/orders`, namespace: NAMESPACE, name: 'orders', retries: 0, logger: silentLogger });
    expect(await metricValue('sluice_sink_write_errors_total', labels)).toBe(0);
    expect(await histogram('sluice_sink_write_seconds', labels)).toEqual({ count: 0, sum: 0 });
    expect(kube.get<StatusSink>('StatusSink', NAMESPACE, 'orders')?.status?.conditions).toMatchObject([{ type: 'Reachable', status: 'True' }]);
  });
});

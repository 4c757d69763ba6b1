// Every StatusSink write, from the outcome path and the progress API alike, goes through here so
// sluice_sink_write_seconds and sluice_sink_write_errors_total see all of them.
import { sinkWriteErrors, sinkWriteSeconds } from '../metrics.ts';
import type { SinkWrite, StatusSinkClient, WriteResult } from './types.ts';

/** `sink` is the StatusSink's name, in `namespace`. */
export async function measuredWrite(client: StatusSinkClient, namespace: string, sink: string, write: SinkWrite): Promise<WriteResult> {
  const labels = { namespace, sink };
  const stopTimer = sinkWriteSeconds.startTimer(labels);
  try {
    return await client.write(write);
  } catch (error) {
    sinkWriteErrors.inc(labels);
    throw error;
  } finally {
    stopTimer();
  }
}

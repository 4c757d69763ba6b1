// A job container for e2e tests on the exec node. It reads its message the two ways Sluice
// delivers it (the payload file and $SLUICE_PAYLOAD), logs what it saw, and does what the message's
// `probe` field asks: succeed with a result, exit with a code, hold memory, sleep.
import { readFileSync, writeFileSync } from 'node:fs';

type Probe = { exitCode?: number; allocateMiB?: number; sleepSeconds?: number; message?: string };

const file = process.env.SLUICE_PAYLOAD_FILE ?? '/var/run/sluice/payload';
const fromFile = readFileSync(file, 'utf8');
const fromEnv = process.env.SLUICE_PAYLOAD;
let probe: Probe = {};
try {
  probe = (JSON.parse(fromFile) as { probe?: Probe }).probe ?? {};
} catch {
  // Not JSON: the default probe (succeed).
}
console.log(`probe: job ${process.env.SLUICE_JOB_NAME} message ${process.env.SLUICE_MESSAGE_ID} read ${Buffer.byteLength(fromFile)} bytes from ${file}`);
console.log(`probe: $SLUICE_PAYLOAD ${fromEnv === undefined ? 'is not set' : fromEnv === fromFile ? 'matches the file' : 'differs from the file'}`);

if (probe.sleepSeconds) await new Promise((r) => setTimeout(r, probe.sleepSeconds! * 1000));
if (probe.allocateMiB) {
  const held: Buffer[] = [];
  for (let i = 0; i < probe.allocateMiB; i++) held.push(Buffer.alloc(1024 * 1024, 1));
  console.log(`probe: holding ${held.length} MiB`);
}
if (probe.exitCode) {
  console.error(probe.message ?? `probe: exiting with ${probe.exitCode} as asked`);
  process.exit(probe.exitCode);
}
const result = {
  bytes: Buffer.byteLength(fromFile),
  envMatchesFile: fromEnv === undefined ? null : fromEnv === fromFile,
  uid: process.getuid?.(),
  node: process.version,
  messageId: process.env.SLUICE_MESSAGE_ID,
};
writeFileSync(process.env.SLUICE_RESULT_FILE ?? '/dev/termination-log', JSON.stringify(result));
console.log(`probe: done ${JSON.stringify(result)}`);

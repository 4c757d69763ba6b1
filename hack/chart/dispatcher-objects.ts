// Prints, as a YAML stream, the objects the controller server-side applies for a QueueBinding with
// its own dispatcher (controller/src/dispatch/deployment.ts), for hack/chart/rbac-check.sh.
//   node hack/chart/dispatcher-objects.ts NAMESPACE [--credentials]
import { stringify } from 'yaml';
import type { QueueBinding } from '../../controller/src/api/schemas.ts';
import { parseSpec } from '../../controller/src/api/validate.ts';
import { dispatcherObjects } from '../../controller/src/dispatch/deployment.ts';

const [namespace, flag] = process.argv.slice(2);
if (!namespace) throw new Error('usage: dispatcher-objects.ts NAMESPACE [--credentials]');
const parsed = parseSpec('QueueBinding', {
  queueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/videos',
  routes: [{ name: 'all', jobType: 'transcode' }],
  dispatcher: { mode: 'deployment' },
  // Its dispatcher's Role then reads this Secret, which RBAC lets the controller grant only if it may.
  ...(flag === '--credentials' && { credentials: { secretRef: { name: 'sqs-credentials' } } }),
});
if (!parsed.success) throw new Error(parsed.message);
const binding = {
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'QueueBinding',
  metadata: { name: 'videos', namespace, uid: '00000000-0000-4000-8000-000000000001', generation: 1 },
  spec: parsed.spec,
} as QueueBinding;
const objects = dispatcherObjects(binding, { image: 'sluice/controller:0.1.0', keda: true });
// The order the applier applies them in (dispatch/deployment-applier.ts).
for (const object of [objects.serviceAccount, objects.role, objects.roleBinding, objects.triggerAuthentication, objects.deployment, objects.scaledObject]) {
  if (object) process.stdout.write(`---\n${stringify(object)}`);
}

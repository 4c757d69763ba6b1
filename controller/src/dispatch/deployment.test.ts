import { describe, expect, it } from 'vitest';
import { queueBindingSpecSchema, type QueueBinding } from '../api/schemas.ts';
import { dispatcherName, dispatcherObjects } from './deployment.ts';

const binding = (spec: Record<string, unknown> = {}, name = 'fable-jobs'): QueueBinding => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'QueueBinding',
  metadata: { name, namespace: 'media', uid: 'qb-uid', generation: 3 },
  spec: queueBindingSpecSchema.parse({
    queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/fable-jobs',
    routes: [{ name: 'all', jobType: 'transcode' }],
    dispatcher: { mode: 'deployment', autoscaling: { minReplicas: 0, maxReplicas: 8, messagesPerReplica: 5 } },
    ...spec,
  }),
});
const image = 'sluice/controller:abc123';

describe('dispatcherObjects', () => {
  it('runs `sluice dispatch` for the binding from the controller\'s image, owned by the binding', () => {
    const { deployment, role, roleBinding, serviceAccount } = dispatcherObjects(binding(), { image, keda: false });
    const container = deployment.spec!.template.spec!.containers[0]!;
    expect(container.image).toBe(image);
    expect(container.args).toEqual(['dispatch', '--binding', 'media/fable-jobs', '--metrics-bind-address', ':8080']);
    expect(deployment.spec!.replicas).toBe(1);
    for (const object of [deployment, role, roleBinding, serviceAccount!]) {
      expect(object.metadata!.name).toBe('sluice-dispatch-fable-jobs');
      expect(object.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'QueueBinding', name: 'fable-jobs', uid: 'qb-uid', controller: true })]);
    }
    expect(deployment.spec!.template.spec!.serviceAccountName).toBe('sluice-dispatch-fable-jobs');
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true });
  });

  it('lets the HPA own the replica count where KEDA scales the Deployment', () => {
    const { deployment, scaledObject, triggerAuthentication } = dispatcherObjects(binding(), { image, keda: true });
    expect(deployment.spec).not.toHaveProperty('replicas');
    expect(scaledObject?.spec).toMatchObject({
      scaleTargetRef: { name: 'sluice-dispatch-fable-jobs' },
      minReplicaCount: 0,
      maxReplicaCount: 8,
      triggers: [{
        type: 'aws-sqs-queue',
        authenticationRef: { name: 'sluice-dispatch-fable-jobs' },
        metadata: { queueURL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/fable-jobs', queueLength: '5', awsRegion: 'eu-west-1', scaleOnInFlight: 'true' },
      }],
    });
    expect(triggerAuthentication?.spec).toEqual({ podIdentity: { provider: 'aws' } });
  });

  it('reads the queue with the binding\'s credentials Secret, which its Role may get by name only', () => {
    const withSecret = binding({ credentials: { secretRef: { name: 'aws-creds' } }, endpoint: 'http://10.250.0.1:19324' });
    const { role, triggerAuthentication, scaledObject } = dispatcherObjects(withSecret, { image, keda: true });
    expect(triggerAuthentication?.spec).toEqual({
      secretTargetRef: [
        { parameter: 'awsAccessKeyID', name: 'aws-creds', key: 'AWS_ACCESS_KEY_ID' },
        { parameter: 'awsSecretAccessKey', name: 'aws-creds', key: 'AWS_SECRET_ACCESS_KEY' },
      ],
    });
    expect((scaledObject?.spec.triggers as { metadata: Record<string, string> }[])[0]!.metadata.awsEndpoint).toBe('http://10.250.0.1:19324');
    const secretRules = role.rules!.filter((r) => r.resources?.includes('secrets'));
    expect(secretRules).toEqual([
      expect.objectContaining({ verbs: ['create'] }),
      expect.objectContaining({ resourceNames: ['aws-creds'], verbs: ['get', 'list', 'watch'] }),
    ]);
  });

  it('uses a ServiceAccount the user names instead of making one', () => {
    const objects = dispatcherObjects(binding({ dispatcher: { mode: 'deployment', serviceAccountName: 'media-sqs' } }), { image, keda: false });
    expect(objects.serviceAccount).toBeUndefined();
    expect(objects.roleBinding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'media-sqs', namespace: 'media' }]);
  });

  it('takes the region from the controller where the queue URL has none (local emulators)', () => {
    const local = binding({ queueUrl: 'http://127.0.0.1:19324/000000000000/jobs' });
    const { scaledObject } = dispatcherObjects(local, { image, keda: true, defaultRegion: 'us-east-1' });
    expect((scaledObject?.spec.triggers as { metadata: Record<string, string> }[])[0]!.metadata.awsRegion).toBe('us-east-1');
  });
});

describe('dispatcherName', () => {
  it('fits a label value, keeping long names apart', () => {
    const long = 'a'.repeat(60);
    expect(dispatcherName(long).length).toBeLessThanOrEqual(63);
    expect(dispatcherName(long)).not.toBe(dispatcherName(`${'a'.repeat(59)}b`));
  });
});

// The exec node in e2e tests: placement on it, the images hack/build-images.sh made, the stack's
// servers as pods see them, and the controller deployed from its own image.
import * as k8s from '@kubernetes/client-node';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { core, eventually, kubeConfig } from './kube.ts';
import { objects } from './sluice.ts';
import { repoRoot } from './stack.ts';
import { readStackEnv } from '../../../hack/lib/stack-env.ts';

const env = readStackEnv();

/** The exec node's address: pods reach the stack's servers there, on the ports the host uses. */
export const nodeIp = (() => {
  const ip = env.SLUICE_NODE_IP;
  if (!ip) throw new Error('the local stack has no exec node (SLUICE_NODE_IP missing in .local/env): it needs root; see hack/lib/exec-node.sh');
  return ip;
})();

/** A URL of a server on 127.0.0.1 as a pod on the exec node reaches it. */
export function fromPod(url: string): string {
  return url.replace(/\/\/(127\.0\.0\.1|localhost)([:/])/, `//${nodeIp}$2`);
}

/** Pod spec fields that put a pod on the exec node (and only there). */
export const onExecNode = {
  nodeSelector: { pool: 'exec' },
  tolerations: [{ key: 'sluice.dev/exec-node', operator: 'Exists', effect: 'NoSchedule' }],
};

/** An image built by hack/build-images.sh, e.g. image('test-probe'). */
export function image(name: string): string {
  const file = resolve(repoRoot, '.local/images.env');
  const key = `SLUICE_IMAGE_${name.toUpperCase().replace(/-/g, '_')}`;
  const line = existsSync(file) ? readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${key}=`)) : undefined;
  if (!line) throw new Error(`no image ${name} in ${file}: run hack/build-images.sh`);
  return line.slice(key.length + 1);
}

export async function podLogs(namespace: string, pod: string): Promise<string> {
  return core.readNamespacedPodLog({ namespace, name: pod, container: 'job' });
}

const rbac = kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);

export type DeployedController = {
  pods: () => Promise<k8s.V1Pod[]>;
  /** GET a path of the controller's metrics port on one of its pods, from this host. */
  fetchFromPod: (pod: k8s.V1Pod, path: string) => Promise<Response>;
  remove: () => Promise<void>;
};

/**
 * Runs `sluice controller` from its image as a Deployment on the exec node, with its own
 * ServiceAccount (token mounted the normal way) bound to a broad role for this namespace.
 */
export async function deployController(namespace: string, options: { replicas?: number; env?: Record<string, string> } = {}): Promise<DeployedController> {
  const name = 'sluice-controller';
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `${name}-${namespace}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const containerEnv = {
    AWS_REGION: env.AWS_REGION!,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL: fromPod(env.AWS_ENDPOINT_URL!),
    AWS_ENDPOINT_URL_SQS: fromPod(env.AWS_ENDPOINT_URL_SQS!),
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': namespace };
  await objects.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          ...onExecNode,
          serviceAccountName: name,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'controller',
            image: image('controller'),
            args: ['controller', '--namespace', namespace, '--lease-namespace', namespace, '--lease-duration', '6'],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ...Object.entries(containerEnv).map(([n, value]) => ({ name: n, value })),
            ],
            ports: [{ name: 'metrics', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 2 },
            livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          }],
        },
      },
    },
  });
  const pods = async () => (await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/name=${name}` })).items;
  await eventually(`the controller Deployment in ${namespace} to be ready`, async () => {
    const deployment = await apps.readNamespacedDeployment({ namespace, name });
    return (deployment.status?.readyReplicas ?? 0) >= (options.replicas ?? 1) ? true : undefined;
  }, 90_000);
  return {
    pods,
    fetchFromPod: (pod, path) => fetch(`http://${pod.status!.podIP!}:8080${path}`),
    remove: async () => {
      // Its logs outlive it, beside the child-process controllers' logs.
      mkdirSync(resolve(repoRoot, '.local/logs/e2e'), { recursive: true });
      for (const pod of await pods()) {
        const logs = await core.readNamespacedPodLog({ namespace, name: pod.metadata!.name! }).catch((error: unknown) => String(error));
        writeFileSync(resolve(repoRoot, `.local/logs/e2e/controller-${namespace}-${pod.metadata!.name}.log`), logs);
      }
      await apps.deleteNamespacedDeployment({ namespace, name }).catch(() => undefined);
      await rbac.deleteClusterRoleBinding({ name: `${name}-${namespace}` }).catch(() => undefined);
    },
  };
}

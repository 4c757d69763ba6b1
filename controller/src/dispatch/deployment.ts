// The objects a QueueBinding with `dispatcher.mode: deployment` gets: a Deployment of `sluice
// dispatch` pods (the controller's own image), the ServiceAccount and Role they run as (exactly what
// a dispatcher does, in the binding's namespace), and where KEDA is installed a ScaledObject with an
// aws-sqs-queue trigger on the binding's queue plus the TriggerAuthentication it reads the queue
// with. All are owned by the QueueBinding, so deleting it deletes them. Pure: the reconciler applies
// what this returns with server-side apply.
import type * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { API_VERSION, GROUP, type QueueBinding } from '../api/schemas.ts';
import { stringValues } from '../job/build-job.ts';
import { LABEL_BINDING, LABEL_MANAGED_BY, MANAGED_BY } from '../job/labels.ts';
import { regionFromQueueUrl } from '../sqs/client.ts';

/** Dispatcher pods carry the app's name and this component (the chart's PodMonitor selects them so). */
export const DISPATCHER_COMPONENT = 'dispatcher';
const METRICS_PORT = 8080;

export type DispatcherObjectsOptions = {
  /** The controller's own image: dispatchers run the same binary. */
  image: string;
  /** Whether the ScaledObject and TriggerAuthentication CRDs are served. */
  keda: boolean;
  /** KEDA's scaler needs a region; where the queue URL names none (local emulators), this one. */
  defaultRegion?: string;
  /** The controller's progress API, passed on to the Jobs the dispatchers create. */
  progressUrl?: string;
};

export type DispatcherObjects = {
  serviceAccount?: k8s.V1ServiceAccount;
  role: k8s.V1Role;
  roleBinding: k8s.V1RoleBinding;
  deployment: k8s.V1Deployment;
  scaledObject?: k8s.KubernetesObject & { spec: Record<string, unknown> };
  triggerAuthentication?: k8s.KubernetesObject & { spec: Record<string, unknown> };
};

/** `sluice-dispatch-<binding>`, shortened with a hash where a label value (63) would not fit. */
export function dispatcherName(binding: string): string {
  const name = `sluice-dispatch-${binding}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(binding).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

export function dispatcherLabels(binding: QueueBinding): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'sluice',
    'app.kubernetes.io/component': DISPATCHER_COMPONENT,
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_BINDING]: binding.metadata.name,
  };
}

export function dispatcherObjects(binding: QueueBinding, options: DispatcherObjectsOptions): DispatcherObjects {
  const { namespace, name: bindingName } = binding.metadata;
  const spec = binding.spec.dispatcher;
  const name = dispatcherName(bindingName);
  const labels = dispatcherLabels(binding);
  const metadata = (kindName = name) => ({
    name: kindName,
    namespace,
    labels,
    ownerReferences: [{
      apiVersion: API_VERSION, kind: 'QueueBinding', name: bindingName, uid: binding.metadata.uid!, controller: true, blockOwnerDeletion: true,
    }],
  });
  const credentialsSecret = binding.spec.credentials?.secretRef.name;
  const serviceAccountName = spec.serviceAccountName ?? name;

  const role: k8s.V1Role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: metadata(),
    rules: [
      // Its own binding only (list and watch with a name field selector), and the JobTypes it routes to.
      { apiGroups: [GROUP], resources: ['queuebindings'], resourceNames: [bindingName], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [GROUP], resources: ['jobtypes'], verbs: ['get', 'list', 'watch'] },
      // Creating Jobs; reading them to count unfinished ones and to tell a redelivery from a conflict.
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'list', 'watch'] },
      // Large or sensitive payloads travel in a Secret owned by the Job.
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      ...(credentialsSecret ? [{ apiGroups: [''], resources: ['secrets'], resourceNames: [credentialsSecret], verbs: ['get', 'list', 'watch'] }] : []),
      // Shared capacity across replicas (maxConcurrency, maxInFlight).
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update'] },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    ],
  };
  const roleBinding: k8s.V1RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: metadata(),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccountName, namespace }],
  };
  const serviceAccount: k8s.V1ServiceAccount | undefined = spec.serviceAccountName ? undefined : {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { ...metadata(), ...(spec.serviceAccountAnnotations && { annotations: spec.serviceAccountAnnotations }) },
  };

  const container: k8s.V1Container = {
    name: 'dispatcher',
    image: options.image,
    args: [
      'dispatch', '--binding', `${namespace}/${bindingName}`, '--metrics-bind-address', `:${METRICS_PORT}`,
      ...(options.progressUrl ? ['--progress-url', options.progressUrl] : []),
    ],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ...((spec.env ?? []) as unknown as k8s.V1EnvVar[]),
    ],
    ports: [{ name: 'metrics', containerPort: METRICS_PORT }],
    readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 10 },
    resources: {
      requests: { cpu: '50m', memory: '96Mi', ...stringValues(spec.resources?.requests) },
      limits: { memory: '256Mi', ...stringValues(spec.resources?.limits) },
    },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
  const deployment: k8s.V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(),
    spec: {
      // With KEDA the HPA owns the replica count: leaving the field out keeps apply from fighting it.
      ...(!options.keda && { replicas: spec.replicas }),
      selector: { matchLabels: { 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/component': DISPATCHER_COMPONENT, [LABEL_BINDING]: bindingName } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName,
          // A stopped dispatcher finishes its in-flight messages (their Jobs created, then deleted).
          terminationGracePeriodSeconds: 60,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [container],
          volumes: [{ name: 'tmp', emptyDir: {} }],
          ...(spec.nodeSelector && { nodeSelector: spec.nodeSelector }),
          ...(spec.tolerations && { tolerations: spec.tolerations as unknown as k8s.V1Toleration[] }),
        },
      },
    },
  };
  if (!options.keda) return { serviceAccount, role, roleBinding, deployment };

  const scaling = spec.autoscaling;
  const region = binding.spec.region ?? regionFromQueueUrl(binding.spec.queueUrl) ?? options.defaultRegion;
  const triggerAuthentication = credentialsSecret || scaling.podIdentityProvider !== 'none'
    ? {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'TriggerAuthentication',
        metadata: metadata(),
        spec: credentialsSecret
          ? {
              secretTargetRef: [
                { parameter: 'awsAccessKeyID', name: credentialsSecret, key: binding.spec.credentials!.secretRef.accessKeyIdKey },
                { parameter: 'awsSecretAccessKey', name: credentialsSecret, key: binding.spec.credentials!.secretRef.secretAccessKeyKey },
                ...(binding.spec.credentials!.secretRef.sessionTokenKey
                  ? [{ parameter: 'awsSessionToken', name: credentialsSecret, key: binding.spec.credentials!.secretRef.sessionTokenKey }]
                  : []),
              ],
            }
          : { podIdentity: { provider: scaling.podIdentityProvider } },
      }
    : undefined;
  const scaledObject = {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: metadata(),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicaCount: scaling.minReplicas,
      maxReplicaCount: scaling.maxReplicas,
      pollingInterval: scaling.pollingIntervalSeconds,
      cooldownPeriod: scaling.cooldownSeconds,
      advanced: {
        horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: scaling.scaleDownStabilizationSeconds } } },
      },
      triggers: [{
        type: 'aws-sqs-queue',
        ...(triggerAuthentication && { authenticationRef: { name } }),
        metadata: {
          queueURL: binding.spec.queueUrl,
          queueLength: String(scaling.messagesPerReplica),
          activationQueueLength: String(scaling.activationMessages),
          // Messages being turned into Jobs keep their replica: no scale-down mid-batch.
          scaleOnInFlight: 'true',
          ...(region && { awsRegion: region }),
          ...(binding.spec.endpoint && { awsEndpoint: binding.spec.endpoint }),
        },
      }],
    },
  };
  return { serviceAccount, role, roleBinding, deployment, scaledObject, ...(triggerAuthentication && { triggerAuthentication }) };
}

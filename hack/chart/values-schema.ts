// The chart's values.schema.json, written from here by `npm run generate:chart`: strict, so a
// misspelt value fails `helm install` instead of being ignored (Helm checks values against it).
// Pass-through Kubernetes types (securityContext, affinity, …) list their field names; the
// rendered objects are validated in full by hack/chart-test.sh against the Kubernetes schemas.

import { resolve } from 'node:path';
import { ruleGroups } from '../observability/alerts.ts';
import { repoRoot } from '../observability/paths.ts';

export const valuesSchemaPath = resolve(repoRoot, 'charts/sluice/values.schema.json');

type Schema = { [key: string]: unknown };

const alertNames = ruleGroups.flatMap((group) => group.rules.map((rule) => rule.alert));

const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({ type: 'object', additionalProperties: false, properties, ...extra });
const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const bool = (description: string): Schema => ({ type: 'boolean', description });
const int = (description: string, minimum = 0): Schema => ({ type: 'integer', minimum, description });
const stringMap = (description: string): Schema => ({ type: 'object', additionalProperties: { type: 'string' }, description });
const list = (description: string, items: Schema = { type: 'object' }): Schema => ({ type: 'array', items, description });
const duration = (description: string): Schema => str(description, { pattern: '^(0|([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w|y))+)$' });
const dnsLabel = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 };
const quantity = { anyOf: [{ type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei|e[0-9]+)?$' }, { type: 'number', minimum: 0 }] };
const resourceList = { type: 'object', additionalProperties: false, patternProperties: { '^(cpu|memory|ephemeral-storage|hugepages-[0-9A-Za-z]+|[a-z0-9.-]+/[a-zA-Z0-9_.-]+)$': quantity } };
const intOrPercent = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^[0-9]+%$' }] };
const probe = (what: string): Schema => obj({
  periodSeconds: int(`Seconds between ${what} probes.`, 1),
  timeoutSeconds: int('Probe timeout in seconds.', 1),
  failureThreshold: int('Failed probes in a row that count as failure.', 1),
});
const names = (description: string, keys: string[]): Schema => ({ type: 'object', additionalProperties: false, description, properties: Object.fromEntries(keys.map((k) => [k, {}])) });
const envVar = {
  type: 'object', required: ['name'], additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1 }, value: { type: 'string' }, valueFrom: { type: 'object' } },
};
const monitor = (what: string): Schema => obj({
  enabled: bool(`Creates the ${what}.`),
  labels: stringMap('Extra labels for the Prometheus selector.'),
  interval: duration('Scrape interval.'),
  scrapeTimeout: { anyOf: [{ const: '' }, duration('Scrape timeout.')] },
  relabelings: list('Relabelings before scraping (Prometheus Operator RelabelConfig).'),
  metricRelabelings: list('Relabelings of scraped samples.'),
});
export const valuesSchema: Schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Values of the Sluice chart',
  ...obj({
    nameOverride: str('Overrides the chart name in resource names.'),
    fullnameOverride: str('Overrides the full name that prefixes every resource.', { maxLength: 52 }),
    crds: obj({ install: bool('Installs and upgrades the CRDs with the release.'), keep: bool('Keeps the CRDs on uninstall.') }),
    image: obj({
      repository: str('Controller image repository.', { minLength: 1 }),
      tag: str('Image tag (default: appVersion).'),
      digest: str('Image digest.', { pattern: '^(|sha256:[a-f0-9]{64})$' }),
      pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    }),
    imagePullSecrets: list('Pull secrets.', obj({ name: { type: 'string', minLength: 1 } }, { required: ['name'] })),
    replicaCount: int('Controller replicas (0 stops Sluice).', 0),
    watchNamespaces: { type: 'array', items: dnsLabel, uniqueItems: true, description: 'Namespaces to watch; empty: all.' },
    leaderElection: obj({
      leaseName: { ...dnsLabel, description: 'Lease name.' },
      leaseDuration: int('Lease duration in seconds.', 2),
    }),
    logLevel: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] },
    aws: obj({ region: str('AWS_REGION.', { pattern: '^([a-z]{2}(-[a-z]+)+-[0-9]+)?$' }) }),
    progress: obj({ url: str('Progress URL for job pods.', { pattern: '^(|https?://.+)$' }) }),
    extraArgs: list('Extra controller arguments.', { type: 'string' }),
    extraEnv: list('Extra environment variables (EnvVar).', envVar),
    envFrom: list('Extra envFrom sources (EnvFromSource).'),
    extraVolumes: list('Extra volumes (Volume).'),
    extraVolumeMounts: list('Extra volume mounts (VolumeMount).'),
    serviceAccount: obj({ create: bool('Creates the ServiceAccount.'), name: str('ServiceAccount name.'), annotations: stringMap('ServiceAccount annotations.') }),
    dispatcher: obj({ enabled: bool('Lets the controller create bindings\' dispatcher Deployments and what they run with.') }),
    rbac: obj({
      create: bool('Creates RBAC objects.'),
      secretNames: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true, description: 'Secrets the controller may read; empty: any.' },
    }),
    podAnnotations: stringMap('Pod annotations.'),
    podLabels: stringMap('Pod labels.'),
    podSecurityContext: names('PodSecurityContext.', ['appArmorProfile', 'fsGroup', 'fsGroupChangePolicy', 'runAsGroup', 'runAsNonRoot', 'runAsUser', 'seLinuxChangePolicy', 'seLinuxOptions', 'seccompProfile', 'supplementalGroups', 'supplementalGroupsPolicy', 'sysctls', 'windowsOptions']),
    securityContext: names('SecurityContext.', ['allowPrivilegeEscalation', 'appArmorProfile', 'capabilities', 'privileged', 'procMount', 'readOnlyRootFilesystem', 'runAsGroup', 'runAsNonRoot', 'runAsUser', 'seLinuxOptions', 'seccompProfile', 'windowsOptions']),
    resources: obj({ requests: resourceList, limits: resourceList, claims: list('Resource claims.') }),
    nodeFlags: list("Node's flags for the controller.", { type: 'string', pattern: '^--[a-z0-9-]+(=.*)?$' }),
    tmpSizeLimit: quantity,
    terminationGracePeriodSeconds: int('Seconds to finish in-flight work on stop.'),
    livenessProbe: probe('/healthz'),
    readinessProbe: probe('/readyz'),
    topologySpreadConstraints: list('TopologySpreadConstraints; labelSelector defaults to the controller pods.', {
      type: 'object', required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'],
      additionalProperties: false,
      properties: {
        maxSkew: { type: 'integer', minimum: 1 }, topologyKey: { type: 'string' }, whenUnsatisfiable: { enum: ['DoNotSchedule', 'ScheduleAnyway'] },
        labelSelector: { type: 'object' }, minDomains: { type: 'integer', minimum: 1 }, matchLabelKeys: { type: 'array', items: { type: 'string' } },
        nodeAffinityPolicy: { enum: ['Honor', 'Ignore'] }, nodeTaintsPolicy: { enum: ['Honor', 'Ignore'] },
      },
    }),
    nodeSelector: stringMap('Node selector.'),
    tolerations: list('Tolerations.', names('Toleration.', ['key', 'operator', 'value', 'effect', 'tolerationSeconds'])),
    affinity: names('Affinity.', ['nodeAffinity', 'podAffinity', 'podAntiAffinity']),
    priorityClassName: str('Priority class.'),
    podDisruptionBudget: obj({ enabled: bool('Creates a PodDisruptionBudget.'), minAvailable: intOrPercent, maxUnavailable: { anyOf: [{ type: 'null' }, intOrPercent] } }),
    service: obj({ type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }, annotations: stringMap('Service annotations.') }),
    metrics: obj({ serviceMonitor: monitor('ServiceMonitor'), podMonitor: monitor('PodMonitor') }),
    prometheusRule: obj({
      enabled: bool('Creates the PrometheusRule.'),
      labels: stringMap('Extra labels for the ruleSelector.'),
      runbookBaseUrl: str('Base of the runbook URLs.', { minLength: 1 }),
      disabledAlerts: { type: 'array', uniqueItems: true, items: { enum: alertNames } },
      additionalAlertLabels: stringMap('Labels on every alert.'),
    }),
    grafana: obj({
      dashboard: obj({
        enabled: bool('Creates the dashboard ConfigMap.'),
        labels: stringMap('Labels the Grafana sidecar selects on.'),
        annotations: stringMap('ConfigMap annotations.'),
        namespace: { anyOf: [{ const: '' }, dnsLabel] },
      }),
    }),
  }),
};
export const renderValuesSchema = () => `${JSON.stringify(valuesSchema, null, 2)}\n`;

#!/usr/bin/env node
// The one Sluice binary: `sluice controller`, and the SRE commands (route, dlq, send), which also
// work as a kubectl plugin: `kubectl sluice route …` when installed as kubectl-sluice.
import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { runController } from '../controller.ts';
import { runDispatcher } from '../dispatcher-process.ts';
import { createLogger } from '../log.ts';
import { namespaceList } from './namespace-list.ts';
import { peekDeadLetters, redriveDeadLetters, routeMessage, sendTestMessage } from './sre.ts';
import { DEFAULT_MAX_CONCURRENT_CREATES } from '../kube/call-limit.ts';

const program = new Command('sluice').description('Turns SQS messages into Kubernetes Jobs.');
// `sluice controller` and `sluice dispatch` both create Jobs for their bindings.
const maxConcurrentCreatesOption = () => new Option('--max-concurrent-creates <n>', 'most Job (and payload Secret) creates this process has in flight, over all its bindings')
  .argParser(positiveInt).default(DEFAULT_MAX_CONCURRENT_CREATES);

program
  .command('controller')
  .description('Run the leader-elected controller: dispatchers for every QueueBinding, Job outcomes, status.')
  .addOption(new Option('--namespace <ns,...>', 'watch only these namespaces, comma-separated; empty means all').argParser(namespaceList).default([], 'all namespaces'))
  .addOption(new Option('--lease-namespace <ns>', 'namespace of the leader-election Lease').env('POD_NAMESPACE').default('sluice-system'))
  .addOption(new Option('--lease-name <name>', 'name of the leader-election Lease').default('sluice-controller'))
  .addOption(new Option('--lease-duration <seconds>', 'how long a lease lasts without renewal').argParser(positiveInt).default(15))
  .addOption(new Option('--identity <id>', 'this replica\'s identity in the Lease').env('POD_NAME').default(`${hostname()}-${process.pid}`))
  .addOption(new Option('--metrics-bind-address <host:port>', 'serves /metrics, /healthz and /readyz').default(':8080'))
  .addOption(new Option('--progress-bind-address <host:port>', 'serves the progress API job pods report to (POST /v1/progress); empty: none').default(':8082'))
  .addOption(new Option('--progress-url <url>', 'the progress API as job pods reach it, given to every Job (default: the sluice-controller Service of $POD_NAMESPACE on port 8082); empty: no progress reporting'))
  .addOption(new Option('--dispatcher-image <image>', 'this controller\'s image, run by bindings\' own dispatcher Deployments (dispatcher.mode: deployment)').env('SLUICE_IMAGE'))
  .addOption(maxConcurrentCreatesOption())
  .addOption(new Option('--log-level <level>', 'pino log level').env('LOG_LEVEL').default('info'))
  .action(async (options: {
    namespace: string[]; leaseNamespace: string; leaseName: string; leaseDuration: number; identity: string;
    metricsBindAddress: string; progressBindAddress: string; progressUrl?: string; dispatcherImage?: string; maxConcurrentCreates: number; logLevel: string;
  }) => {
    const log = createLogger({ level: options.logLevel });
    await runController({
      namespaces: options.namespace,
      leaseNamespace: options.leaseNamespace,
      leaseName: options.leaseName,
      leaseDurationSeconds: options.leaseDuration,
      identity: options.identity,
      metricsBindAddress: options.metricsBindAddress,
      ...(options.progressBindAddress && { progressBindAddress: options.progressBindAddress }),
      ...(progressUrl(options.progressUrl) && { progressUrl: progressUrl(options.progressUrl) }),
      ...(options.dispatcherImage && { dispatcherImage: options.dispatcherImage }),
      maxConcurrentCreates: options.maxConcurrentCreates,
      log,
    });
  });

program
  .command('dispatch')
  .description('Receive for one QueueBinding and create its Jobs (what a binding\'s dispatcher Deployment runs; any number of replicas).')
  .requiredOption('--binding <namespace/name>', 'the QueueBinding')
  .addOption(new Option('--identity <id>', 'this replica\'s identity (on its Jobs and in shared-capacity ledgers)').env('POD_NAME').default(`${hostname()}-${process.pid}`))
  .addOption(new Option('--metrics-bind-address <host:port>', 'serves /metrics, /healthz and /readyz').default(':8080'))
  .addOption(new Option('--progress-url <url>', 'the controller\'s progress API as job pods reach it, given to every Job; empty: none').default(''))
  .addOption(maxConcurrentCreatesOption())
  .addOption(new Option('--log-level <level>', 'pino log level').env('LOG_LEVEL').default('info'))
  .action(async (options: { binding: string; identity: string; metricsBindAddress: string; progressUrl: string; maxConcurrentCreates: number; logLevel: string }) => {
    const at = options.binding.indexOf('/');
    if (at < 1 || at === options.binding.length - 1) throw new Error(`--binding wants namespace/name, got ${options.binding}`);
    await runDispatcher({
      namespace: options.binding.slice(0, at),
      binding: options.binding.slice(at + 1),
      identity: options.identity,
      metricsBindAddress: options.metricsBindAddress,
      ...(options.progressUrl && { progressUrl: options.progressUrl }),
      maxConcurrentCreates: options.maxConcurrentCreates,
      log: createLogger({ level: options.logLevel }),
    });
  });

const namespaceOption = () => new Option('-n, --namespace <ns>', 'namespace of the QueueBinding').default('default');
const print = (line: string) => console.log(line);

program
  .command('route')
  .description('Show which route and JobType a message takes and the Job it would become (nothing is created).')
  .argument('<binding>', 'QueueBinding name')
  .addOption(namespaceOption())
  .requiredOption('--body <text>', 'the message body, as a producer would send it')
  .option('--attribute <name=value...>', 'message attributes', [])
  .action(async (binding: string, options: { namespace: string; body: string; attribute: string[] }) => {
    const attributes = Object.fromEntries(options.attribute.map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`--attribute wants name=value, got ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }));
    if (!(await routeMessage(options.namespace, binding, options.body, attributes, print))) process.exitCode = 1;
  });

const dlq = program.command('dlq').description('The dead-letter queue of a QueueBinding.');
dlq
  .command('peek')
  .description('List dead-lettered messages with their reasons; they stay in the queue.')
  .argument('<binding>', 'QueueBinding name')
  .addOption(namespaceOption())
  .addOption(new Option('--max <n>', 'at most this many').argParser(positiveInt).default(20))
  .action(async (binding: string, options: { namespace: string; max: number }) => {
    await peekDeadLetters(options.namespace, binding, options.max, print);
  });
dlq
  .command('redrive')
  .description('Send dead-lettered messages back to the binding\'s queue, as their producers sent them.')
  .argument('<binding>', 'QueueBinding name')
  .addOption(namespaceOption())
  .addOption(new Option('--max <n>', 'at most this many').argParser(positiveInt).default(100))
  .action(async (binding: string, options: { namespace: string; max: number }) => {
    await redriveDeadLetters(options.namespace, binding, options.max, print);
  });

program
  .command('send')
  .description('Send a test message to a QueueBinding\'s queue.')
  .argument('<binding>', 'QueueBinding name')
  .addOption(namespaceOption())
  .requiredOption('--body <text>', 'the message body')
  .action(async (binding: string, options: { namespace: string; body: string }) => {
    await sendTestMessage(options.namespace, binding, options.body, print);
  });

/** An explicit URL (empty: none), else the in-cluster Service when the pod knows its namespace. */
function progressUrl(explicit: string | undefined): string | undefined {
  if (explicit !== undefined) return explicit || undefined;
  const namespace = process.env.POD_NAMESPACE;
  return namespace ? `http://sluice-controller.${namespace}.svc:8082/v1/progress` : undefined;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got ${value}`);
  return n;
}

try {
  await program.parseAsync();
} catch (error) {
  console.error(`sluice: ${(error as Error).message}`);
  process.exitCode = 1;
}

#!/usr/bin/env node
// The one Sluice binary: `sluice controller` (and, as a kubectl plugin, the SRE commands).
import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { runController } from '../controller.ts';
import { createLogger } from '../log.ts';

const program = new Command('sluice').description('Turns SQS messages into Kubernetes Jobs.');

program
  .command('controller')
  .description('Run the leader-elected controller: dispatchers for every QueueBinding, Job outcomes, status.')
  .addOption(new Option('--namespace <ns>', 'watch only this namespace (default: all namespaces)'))
  .addOption(new Option('--lease-namespace <ns>', 'namespace of the leader-election Lease').env('POD_NAMESPACE').default('sluice-system'))
  .addOption(new Option('--lease-name <name>', 'name of the leader-election Lease').default('sluice-controller'))
  .addOption(new Option('--lease-duration <seconds>', 'how long a lease lasts without renewal').argParser(positiveInt).default(15))
  .addOption(new Option('--identity <id>', 'this replica\'s identity in the Lease').env('POD_NAME').default(`${hostname()}-${process.pid}`))
  .addOption(new Option('--metrics-bind-address <host:port>', 'serves /metrics, /healthz and /readyz').default(':8080'))
  .addOption(new Option('--log-level <level>', 'pino log level').env('LOG_LEVEL').default('info'))
  .action(async (options: {
    namespace?: string; leaseNamespace: string; leaseName: string; leaseDuration: number; identity: string;
    metricsBindAddress: string; logLevel: string;
  }) => {
    const log = createLogger({ level: options.logLevel });
    await runController({
      namespace: options.namespace,
      leaseNamespace: options.leaseNamespace,
      leaseName: options.leaseName,
      leaseDurationSeconds: options.leaseDuration,
      identity: options.identity,
      metricsBindAddress: options.metricsBindAddress,
      log,
    });
  });

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got ${value}`);
  return n;
}

await program.parseAsync();

// SQS and S3 clients for a QueueBinding: its region and endpoint, and either static credentials from
// a Secret or the SDK's default chain (pod identity, IRSA, instance role).
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import type { QueueBindingSpec } from '../api/schemas.ts';
import { lazy } from '../lazy.ts';
import { sqsRequests } from '../metrics.ts';

/** `https://sqs.eu-west-1.amazonaws.com/123/q` → `eu-west-1`; local endpoints carry no region. */
export function regionFromQueueUrl(queueUrl: string): string | undefined {
  const host = new URL(queueUrl).hostname;
  return /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host)?.[1] ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com$/.exec(host)?.[1];
}

export type AwsCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export type AwsClientOptions = { region?: string; endpoint?: string; credentials?: AwsCredentials };

export function awsClientOptions(
  spec: Pick<QueueBindingSpec, 'queueUrl' | 'region' | 'endpoint'>,
  credentials?: AwsCredentials,
): AwsClientOptions {
  const options: AwsClientOptions = {};
  const region = spec.region ?? regionFromQueueUrl(spec.queueUrl);
  if (region) options.region = region;
  if (spec.endpoint) options.endpoint = spec.endpoint;
  if (credentials) options.credentials = credentials;
  return options;
}

export function makeSqsClient(options: AwsClientOptions): SQSClient {
  return counted(new SQSClient({ ...options, maxAttempts: 3 }));
}

/** Counts each call the client makes in sluice_sqs_requests_total, by operation. */
function counted(client: SQSClient): SQSClient {
  client.middlewareStack.add((next, context) => (args) => {
    sqsRequests.inc({ operation: context.commandName?.replace(/Command$/, '') ?? 'unknown' });
    return next(args);
  }, { step: 'initialize', name: 'sluiceRequestCounter' });
  return client;
}

/**
 * The S3 client's module, loaded when the first extended-client payload is read: only bindings
 * whose senders use the SQS Extended Client read S3, and the client is ≈ 300 KB of the bundle the
 * controller would otherwise keep in memory.
 */
export const loadS3 = lazy(() => import('./s3-sdk.ts'));

export async function makeS3Client(options: AwsClientOptions): Promise<S3Client> {
  const { S3Client } = await loadS3();
  return new S3Client(s3Settings(options));
}

// Path-style works with every S3-compatible endpoint; AWS still accepts it.
const s3Settings = (options: AwsClientOptions) => ({ ...options, forcePathStyle: options.endpoint !== undefined });

/**
 * The clients of one controller process, one per distinct region, endpoint and credentials. A
 * client is a few hundred KiB of config, middleware and sockets: 100 bindings on one account need
 * one, not 100. Clients are held weakly, so one no dispatcher uses any more (a rotated Secret's,
 * a deleted binding's) is collected.
 */
export class SharedAwsClients {
  readonly #sqs = new WeakValueMap<SQSClient>();
  readonly #s3 = new WeakValueMap<S3Client>();

  sqs(options: AwsClientOptions): SQSClient {
    // A shared client's long polls (one socket each, up to 20 s) must not queue behind each other
    // in the SDK's default pool of 50 sockets.
    return this.#sqs.get(clientKey(options), () => counted(new SQSClient({ ...options, maxAttempts: 3, requestHandler: UNBOUNDED_SOCKETS })));
  }

  async s3(options: AwsClientOptions): Promise<S3Client> {
    const { S3Client } = await loadS3();
    return this.#s3.get(clientKey(options), () => new S3Client(s3Settings(options)));
  }
}

const UNBOUNDED_SOCKETS = { httpAgent: { keepAlive: true, maxSockets: Infinity }, httpsAgent: { keepAlive: true, maxSockets: Infinity } };

/** The key of a client's settings; the secret key is hashed so the map's keys do not hold it. */
function clientKey({ region, endpoint, credentials }: AwsClientOptions): string {
  const secret = credentials && createHash('sha256').update(`${credentials.secretAccessKey}\0${credentials.sessionToken ?? ''}`).digest('base64url');
  return JSON.stringify([region ?? '', endpoint ?? '', credentials?.accessKeyId ?? '', secret ?? '']);
}

/** Values made on first use and kept while anything else holds them. */
class WeakValueMap<V extends object> {
  readonly #refs = new Map<string, WeakRef<V>>();
  readonly #collected = new FinalizationRegistry<string>((key) => {
    if (this.#refs.get(key)?.deref() === undefined) this.#refs.delete(key);
  });

  get(key: string, make: () => V): V {
    const held = this.#refs.get(key)?.deref();
    if (held) return held;
    const value = make();
    this.#refs.set(key, new WeakRef(value));
    this.#collected.register(value, key);
    return value;
  }
}

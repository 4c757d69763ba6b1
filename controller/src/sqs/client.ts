// SQS and S3 clients for a QueueBinding: its region and endpoint, and either static credentials from
// a Secret or the SDK's default chain (pod identity, IRSA, instance role).
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { QueueBindingSpec } from '../api/schemas.ts';

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
  return new SQSClient({ ...options, maxAttempts: 3 });
}

export function makeS3Client(options: AwsClientOptions): S3Client {
  // Path-style works with every S3-compatible endpoint; AWS still accepts it.
  return new S3Client({ ...options, forcePathStyle: options.endpoint !== undefined });
}

// S3 for the job images: s3:// URIs, a client that works against AWS and local emulators, and the
// few transfers jobs do. A missing object or a malformed URI is bad input (exit 2): retrying will
// not make it appear.
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { badInput } from '@sluice/job-sdk';

export type S3Location = { bucket: string; key: string };

type Env = Record<string, string | undefined>;

/** `s3://bucket/key` → bucket and key; anything else is bad input. */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw badInput(`${JSON.stringify(uri)} is not an s3://bucket/key URI`);
  return { bucket: match[1]!, key: match[2]! };
}

export function isS3Uri(value: unknown): value is string {
  return typeof value === 'string' && /^s3:\/\/[^/]+\/.+/.test(value);
}

/**
 * The SDK reads AWS_REGION, credentials and the endpoint (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)
 * from the env itself; emulators such as moto need path-style URLs (no bucket subdomains).
 */
export function s3Client(env: Env = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  return new S3Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: endpoint !== undefined || env.AWS_S3_FORCE_PATH_STYLE === 'true',
  });
}

/** NoSuchKey / NoSuchBucket / 404: the object is not there. */
export function isMissingObject(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NoSuchBucket' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

async function getObject(client: S3Client, uri: string) {
  const { bucket, key } = parseS3Uri(uri);
  try {
    return await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    if (isMissingObject(error)) throw badInput(`${uri} does not exist`, error);
    throw error;
  }
}

/** Streams an object to a local file; returns its size in bytes. */
export async function downloadFile(client: S3Client, uri: string, path: string): Promise<number> {
  const object = await getObject(client, uri);
  await pipeline(object.Body as Readable, createWriteStream(path));
  return (await stat(path)).size;
}

export async function getText(client: S3Client, uri: string): Promise<string> {
  const object = await getObject(client, uri);
  return (await object.Body?.transformToString('utf8')) ?? '';
}

/** Streams a local file to S3 (one PutObject: up to 5 GB); returns its size in bytes. */
export async function uploadFile(client: S3Client, path: string, uri: string, contentType?: string): Promise<number> {
  const { bucket, key } = parseS3Uri(uri);
  const size = (await stat(path)).size;
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(path), ContentLength: size, ContentType: contentType }),
  );
  return size;
}

export async function putText(client: S3Client, uri: string, text: string, contentType = 'application/json'): Promise<void> {
  const { bucket, key } = parseS3Uri(uri);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: contentType }));
}

/** `prefix` + `name`, with exactly one slash between them. */
export function joinS3Uri(prefix: string, name: string): string {
  return `${prefix.replace(/\/+$/, '')}/${name.replace(/^\/+/, '')}`;
}

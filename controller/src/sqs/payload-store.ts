// Reads SQS Extended Client payloads from S3 for the decoder, and deletes them once dispatched.
import type { S3Client } from '@aws-sdk/client-s3';
import type { PayloadStore } from '../decode/index.ts';
import { bodyTooLarge } from '../decode/errors.ts';
import { lazy } from '../lazy.ts';
import { loadS3 } from './client.ts';

/** `s3`: how to make the client when the first payload is read. */
export function s3PayloadStore(s3: () => Promise<S3Client>): PayloadStore {
  const client = lazy(s3);
  return {
    async getObject(bucket, key, options) {
      const { GetObjectCommand } = await loadS3();
      const object = await (await client()).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!object.Body) throw new Error(`s3://${bucket}/${key} has no body`);
      if (options && (object.ContentLength ?? 0) > options.maxBytes) {
        // Refuse before downloading it.
        await object.Body.transformToWebStream().cancel().catch(() => undefined);
        throw bodyTooLarge('extended-client payload', object.ContentLength ?? 0, options.maxBytes, ` (s3://${bucket}/${key})`);
      }
      return object.Body.transformToByteArray();
    },
    async deleteObject(bucket, key) {
      const { DeleteObjectCommand } = await loadS3();
      await (await client()).send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}

// Job names are derived from the binding and the message's idempotency key, so a redelivered
// message maps to the same name and its create collides with AlreadyExists instead of running twice.
import { createHash } from 'node:crypto';

const MAX_NAME = 63; // Job names become the `batch.kubernetes.io/job-name` label value on pods
const HASH_LENGTH = 16;

export function jobName(namespace: string, binding: string, dedupeKey: string): string {
  const hash = createHash('sha256').update(`${namespace}/${binding}/${dedupeKey}`).digest('hex').slice(0, HASH_LENGTH);
  const prefix = binding.slice(0, MAX_NAME - HASH_LENGTH - 1).replace(/-+$/, '');
  return `${prefix}-${hash}`;
}

/** The label value of a FIFO MessageGroupId: always a hash, so every group id (up to 128 characters of any kind) fits. */
export function messageGroupLabel(groupId: string): string {
  return createHash('sha256').update(groupId).digest('hex').slice(0, 40);
}

/** A label-safe value for an arbitrary string: itself when valid, else a hash of it. */
export function labelValue(value: string): string {
  if (/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value) && value.length <= 63) return value;
  return createHash('sha256').update(value).digest('hex').slice(0, 63);
}

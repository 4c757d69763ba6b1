// The three Sluice kinds as the API server sees them: names, schemas and the columns that
// `kubectl get` prints. crd.ts turns each entry into a CustomResourceDefinition; the controller
// uses `plural` to build API paths.
import type { z } from 'zod';
import {
  jobTypeSpecSchema,
  jobTypeStatusSchema,
  queueBindingSpecSchema,
  queueBindingStatusSchema,
  statusSinkSpecSchema,
  statusSinkStatusSchema,
} from './schemas.ts';

/** apiextensions.k8s.io/v1 CustomResourceColumnDefinition. */
export type PrinterColumn = {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 shows in `kubectl get`; 1 only with `-o wide`. */
  priority?: number;
};

export type KindDefinition = {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
};

const conditionColumn = (type: string, description: string): PrinterColumn => ({
  name: type,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
  description,
});

const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const kinds = {
  QueueBinding: {
    kind: 'QueueBinding',
    listKind: 'QueueBindingList',
    plural: 'queuebindings',
    singular: 'queuebinding',
    shortNames: ['qb'],
    categories: ['sluice'],
    description: 'One SQS queue: how Sluice reads its messages and which JobType each one becomes.',
    spec: queueBindingSpecSchema,
    status: queueBindingStatusSchema,
    printerColumns: [
      conditionColumn('Ready', 'The binding is valid and its dispatcher runs'),
      conditionColumn('Polling', 'The dispatcher is receiving from the queue'),
      { name: 'Visible', type: 'integer', jsonPath: '.status.approximateMessages', description: 'Messages waiting in the queue' },
      {
        name: 'InFlight',
        type: 'integer',
        jsonPath: '.status.approximateMessagesNotVisible',
        description: 'Messages received and not yet deleted',
      },
      { name: 'Dispatched', type: 'integer', jsonPath: '.status.dispatched', description: 'Messages turned into Jobs' },
      { name: 'DeadLettered', type: 'integer', jsonPath: '.status.deadLettered', description: 'Messages sent to the dead-letter queue' },
      { name: 'Queue', type: 'string', jsonPath: '.spec.queueUrl', priority: 1 },
      { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend', priority: 1 },
      ageColumn,
    ],
  },
  JobType: {
    kind: 'JobType',
    listKind: 'JobTypeList',
    plural: 'jobtypes',
    singular: 'jobtype',
    shortNames: ['jt'],
    categories: ['sluice'],
    description: 'The Kubernetes Job that one message becomes: image, resources, GPUs, retries and deadlines.',
    spec: jobTypeSpecSchema,
    status: jobTypeStatusSchema,
    printerColumns: [
      conditionColumn('Ready', 'The JobType is valid and usable by routes'),
      { name: 'Image', type: 'string', jsonPath: '.spec.image' },
      { name: 'GPUs', type: 'integer', jsonPath: '.spec.gpu.count', description: 'GPUs per Job' },
      { name: 'MaxConcurrency', type: 'integer', jsonPath: '.spec.maxConcurrency' },
      { name: 'Active', type: 'integer', jsonPath: '.status.active', description: 'Unfinished Jobs' },
      { name: 'Succeeded', type: 'integer', jsonPath: '.status.succeeded' },
      { name: 'Failed', type: 'integer', jsonPath: '.status.failed' },
      { name: 'LastFailure', type: 'string', jsonPath: '.status.lastFailureReason', priority: 1 },
      ageColumn,
    ],
  },
  StatusSink: {
    kind: 'StatusSink',
    listKind: 'StatusSinkList',
    plural: 'statussinks',
    singular: 'statussink',
    shortNames: ['sink'],
    categories: ['sluice'],
    description: "A connection to the application's own store, where Sluice writes each Job's progress.",
    spec: statusSinkSpecSchema,
    status: statusSinkStatusSchema,
    // One column per backend: a JSONPath cannot name whichever of them is set.
    printerColumns: [
      conditionColumn('Reachable', 'Sluice connected to the store'),
      { name: 'MongoDB', type: 'string', jsonPath: '.spec.mongodb.database', description: 'MongoDB database' },
      { name: 'DynamoDB', type: 'string', jsonPath: '.spec.dynamodb.table', description: 'DynamoDB table' },
      { name: 'Postgres', type: 'string', jsonPath: '.spec.postgres.table', description: 'PostgreSQL table', priority: 1 },
      ageColumn,
    ],
  },
} satisfies Record<string, KindDefinition>;

export type KindName = keyof typeof kinds;
export const kindNames = Object.keys(kinds) as KindName[];

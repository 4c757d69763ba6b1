// What a finished Job's follow-up expressions see: the message as routing saw it (decoded once, with
// the binding's options, recorded on the Job), the Job's result and facts about the Job.
import type * as k8s from '@kubernetes/client-node';
import { parseDecodeRecord, recordedBody } from '../decode/record.ts';
import {
  ANNOTATION_DECODE, ANNOTATION_MESSAGE_ATTRIBUTES, ANNOTATION_PAYLOAD, ANNOTATION_PAYLOAD_FORMAT, LABEL_BINDING, LABEL_JOB_TYPE,
} from '../job/labels.ts';
import type { CoreApi } from '../kube/client.ts';
import { celData, plainData } from '../decode/plain-data.ts';
import type { MessageContext } from '../route/cel.ts';
import type { Facts } from '../reconcile/outcome-facts.ts';

/** The message as the producer sent it: on the pod template, or in the Job's Secret. */
export async function payloadOf(core: Pick<CoreApi, 'readNamespacedSecret'>, job: k8s.V1Job): Promise<string> {
  const inline = job.spec?.template.metadata?.annotations?.[ANNOTATION_PAYLOAD];
  if (inline !== undefined) return inline;
  const secret = await core.readNamespacedSecret({ namespace: job.metadata!.namespace!, name: job.metadata!.name! });
  return Buffer.from(secret.data?.payload ?? '', 'base64').toString('utf8');
}

/** The producer's string message attributes, as kept on the Job. */
export function messageAttributesOf(job: k8s.V1Job): Record<string, string> {
  try {
    return JSON.parse(job.metadata?.annotations?.[ANNOTATION_MESSAGE_ATTRIBUTES] ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

export function messageContext(job: k8s.V1Job, payload: string, facts: Facts): MessageContext {
  const annotations = job.metadata?.annotations ?? {};
  const record = parseDecodeRecord(annotations[ANNOTATION_DECODE], annotations[ANNOTATION_PAYLOAD_FORMAT]);
  return {
    body: recordedBody(payload, record),
    attributes: record.attributes,
    messageAttributes: plainData(Object.entries(messageAttributesOf(job))),
    envelope: record.envelope,
    result: celData(facts.result) ?? null,
    job: {
      name: job.metadata?.name,
      namespace: job.metadata?.namespace,
      jobType: job.metadata?.labels?.[LABEL_JOB_TYPE],
      binding: job.metadata?.labels?.[LABEL_BINDING],
      messageId: facts.messageId,
      phase: facts.phase,
    },
  };
}

// Which message and Job this container runs for, from the env Sluice sets.

export type JobIdentity = {
  messageId?: string;
  dedupeKey?: string;
  /** namespace/name of the QueueBinding the message came from. */
  binding?: string;
  jobType?: string;
  jobName?: string;
};

export function jobIdentity(env: Record<string, string | undefined> = process.env): JobIdentity {
  const value = (name: string) => env[name] || undefined;
  return {
    messageId: value('SLUICE_MESSAGE_ID'),
    dedupeKey: value('SLUICE_DEDUPE_KEY'),
    binding: value('SLUICE_BINDING'),
    jobType: value('SLUICE_JOB_TYPE'),
    jobName: value('SLUICE_JOB_NAME'),
  };
}

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobError } from './errors.ts';
import { jobIdentity } from './identity.ts';
import { pick, readPayload } from './payload.ts';

const file = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'sluice-payload-')), 'payload');
  writeFileSync(path, text);
  return path;
};

describe('readPayload', () => {
  it('reads the payload file and parses JSON', () => {
    const payload = readPayload({ SLUICE_PAYLOAD_FILE: file('{"interview_id":"i-1"}'), SLUICE_PAYLOAD_FORMAT: 'json' });
    expect(payload).toEqual({ raw: '{"interview_id":"i-1"}', format: 'json', body: { interview_id: 'i-1' } });
  });

  it('prefers $SLUICE_PAYLOAD, which holds the same bytes, over reading the file', () => {
    const payload = readPayload({ SLUICE_PAYLOAD: '{"a":1}', SLUICE_PAYLOAD_FILE: '/nonexistent', SLUICE_PAYLOAD_FORMAT: 'json' });
    expect(payload.body).toEqual({ a: 1 });
  });

  it('splits TYPE|jobId|metadata and parses JSON metadata, keeping further separators in it', () => {
    expect(readPayload({ SLUICE_PAYLOAD: 'TRANSCODE_VIDEO|job-456|{"input":"s3://a/b|c.mp4"}', SLUICE_PAYLOAD_FORMAT: 'pipe' }).body).toEqual({
      type: 'TRANSCODE_VIDEO',
      jobId: 'job-456',
      metadata: { input: 's3://a/b|c.mp4' },
    });
    expect(readPayload({ SLUICE_PAYLOAD: 'NF|j|signup|extra', SLUICE_PAYLOAD_FORMAT: 'pipe' }).body).toEqual({ type: 'NF', jobId: 'j', metadata: 'signup|extra' });
    expect(readPayload({ SLUICE_PAYLOAD: 'NF|j|{not json', SLUICE_PAYLOAD_FORMAT: 'pipe' }).body).toMatchObject({ metadata: '{not json' });
  });

  it('keeps text as it is', () => {
    expect(readPayload({ SLUICE_PAYLOAD: 'hello | world', SLUICE_PAYLOAD_FORMAT: 'text' }).body).toBe('hello | world');
  });

  it('guesses the format outside Sluice', () => {
    expect(readPayload({ SLUICE_PAYLOAD: ' {"a":1}' }).format).toBe('json');
    expect(readPayload({ SLUICE_PAYLOAD: 'TRANSCODE_AUDIO|j|m' }).format).toBe('pipe');
    expect(readPayload({ SLUICE_PAYLOAD: 'just words' }).format).toBe('text');
  });

  it.each([
    ['malformed JSON', { SLUICE_PAYLOAD: '{"a":', SLUICE_PAYLOAD_FORMAT: 'json' }, /not valid JSON/],
    ['a pipe body with too few fields', { SLUICE_PAYLOAD: 'TYPE|only', SLUICE_PAYLOAD_FORMAT: 'pipe' }, /TYPE\|jobId\|metadata/],
    ['an unknown format', { SLUICE_PAYLOAD: 'x', SLUICE_PAYLOAD_FORMAT: 'yaml' }, /SLUICE_PAYLOAD_FORMAT/],
    ['a missing payload file', { SLUICE_PAYLOAD_FILE: '/nonexistent/payload' }, /cannot read the payload file/],
  ])('treats %s as bad input (not retryable)', (_name, env, message) => {
    const error = (() => {
      try {
        readPayload(env);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(JobError);
    expect(error).toMatchObject({ retryable: false, message: expect.stringMatching(message) as string });
  });
});

describe('pick', () => {
  it('follows a dotted path and is undefined where a step is missing', () => {
    const body = { metadata: { slides: [{ image: 's3://b/1.png' }] } };
    expect(pick(body, 'metadata.slides.0.image')).toBe('s3://b/1.png');
    expect(pick(body, '')).toBe(body);
    expect(pick(body, 'metadata.nope.deeper')).toBeUndefined();
  });
});

describe('jobIdentity', () => {
  it('reads the identity env, leaving unset or empty values out', () => {
    expect(jobIdentity({ SLUICE_MESSAGE_ID: 'm-1', SLUICE_JOB_NAME: 'fable-jobs-abc', SLUICE_BINDING: 'ns/fable', SLUICE_JOB_TYPE: 'transcode', SLUICE_DEDUPE_KEY: '' })).toEqual({
      messageId: 'm-1',
      dedupeKey: undefined,
      binding: 'ns/fable',
      jobType: 'transcode',
      jobName: 'fable-jobs-abc',
    });
  });
});

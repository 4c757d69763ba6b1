import { describe, expect, expectTypeOf, it } from 'vitest';
import { queueBindingSpecSchema } from '../api/schemas.ts';
import type { QueueBindingSpec } from '../api/schemas.ts';
import { DecodeError, decodeErrorReasons, decodeMessage } from './index.ts';
import type { DecodedMessage, DecodeOptions, PayloadStore } from './index.ts';
import { decodeError } from './test-support.ts';

const defaults: DecodeOptions = queueBindingSpecSchema.shape.message.parse({});

const noStore: PayloadStore = { getObject: () => Promise.reject(new Error('no S3 in this test')) };

const decode = (body: string, options: Partial<DecodeOptions> = {}) =>
  decodeMessage({ body, messageAttributes: {} }, { ...defaults, ...options }, noStore);


describe('the API', () => {
  it('takes a QueueBinding spec.message as options', () => {
    expectTypeOf<QueueBindingSpec['message']>().toExtend<DecodeOptions>();
    expectTypeOf<DecodedMessage['envelope']>().toExtend<Record<string, unknown>>();
  });

  it('lists every reason a DecodeError can have', () => {
    expect(decodeErrorReasons).toEqual([
      'MalformedJson',
      'MalformedPipe',
      'MalformedEnvelope',
      'UnknownFormat',
      'BodyTooLarge',
      'InvalidUtf8',
      'PayloadFetchFailed',
      'UnsupportedCharacters',
    ]);
  });

  it('gives DecodeError a name, a reason and defaults', () => {
    const error = new DecodeError('MalformedPipe', 'body has 1 pipe-separated field, expected 3');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('DecodeError');
    expect(error).toMatchObject({ reason: 'MalformedPipe', retryable: false, position: undefined, envelopes: [] });
    expect(String(error)).toBe('DecodeError: body has 1 pipe-separated field, expected 3');
  });
});

describe('the seed systems, as their producers send today', () => {
  // 000: one queue, routed by key presence and field values.
  it.each([
    [
      '{"roleplay": {"userId": "64f1c2", "transcript": [{"role": "user", "text": "Hi"}], "userAudioDuration": 93.5, "botConfig": {"persona": "buyer"}}}',
      { roleplay: { userId: '64f1c2', transcript: [{ role: 'user', text: 'Hi' }], userAudioDuration: 93.5, botConfig: { persona: 'buyer' } } },
    ],
    ['{"roleplayVideo": {"sessionId": "s-9", "slides": 12}}', { roleplayVideo: { sessionId: 's-9', slides: 12n } }],
    ['{"evaluationType": "interview", "userId": "u-1", "scripts": ["a"]}', { evaluationType: 'interview', userId: 'u-1', scripts: ['a'] }],
    ['{"reportType": "weekly", "companyId": 17}', { reportType: 'weekly', companyId: 17n }],
    ['{"reportType": "employee-export"}', { reportType: 'employee-export' }],
    ['{"smartNudge": true, "userIds": [1, 2]}', { smartNudge: true, userIds: [1n, 2n] }],
  ])('000: %s', async (body, expected) => {
    const decoded = await decode(body);
    expect(decoded).toEqual({ raw: body, format: 'json', body: expected, envelopes: [], envelope: {}, bytes: body.length });
  });

  it('000: roleplayVideo may be a bare flag', async () => {
    expect((await decode('{"roleplayVideo": true}')).body).toEqual({ roleplayVideo: true });
  });

  it('001: {"interview_id": …}', async () => {
    const body = '{"interview_id": "3f2b8c1e-7d4a-4f0e-9b6a-2c5d8e1f0a7b"}';
    expect(await decode(body)).toMatchObject({
      raw: body,
      format: 'json',
      body: { interview_id: '3f2b8c1e-7d4a-4f0e-9b6a-2c5d8e1f0a7b' },
    });
  });

  it('002: the legacy TYPE|jobId|metadata string', async () => {
    expect(await decode('TRANSCODE_VIDEO|job-id-456|metadata-string')).toMatchObject({
      format: 'pipe',
      body: { type: 'TRANSCODE_VIDEO', jobId: 'job-id-456', metadata: 'metadata-string' },
    });
  });

  it('002: legacy metadata that is JSON', async () => {
    const body = 'TRANSCODE|job-123|{"url":"https://cdn.example.com/in/clip.mov","formats":["hls","mp4"]}';
    const decoded = await decode(body);
    expect(decoded).toMatchObject({
      raw: body,
      format: 'pipe',
      body: {
        type: 'TRANSCODE',
        jobId: 'job-123',
        metadata: { url: 'https://cdn.example.com/in/clip.mov', formats: ['hls', 'mp4'] },
      },
    });
  });

  it('002: the modern JSON {type, jobId, metadata}', async () => {
    const body = '{"type":"TRANSCODE_VIDEO","jobId":"job-id-456","metadata":{"width":1280,"bitrate":2.5}}';
    expect(await decode(body)).toMatchObject({
      format: 'json',
      body: { type: 'TRANSCODE_VIDEO', jobId: 'job-id-456', metadata: { width: 1280n, bitrate: 2.5 } },
    });
  });

  it('002: other legacy message types', async () => {
    for (const type of ['TRANSCODE_AUDIO', 'NF', 'CBE', 'SUBS_UPGRADE_DOWNGRADE_SIDE_EFFECT', 'TRIGGER_ANALYTICS_JOB']) {
      expect((await decode(`${type}|j-1|x`)).body).toMatchObject({ type, jobId: 'j-1' });
    }
  });
});

describe('options', () => {
  it('applies the configured format', async () => {
    expect(await decode('{"a": 1}', { format: 'text' })).toMatchObject({ format: 'text', body: '{"a": 1}' });
    expect(await decode('NF|j|m', { format: 'json' }).catch((error: unknown) => error)).toMatchObject({
      reason: 'MalformedJson',
    });
    expect(await decode('{"a": 1}|j|m', { format: 'pipe' })).toMatchObject({ body: { type: '{"a": 1}' } });
  });

  it('unwraps nothing when unwrap is empty', async () => {
    const sns = JSON.stringify({ Type: 'Notification', MessageId: 'm', TopicArn: 'arn:aws:sns:us-east-1:1:t', Message: 'hi' });
    expect(await decode(sns, { unwrap: [] })).toMatchObject({ envelopes: [], raw: sns, format: 'json' });
  });

  it('rejects an unknown format', async () => {
    const error = await decodeError(decode('x', { format: 'xml' as DecodeOptions['format'] }));
    expect(error.reason).toBe('UnknownFormat');
    expect(error.message).toBe('unknown message format "xml"; expected one of auto, json, pipe, text');
  });

  it('rejects an unknown envelope kind', async () => {
    const error = await decodeError(decode('x', { unwrap: ['kinesis' as DecodeOptions['unwrap'][number]] }));
    expect(error.reason).toBe('UnknownFormat');
    expect(error.message).toBe('unknown envelope "kinesis"; expected one of sns, eventbridge, s3Event, extendedClient');
  });

  it('uses the configured pipe fields', async () => {
    expect((await decode('resize|img-1|800x600|extra', { pipeFields: ['op', 'id', 'size', 'rest'] })).body).toEqual({
      op: 'resize',
      id: 'img-1',
      size: '800x600',
      rest: 'extra',
    });
  });
});

describe('size', () => {
  it('counts raw in UTF-8 bytes', async () => {
    const decoded = await decode('{"name": "Zoë 🎬"}');
    expect(decoded.raw.length).toBe(18);
    expect(decoded.bytes).toBe(21);
  });

  it('accepts a body of exactly maxBodyBytes', async () => {
    expect((await decode('x'.repeat(100), { maxBodyBytes: 100 })).bytes).toBe(100);
  });

  it('rejects a body over maxBodyBytes with both sizes', async () => {
    const error = await decodeError(decode('é'.repeat(60), { maxBodyBytes: 100 }));
    expect(error.reason).toBe('BodyTooLarge');
    expect(error.message).toBe('body is 120 bytes, over the maxBodyBytes limit of 100');
  });

  it('measures the unwrapped body, not the envelope', async () => {
    const sns = JSON.stringify({ Type: 'Notification', MessageId: 'm', TopicArn: 'arn:aws:sns:us-east-1:1:t', Message: 'x'.repeat(50) });
    expect(sns.length).toBeGreaterThan(100);
    expect((await decode(sns, { maxBodyBytes: 100 })).bytes).toBe(50);
    const error = await decodeError(decode(sns, { maxBodyBytes: 40 }));
    expect(error.message).toBe('body is 50 bytes, over the maxBodyBytes limit of 40 (envelopes: sns)');
  });

  it('reports the size before the format', async () => {
    expect((await decodeError(decode('{"a": }', { maxBodyBytes: 3 }))).reason).toBe('BodyTooLarge');
  });
});

describe('invalid UTF-8', () => {
  it('rejects a lone surrogate in the body text', async () => {
    const error = await decodeError(decode('NF|job-1|caf\udce9'));
    expect(error.reason).toBe('InvalidUtf8');
    expect(error.message).toBe('body is not valid UTF-8: lone surrogate U+DCE9 at position 12');
    expect(error.position).toBe(12);
  });

  it('rejects it whatever the format', async () => {
    expect((await decodeError(decode('\ud800', { format: 'text' }))).reason).toBe('InvalidUtf8');
  });

  it('rejects an escaped lone surrogate in a JSON body', async () => {
    const error = await decodeError(decode('{"jobId": "\\ud83d"}'));
    expect(error.message).toBe('body is not valid UTF-8: the JSON string at key "jobId" holds a lone surrogate \\uD83D');
  });

  it('accepts surrogate pairs', async () => {
    expect((await decode('NF|job-1|🎬')).body).toMatchObject({ metadata: '🎬' });
  });
});

describe('deep nesting', () => {
  it('reports deeply nested JSON as MalformedJson, also when looking for envelopes', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(await decodeError(decode(deep))).toMatchObject({ reason: 'MalformedJson' });
    expect(await decode(deep, { format: 'text' })).toMatchObject({ format: 'text', bytes: 200_000 });
  });
});

describe('numbers for CEL', () => {
  it('makes integers BigInt and keeps doubles, at any depth', async () => {
    const decoded = await decode('{"count": 3, "ratio": 0.25, "whole": 2.0, "nested": {"ids": [9007199254740993]}}');
    expect(decoded.body).toEqual({ count: 3n, ratio: 0.25, whole: 2, nested: { ids: [9007199254740993n] } });
  });

  it('keeps raw exactly as sent', async () => {
    const body = '{ "count" : 3 ,\n  "ratio": 0.250 }';
    expect((await decode(body)).raw).toBe(body);
  });
});

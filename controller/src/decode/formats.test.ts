import { describe, expect, it } from 'vitest';
import { DecodeError } from './errors.ts';
import { decodeBody, decodePipe } from './formats.ts';
import type { MessageFormat } from './types.ts';

const PIPE_FIELDS = ['type', 'jobId', 'metadata'];

const decode = (text: string, format: MessageFormat, fields = PIPE_FIELDS) => decodeBody(text, format, fields);

function decodeError(run: () => unknown): DecodeError {
  try {
    run();
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected a DecodeError');
}

describe('json format', () => {
  it('parses any JSON value', () => {
    expect(decode('{"a": 1}', 'json')).toEqual({ format: 'json', body: { a: 1n } });
    expect(decode(' [1, "x"] ', 'json')).toEqual({ format: 'json', body: [1n, 'x'] });
    expect(decode('"just a string"', 'json')).toEqual({ format: 'json', body: 'just a string' });
    expect(decode('3.5', 'json')).toEqual({ format: 'json', body: 3.5 });
    expect(decode('null', 'json')).toEqual({ format: 'json', body: null });
  });

  it('rejects what does not parse', () => {
    const error = decodeError(() => decode('TRANSCODE|job-1|{}', 'json'));
    expect(error.reason).toBe('MalformedJson');
    expect(error.message).toBe("body is not valid JSON: Unexpected token 'T' at position 0 (line 1 column 1)");
  });

  it('uses the parse the caller already did', () => {
    const parsed = { reused: true };
    expect(decodeBody('{"reused": false}', 'json', PIPE_FIELDS, () => parsed).body).toBe(parsed);
  });
});

describe('pipe format', () => {
  it('splits TYPE|jobId|metadata', () => {
    expect(decode('TRANSCODE_VIDEO|job-id-456|metadata-string', 'pipe')).toEqual({
      format: 'pipe',
      body: { type: 'TRANSCODE_VIDEO', jobId: 'job-id-456', metadata: 'metadata-string' },
    });
  });

  it('gives the rest of the line, pipes included, to the last field', () => {
    expect(decodePipe('NF|job-1|a|b||c', PIPE_FIELDS)).toEqual({ type: 'NF', jobId: 'job-1', metadata: 'a|b||c' });
  });

  it('parses metadata that is a JSON object or array, with CEL numbers', () => {
    expect(decodePipe('TRANSCODE|job-123|{"url":"s3://in/a.mov","height":720}', PIPE_FIELDS)).toEqual({
      type: 'TRANSCODE',
      jobId: 'job-123',
      metadata: { url: 's3://in/a.mov', height: 720n },
    });
    expect(decodePipe('CBE|job-9|["a", "b|c"]', PIPE_FIELDS).metadata).toEqual(['a', 'b|c']);
  });

  it('keeps metadata that only looks like JSON as a string', () => {
    expect(decodePipe('NF|job-1|{not json}', PIPE_FIELDS).metadata).toBe('{not json}');
    expect(decodePipe('NF|job-1|42', PIPE_FIELDS).metadata).toBe('42');
  });

  it('rejects a lone surrogate escaped inside JSON metadata', () => {
    expect(decodeError(() => decodePipe('NF|job-1|{"a":"\\ud800"}', PIPE_FIELDS)).reason).toBe('InvalidUtf8');
  });

  it('allows empty fields', () => {
    expect(decodePipe('NF||', PIPE_FIELDS)).toEqual({ type: 'NF', jobId: '', metadata: '' });
  });

  it('rejects a body with too few fields', () => {
    const error = decodeError(() => decode('TRANSCODE_VIDEO|job-1', 'pipe'));
    expect(error.reason).toBe('MalformedPipe');
    expect(error.message).toBe('body has 2 pipe-separated fields, expected 3 (type|jobId|metadata)');
    expect(decodeError(() => decode('hello', 'pipe')).message).toBe(
      'body has 1 pipe-separated field, expected 3 (type|jobId|metadata)',
    );
  });

  it('uses the configured field names', () => {
    expect(decodePipe('a|b', ['kind', 'rest'])).toEqual({ kind: 'a', rest: 'b' });
    expect(decodePipe('whole|line', ['line'])).toEqual({ line: 'whole|line' });
  });

  it('does not check the type field when pipe is configured explicitly', () => {
    expect(decodePipe(' 1 x|job|m', PIPE_FIELDS).type).toBe(' 1 x');
  });
});

describe('text format', () => {
  it('passes the text through, even when it is JSON', () => {
    expect(decode('{"a": 1}', 'text')).toEqual({ format: 'text', body: '{"a": 1}' });
    expect(decode('', 'text')).toEqual({ format: 'text', body: '' });
  });
});

describe('auto format', () => {
  it('is JSON for an object or an array', () => {
    expect(decode('{"type":"TRANSCODE_VIDEO","jobId":"j"}', 'auto').format).toBe('json');
    expect(decode('\n [ {"a": 1} ] \n', 'auto')).toEqual({ format: 'json', body: [{ a: 1n }] });
  });

  it('reports a body that opens and closes like JSON but does not parse', () => {
    const error = decodeError(() => decode('{"a": 1,}', 'auto'));
    expect(error.reason).toBe('MalformedJson');
  });

  it.each(['{not closed', '{"a": 1', '[{"a": 1}', '[["a"]', '{"a":1} trailing'])('reports %j, which opens like JSON, as MalformedJson', (text) => {
    expect(decodeError(() => decode(text, 'auto')).reason).toBe('MalformedJson');
  });

  it('is pipe when the first field is an identifier and there are enough fields', () => {
    expect(decode('TRANSCODE_VIDEO|job-id-456|metadata-string', 'auto').format).toBe('pipe');
    expect(decode('media.transcode:v2|j|m', 'auto').format).toBe('pipe');
    expect(decode('a-b|j|', 'auto').format).toBe('pipe');
  });

  it('is text otherwise', () => {
    for (const text of [
      'hello world',
      'TRANSCODE|job-1',
      '1ST|job|m',
      'has space|job|m',
      '|job|m',
      '[INFO] done | ok | fine',
      '42',
      '"quoted"',
      'true',
      '',
    ]) {
      expect(decode(text, 'auto'), text).toEqual({ format: 'text', body: text });
    }
  });

  it('never picks pipe when there is only one pipe field', () => {
    expect(decode('hello', 'auto', ['line'])).toEqual({ format: 'text', body: 'hello' });
  });
});

describe('unknown format', () => {
  it('is an UnknownFormat error', () => {
    const error = decodeError(() => decode('x', 'yaml' as MessageFormat));
    expect(error.reason).toBe('UnknownFormat');
    expect(error.message).toBe('unknown message format "yaml"; expected one of auto, json, pipe, text');
  });
});

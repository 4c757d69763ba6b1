import { describe, expect, it } from 'vitest';
import { DecodeError } from './errors.ts';
import { looksLikeJsonContainer, parseJson, startsLikeJsonContainer, stringifyMemberExactly } from './json.ts';

function parseError(text: string): DecodeError {
  try {
    parseJson(text);
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

describe('parseJson numbers for CEL', () => {
  it('turns integer literals into BigInt (CEL int)', () => {
    expect(parseJson('{"n": 42, "neg": -7, "zero": 0, "list": [1, 2]}')).toEqual({
      n: 42n,
      neg: -7n,
      zero: 0n,
      list: [1n, 2n],
    });
  });

  it('keeps fractions and exponents as doubles, even when the value is whole', () => {
    expect(parseJson('{"a": 1.5, "b": 1.0, "c": 1e3, "d": -2E-2}')).toEqual({ a: 1.5, b: 1, c: 1000, d: -0.02 });
    const { b } = parseJson('{"b": 1.0}') as { b: unknown };
    expect(typeof b).toBe('number');
  });

  it('keeps integers beyond 2^53 exact', () => {
    expect(parseJson('{"id": 1234567890123456789}')).toEqual({ id: 1234567890123456789n });
    expect(parseJson('9223372036854775807')).toBe(9223372036854775807n);
    expect(parseJson('-9223372036854775808')).toBe(-9223372036854775808n);
  });

  it('leaves integers outside int64 as doubles', () => {
    expect(parseJson('9223372036854775808')).toBe(9223372036854775808);
    expect(typeof parseJson('18446744073709551616')).toBe('number');
  });

  it('leaves strings, booleans and null alone', () => {
    expect(parseJson('{"s": "42", "t": true, "f": false, "n": null}')).toEqual({ s: '42', t: true, f: false, n: null });
  });

  it('stores a "__proto__" key as data, not as the prototype', () => {
    const value = parseJson('{"__proto__": {"polluted": 1}}') as Map<string, unknown>;
    expect([...value.keys()]).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('makes objects with keys cel-js or JavaScript treat specially Maps, and leaves the rest plain', () => {
    const value = parseJson('{"a": {"constructor": "c"}, "b": {"prototype": 1}, "c": {"d": 1}}') as Record<string, unknown>;
    expect(value.a).toEqual(new Map([['constructor', 'c']]));
    expect(value.b).toEqual(new Map([['prototype', 1n]]));
    expect(value.c).toEqual({ d: 1n });
  });
});

describe('parseJson errors', () => {
  it('reports V8 messages that carry a position, with the position', () => {
    const error = parseError('{"a":1,}');
    expect(error.reason).toBe('MalformedJson');
    expect(error.message).toBe(
      'body is not valid JSON: Expected double-quoted property name in JSON at position 7 (line 1 column 8)',
    );
    expect(error.position).toBe(7);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('finds the position of an unexpected token and leaves the body out of the message', () => {
    const error = parseError('{"jobId": "j-1", "n": }');
    expect(error.message).toBe("body is not valid JSON: Unexpected token '}' at position 22 (line 1 column 23)");
    expect(error.position).toBe(22);
  });

  it('counts lines and columns for multi-line bodies', () => {
    const error = parseError('{\n  "a": 1,\n  "b": tru\n}');
    expect(error.message).toBe("body is not valid JSON: Unexpected token '\\n' at position 22 (line 3 column 11)");
  });

  it.each([
    ['[1, 2, x]', 7],
    ['}', 0],
    ['{"a": NaN}', 6],
    ['{"a": +1}', 6],
    [`{"long": "${'x'.repeat(500)}", "n": ]`, 518],
  ])('locates the unexpected token in %j', (text, position) => {
    const error = parseError(text);
    expect(error.position).toBe(position);
    expect(error.message).toContain(`at position ${position}`);
    expect(error.message).not.toContain('is not valid JSON:\u0020"');
  });

  it('shows invisible offending characters by code point', () => {
    expect(parseError('\ufeff{"a": 1}').message).toBe(
      'body is not valid JSON: Unexpected token U+FEFF at position 0 (line 1 column 1)',
    );
    expect(parseError('{"a":\u00a01}').message).toBe(
      'body is not valid JSON: Unexpected token U+00A0 at position 5 (line 1 column 6)',
    );
  });

  it('refuses JSON nested deeper than 512 levels, the same way whatever the stack allows', () => {
    for (const depth of [513, 100_000]) {
      const error = parseError('['.repeat(depth) + ']'.repeat(depth));
      expect(error.reason).toBe('MalformedJson');
      expect(error.message).toBe('body is JSON nested deeper than 512 levels');
    }
    expect(parseJson('['.repeat(512) + ']'.repeat(512))).toBeDefined();
    // Brackets inside strings do not nest.
    expect(parseJson(JSON.stringify({ s: '['.repeat(1000) }))).toEqual({ s: '['.repeat(1000) });
  });

  it('reports an empty or truncated body as unexpected end', () => {
    expect(parseError('').message).toBe('body is not valid JSON: Unexpected end of JSON input');
    expect(parseError('{"a": [1, 2').message).toMatch(/^body is not valid JSON: /);
  });

  it('reports trailing garbage', () => {
    expect(parseError('{"a": 1} x').message).toBe(
      'body is not valid JSON: Unexpected non-whitespace character after JSON at position 9 (line 1 column 10)',
    );
  });

  it('names what it parsed', () => {
    expect(() => parseJson('{', 'pipe metadata')).toThrow(/^pipe metadata is not valid JSON/);
  });
});

describe('parseJson lone surrogates', () => {
  it('rejects an escaped lone surrogate in a string value as InvalidUtf8', () => {
    const error = parseError('{"name": "bad \\ud800 value"}');
    expect(error.reason).toBe('InvalidUtf8');
    expect(error.message).toBe('body is not valid UTF-8: the JSON string at key "name" holds a lone surrogate \\uD800');
  });

  it('rejects a lone surrogate in a key or a top-level string', () => {
    expect(parseError('{"\\udc00": 1}').message).toBe('body is not valid UTF-8: a JSON key holds a lone surrogate \\uDC00');
    expect(parseError('"\\udbff"').message).toBe('body is not valid UTF-8: the JSON string holds a lone surrogate \\uDBFF');
  });

  it('accepts escaped surrogate pairs', () => {
    expect(parseJson('{"emoji": "\\ud83d\\ude00"}')).toEqual({ emoji: '😀' });
  });
});

describe('stringifyMemberExactly', () => {
  it('re-serializes a member with every number as written', () => {
    const text = '{"detail": {"id": 12345678901234567891, "ratio": 1.0, "big": 1e400, "tags": ["a"]}, "other": 1}';
    expect(stringifyMemberExactly(text, 'detail')).toBe(
      '{"id":12345678901234567891,"ratio":1.0,"big":1e400,"tags":["a"]}',
    );
  });
});

describe('JSON shape checks', () => {
  it.each([
    ['{"a":1}', true, true],
    ['  [1]\n', true, true],
    ['[INFO] started', true, false],
    ['{broken', true, false],
    ['TRANSCODE|j|{}', false, false],
    ['"string"', false, false],
    ['', false, false],
  ])('%j starts like a container: %s, looks like one: %s', (text, starts, looks) => {
    expect(startsLikeJsonContainer(text)).toBe(starts);
    expect(looksLikeJsonContainer(text)).toBe(looks);
  });
});

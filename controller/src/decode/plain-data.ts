// Data from untrusted names (JSON keys, attribute names) that CEL and JavaScript treat as plain
// data. cel-js types a plain object by its `constructor`, so an object with a key named
// "constructor" would be an unsupported type and every route touching it would fail; assigning a
// "__proto__" key would replace an object's prototype. Objects with such keys become Maps, which
// CEL treats as the same map type; everything else stays a plain object.

/** A CEL map: a plain object, or a Map when its keys need one. */
export type CelMap<T> = Record<string, T> | Map<string, T>;

const SPECIAL_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function plainData<T>(entries: Iterable<[string, T]>): CelMap<T> {
  const list = [...entries];
  return list.some(([key]) => SPECIAL_KEYS.has(key)) ? new Map(list) : (Object.fromEntries(list));
}

/** For JSON.parse: objects with special keys (parsed as own properties) become Maps. */
export function plainDataReviver(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map) return value;
  return Object.keys(value).some((key) => SPECIAL_KEYS.has(key)) ? new Map(Object.entries(value)) : value;
}

/** A JSON value (a Job's parsed result) as CEL data. */
export function celData(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value), plainDataReviver);
}

const rawJson = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON;

/** For JSON.stringify: Maps are written as the objects they stand for, ints (BigInt) exactly. */
export function plainDataReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return rawJson(String(value));
  return value instanceof Map ? Object.fromEntries(value as Map<string, unknown>) : value;
}

import { describe, expect, it } from 'vitest';
import { receivedMessages } from './received.ts';

describe('receivedMessages', () => {
  it('drops attributes the SDK handed over without a value (one named __proto__), keeping the rest', () => {
    // What @aws-sdk/client-sqs returns for attributes kind, constructor and __proto__.
    const attributes = JSON.parse('{"__proto__": null, "constructor": {"DataType": "String", "StringValue": "c"}, "kind": {"DataType": "String", "StringValue": "work"}}') as Record<string, never>;
    Object.defineProperty(attributes, '__proto__', { value: undefined, enumerable: true });
    const [message] = receivedMessages([{ MessageId: 'm-1', Body: 'x', MessageAttributes: attributes }]);
    expect(Object.keys(message!.MessageAttributes!)).toEqual(['constructor', 'kind']);
    expect(message!.MessageAttributes!.constructor).toEqual({ DataType: 'String', StringValue: 'c' });
    expect(receivedMessages(undefined)).toEqual([]);
  });
});

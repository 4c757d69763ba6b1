// Messages as the AWS SDK hands them over after a receive. Its JSON deserializer keeps a message
// attribute named `__proto__` as an own key with an undefined value (the value is lost): nothing
// downstream may see such an entry, so every receive passes its messages through here.
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

export function receivedMessages(messages: Message[] | undefined): Message[] {
  return (messages ?? []).map((message) => (message.MessageAttributes ? { ...message, MessageAttributes: presentAttributes(message.MessageAttributes) } : message));
}

export function presentAttributes(attributes: Record<string, MessageAttributeValue | undefined>): Record<string, MessageAttributeValue> {
  const present: Record<string, MessageAttributeValue> = Object.create(null) as Record<string, MessageAttributeValue>;
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) Object.defineProperty(present, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return present;
}

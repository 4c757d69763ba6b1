// `sluice controller --namespace a,b`: the namespaces the controller watches.
import { InvalidArgumentError } from 'commander';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `a, b,a` → [a, b]; empty → [] (every namespace). Each must be a namespace name (a DNS label). */
export function namespaceList(value: string): string[] {
  const names = [...new Set(value.split(',').map((name) => name.trim()).filter(Boolean))];
  const invalid = names.filter((name) => name.length > 63 || !DNS_LABEL.test(name));
  if (invalid.length > 0) throw new InvalidArgumentError(`not a namespace name: ${invalid.join(', ')}`);
  return names;
}

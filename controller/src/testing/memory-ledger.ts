// A capacity ledger store in memory with the API server's optimistic concurrency (tests only).
import { LedgerConflict, type Ledger, type LedgerStore } from '../dispatch/shared-capacity.ts';

export function memoryLedgerStore(): LedgerStore & { ledger: () => Ledger | undefined } {

  let stored: { holders: Ledger['holders']; version: number } | undefined;
  return {
    ledger: () => (stored ? { holders: stored.holders, resourceVersion: String(stored.version) } : undefined),
    read: () => Promise.resolve(stored ? { holders: structuredClone(stored.holders), resourceVersion: String(stored.version) } : undefined),
    write: (_ns, _name, ledger) => {
      const current = stored ? String(stored.version) : undefined;
      if (ledger.resourceVersion !== current) return Promise.reject(new LedgerConflict('moved on'));
      stored = { holders: structuredClone(ledger.holders), version: (stored?.version ?? 0) + 1 };
      return Promise.resolve(String(stored.version));
    },
  };
}


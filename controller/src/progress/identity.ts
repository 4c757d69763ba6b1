// Who is reporting progress: the pod named by its projected ServiceAccount token, as the API
// server's TokenReview says (audience `sluice`, so a token minted for the API server or another
// service is refused). Reviews are cached by a hash of the token until shortly before it expires,
// so a pod reporting every second costs one TokenReview per token, not one per report.
import type * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { PROGRESS_AUDIENCE } from '../job/labels.ts';

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';

export type PodIdentity = { namespace: string; serviceAccount: string; podName: string; podUid: string };

export type TokenReviewer = (token: string, audiences: string[]) => Promise<k8s.V1TokenReviewStatus | undefined>;

const MAX_CACHED = 10_000;
const POSITIVE_TTL_MS = 10 * 60_000;
/** A refused token is not reviewed again for a while: a forged-token loop costs little. */
const NEGATIVE_TTL_MS = 30_000;

export class PodTokenVerifier {
  readonly #review: TokenReviewer;
  readonly #now: () => number;
  readonly #cache = new Map<string, { identity?: PodIdentity; until: number }>();

  constructor(review: TokenReviewer, now: () => number = Date.now) {
    this.#review = review;
    this.#now = now;
  }

  /** The pod the token belongs to, or undefined when the token is not a valid pod token for Sluice. Throws when the API server cannot be asked. */
  async verify(token: string): Promise<PodIdentity | undefined> {
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.#cache.get(key);
    if (cached && cached.until > this.#now()) return cached.identity;
    const status = await this.#review(token, [PROGRESS_AUDIENCE]);
    const identity = podIdentity(status);
    const until = identity ? Math.min(this.#now() + POSITIVE_TTL_MS, expiresAt(token) - 5_000) : this.#now() + NEGATIVE_TTL_MS;
    if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, { ...(identity && { identity }), until });
    return identity;
  }
}

/** The pod behind an authenticated review of a bound ServiceAccount token, if that is what it is. */
export function podIdentity(status: k8s.V1TokenReviewStatus | undefined): PodIdentity | undefined {
  if (!status?.authenticated || !status.audiences?.includes(PROGRESS_AUDIENCE)) return undefined;
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(status.user?.username ?? '');
  const podName = status.user?.extra?.[POD_NAME]?.[0];
  const podUid = status.user?.extra?.[POD_UID]?.[0];
  if (!match || !podName || !podUid) return undefined;
  return { namespace: match[1]!, serviceAccount: match[2]!, podName, podUid };
}

/** The token's own expiry (the API server has already vouched for it; this only bounds the cache). */
function expiresAt(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

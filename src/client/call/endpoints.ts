import type { ResolvedEndpoint } from "./resolved-endpoint.js";

/**
 * The endpoint list: which endpoint calls go to (one is pinned, as etcd's own client does, so calls
 * share one warm connection), which failed recently (skipped for a cooldown), and which were learned
 * from the cluster. Failing over moves the pin to the next healthy endpoint in order.
 */
export class EndpointList {
  #endpoints: ResolvedEndpoint[];
  #failedUntil = new Map<string, number>();
  #pinned = 0;
  readonly #cooldownMs: number;
  readonly #now: () => number;

  constructor(endpoints: ResolvedEndpoint[], cooldownMs: number, now: () => number = Date.now) {
    this.#endpoints = endpoints;
    this.#cooldownMs = cooldownMs;
    this.#now = now;
  }

  /** Every endpoint, in order. */
  get all(): readonly ResolvedEndpoint[] {
    return this.#endpoints;
  }

  /**
   * The endpoint the next call should use: the pinned one while healthy, else the next healthy one in
   * order; when all failed recently, the one whose cooldown ends first.
   */
  current(): ResolvedEndpoint {
    const list = this.#endpoints;
    const pinned = list[this.#pinned]!;
    const until = this.#failedUntil.get(pinned.url);
    if (until === undefined) return pinned;
    const now = this.#now();
    let best = this.#pinned;
    let bestUntil = Number.POSITIVE_INFINITY;
    for (let step = 0; step < list.length; step++) {
      const i = (this.#pinned + step) % list.length;
      const t = this.#failedUntil.get(list[i]!.url);
      if (t === undefined || t <= now) {
        if (t !== undefined) this.#failedUntil.delete(list[i]!.url);
        this.#pinned = i;
        return list[i]!;
      }
      if (t < bestUntil) {
        bestUntil = t;
        best = i;
      }
    }
    return list[best]!;
  }

  /** Records that `url` failed: it is skipped for the cooldown and the pin moves on. */
  markFailed(url: string): void {
    this.#failedUntil.set(url, this.#now() + this.#cooldownMs);
    const list = this.#endpoints;
    if (list[this.#pinned]?.url === url) this.#pinned = (this.#pinned + 1) % list.length;
  }

  /** True while `url` is in its cooldown. */
  isFailed(url: string): boolean {
    const t = this.#failedUntil.get(url);
    return t !== undefined && t > this.#now();
  }

  /** Replaces the list (endpoint sync); keeps the pin on the same URL when it is still present. */
  replace(endpoints: ResolvedEndpoint[]): void {
    if (endpoints.length === 0) return;
    const pinnedUrl = this.#endpoints[this.#pinned]?.url;
    this.#endpoints = endpoints;
    const kept = endpoints.findIndex((e) => e.url === pinnedUrl);
    this.#pinned = Math.max(kept, 0);
    for (const url of this.#failedUntil.keys()) {
      if (!endpoints.some((e) => e.url === url)) this.#failedUntil.delete(url);
    }
  }
}

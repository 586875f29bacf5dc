import type { PickCandidate, PickPolicy, PickRequest } from "../pick-policy.js";
import { fmix32, hash32 } from "./hash32.js";

/** Options of the `ring-hash` policy. */
export interface RingHashOptions {
  /**
   * The request header whose value is a call's hash key (when the call gives none through the
   * `hashKey` context value). Case-insensitive. Default `"x-etcd-ts-hash-key"`.
   */
  header?: string | undefined;
  /**
   * Points each instance gets on the ring per unit of weight (at least 1 point per instance): more
   * points spread keys closer to the weights (the share of an instance of weight 1 deviates by about
   * `1/√pointsPerWeight`) and cost memory (8 bytes a point) and ring build time. Default 100.
   */
  pointsPerWeight?: number | undefined;
}

/** {@link RingHashOptions} with every default applied. */
export type RingHashSettings = Readonly<Required<RingHashOptions>>;

/** The header read by default for a call's hash key. */
export const DEFAULT_HASH_KEY_HEADER = "x-etcd-ts-hash-key";

/** Applies the defaults of {@link RingHashOptions} (the header lower-cased). */
export function ringHashSettings(options: RingHashOptions = {}): RingHashSettings {
  return {
    header: (options.header ?? DEFAULT_HASH_KEY_HEADER).toLowerCase(),
    pointsPerWeight: options.pointsPerWeight ?? 100,
  };
}

/**
 * Points on one ring at most (8 MiB): past it, points per unit of weight are scaled down for the whole
 * set, which then moves a little more than the minimum when the set changes.
 */
export const MAX_RING_POINTS = 1 << 20;
/** Owner indexes are packed beside a 32-bit point in a float64 (53 bits): 2^21 owners at most. */
const OWNER_BITS = 2 ** 21;

/** A ring: sorted points and, for each, the index of its owner in `members`. */
interface Ring {
  readonly points: Uint32Array;
  readonly owners: Int32Array;
  /** The candidates the ring was built from: key and weight, by owner index. */
  readonly members: readonly { readonly key: string; readonly weight: number }[];
  readonly byKey: ReadonlyMap<string, number>;
  /** Points per unit of weight it was built with (below `pointsPerWeight` when capped). */
  readonly scale: number;
}

/** One candidates array's view of a ring: its index of each ring owner, -1 when not among them. */
interface RingView {
  readonly ring: Ring;
  readonly toCandidate: Int32Array;
}

/**
 * Consistent hashing on a ring with virtual nodes (Karger's ring, as Envoy's `RING_HASH` and go-zero's
 * `consistenthash`): each instance owns `weight × pointsPerWeight` points hashed from its key, and a call
 * goes to the owner of the first point at or after the hash of its key (wrapping around). The same key
 * keeps the same instance while the set is the same, in every client (the hash is deterministic), and
 * when an instance comes or goes only the keys of the arcs it gains or loses move: about 1/N of them.
 *
 * An instance's points depend on its key and weight only, so the ring of a smaller set is the ring of a
 * larger one with some owners skipped: a candidates array that is a subset of the ring's members (an
 * instance ejected, unhealthy or already tried by this call) reuses the ring and walks on to the next
 * point whose owner is a candidate, which is where a ring without the missing instances would send the
 * key. An instance that joins has its points merged into the ring (linear in the ring's size); the
 * points of instances gone stay, skipped, until they are half its members and the ring is built afresh,
 * as it is when a weight changes or the set passes the ring's cap. An array with fewer than half the
 * ring's members gets a ring of its own, to keep walks short. A pick is a binary search: O(log n); a
 * build is O(p log p) in the points.
 *
 * A call without a key gets a random point: a random instance, weighted.
 */
export class RingHashPolicy implements PickPolicy {
  readonly #settings: RingHashSettings;
  readonly #random: () => number;
  readonly #views = new WeakMap<readonly PickCandidate[], RingView>();
  #ring: Ring | undefined;

  /** `random` gives numbers in [0, 1) (default `Math.random`): the point of a call without a key. */
  constructor(settings: RingHashSettings = ringHashSettings(), random: () => number = Math.random) {
    this.#settings = settings;
    this.#random = random;
  }

  /** Picks the owner of the first point at or after the hash of `request.hashKey` among `candidates`. */
  pick<C extends PickCandidate>(
    candidates: readonly C[],
    _now: number,
    request?: PickRequest,
  ): C | undefined {
    if (candidates.length <= 1) return candidates[0];
    let view = this.#views.get(candidates);
    if (!view) {
      view = this.#view(candidates);
      this.#views.set(candidates, view);
    }
    const key = request?.hashKey;
    const hash = key === undefined ? Math.floor(this.#random() * 2 ** 32) : hash32(key);
    const { points, owners } = view.ring;
    const start = firstAtOrAfter(points, hash);
    // Some owner is a candidate (the view was built so), so the walk ends within one turn.
    for (let i = 0; i < points.length; i++) {
      const at = view.toCandidate[owners[(start + i) % points.length]!]!;
      if (at >= 0) return candidates[at];
    }
    return undefined;
  }

  /** Ring hash learns nothing from calls. */
  observe(): void {}

  /** Nothing to forget: the ring belongs to the set of candidates. */
  forget(): void {}

  #view(candidates: readonly PickCandidate[]): RingView {
    const ring = this.#ring;
    const { pointsPerWeight } = this.#settings;
    if (ring) {
      const reused = subsetView(ring, candidates);
      if (reused && candidates.length * 2 >= ring.members.length) return reused;
      if (reused) {
        // Fewer than half of the ring's members (most ejected): a ring of their own keeps walks short,
        // and the full ring stays for when the others are back.
        return subsetView(buildRing(candidates, pointsPerWeight), candidates)!;
      }
      const extended = extendRing(ring, candidates, pointsPerWeight);
      if (extended) {
        this.#ring = extended;
        return subsetView(extended, candidates)!;
      }
    }
    this.#ring = buildRing(candidates, pointsPerWeight);
    return subsetView(this.#ring, candidates)!;
  }
}

/** The view of `candidates` on `ring`, or undefined when one of them is missing or has another weight. */
function subsetView(ring: Ring, candidates: readonly PickCandidate[]): RingView | undefined {
  const toCandidate = new Int32Array(ring.members.length).fill(-1);
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    const owner = ring.byKey.get(c.key);
    if (owner === undefined || ring.members[owner]!.weight !== c.instance.weight) return undefined;
    toCandidate[owner] = i;
  }
  return { ring, toCandidate };
}

/** Builds the ring of `candidates`: each gets `max(1, round(weight × scale))` points. */
export function buildRing(candidates: readonly PickCandidate[], pointsPerWeight: number): Ring {
  if (candidates.length > OWNER_BITS) throw new RangeError(`ring hash takes at most ${OWNER_BITS} instances`);
  const scale = ringScale(candidates, pointsPerWeight);
  const members: { key: string; weight: number }[] = [];
  const byKey = new Map<string, number>();
  for (const c of candidates) {
    byKey.set(c.key, members.length);
    members.push({ key: c.key, weight: c.instance.weight });
  }
  const packed = packedPoints(members, 0, scale);
  const points = new Uint32Array(packed.length);
  const owners = new Int32Array(packed.length);
  for (let i = 0; i < packed.length; i++) unpack(packed[i]!, points, owners, i);
  return { points, owners, members, byKey, scale };
}

/**
 * The ring of `candidates` made from `ring` by merging in the points of the candidates it lacks (a linear
 * merge instead of hashing and sorting every point again), or undefined when a rebuild is due: a weight
 * changed, the scale would change (the ring cap), or fewer than half of the ring's members would be
 * candidates (the points of instances gone are dropped by the rebuild).
 */
function extendRing(
  ring: Ring,
  candidates: readonly PickCandidate[],
  pointsPerWeight: number,
): Ring | undefined {
  if (ring.scale !== pointsPerWeight || ringScale(candidates, pointsPerWeight) !== pointsPerWeight)
    return undefined;
  const members = [...ring.members];
  const byKey = new Map(ring.byKey);
  for (const c of candidates) {
    const owner = byKey.get(c.key);
    if (owner === undefined) {
      byKey.set(c.key, members.length);
      members.push({ key: c.key, weight: c.instance.weight });
    } else if (members[owner]!.weight !== c.instance.weight) return undefined;
  }
  const total = members.length;
  if (total > OWNER_BITS || candidates.length * 2 < total) return undefined;
  const added = packedPoints(members, ring.members.length, pointsPerWeight);
  const size = ring.points.length + added.length;
  const points = new Uint32Array(size);
  const owners = new Int32Array(size);
  let i = 0;
  let j = 0;
  for (let at = 0; at < size; at++) {
    const old =
      i < ring.points.length ? ring.points[i]! * OWNER_BITS + ring.owners[i]! : Number.POSITIVE_INFINITY;
    const fresh = j < added.length ? added[j]! : Number.POSITIVE_INFINITY;
    if (old <= fresh) {
      points[at] = ring.points[i]!;
      owners[at] = ring.owners[i++]!;
    } else unpack(added[j++]!, points, owners, at);
  }
  return { points, owners, members, byKey, scale: pointsPerWeight };
}

/** Points per unit of weight for `candidates`: `pointsPerWeight`, less when the ring would pass its cap. */
function ringScale(candidates: readonly PickCandidate[], pointsPerWeight: number): number {
  let totalWeight = 0;
  for (const c of candidates) totalWeight += c.instance.weight;
  return Math.min(pointsPerWeight, MAX_RING_POINTS / totalWeight);
}

/**
 * The points of `members[from..]`, sorted, each packed with its owner index in one float64 (point × 2^21
 * + owner: one numeric sort orders both). An instance's points depend on its key and weight only.
 */
function packedPoints(
  members: readonly { key: string; weight: number }[],
  from: number,
  scale: number,
): Float64Array {
  let size = 0;
  for (let owner = from; owner < members.length; owner++) size += pointCount(members[owner]!.weight, scale);
  const packed = new Float64Array(size);
  let at = 0;
  for (let owner = from; owner < members.length; owner++) {
    const { key, weight } = members[owner]!;
    // Double hashing from two hashes of the key: point i is fmix32(h1 + i·h2), distinct for each i.
    const h1 = hash32(key);
    const h2 = hash32(key, 0x9747b28c) | 1;
    const count = pointCount(weight, scale);
    for (let i = 0; i < count; i++) packed[at++] = fmix32((h1 + Math.imul(i, h2)) >>> 0) * OWNER_BITS + owner;
  }
  return packed.sort();
}

function pointCount(weight: number, scale: number): number {
  return Math.max(1, Math.round(weight * scale));
}

function unpack(value: number, points: Uint32Array, owners: Int32Array, at: number): void {
  const point = Math.floor(value / OWNER_BITS);
  points[at] = point;
  owners[at] = value - point * OWNER_BITS;
}

/** Index of the first point >= `hash` (0 past the last: the ring wraps). */
function firstAtOrAfter(points: Uint32Array, hash: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

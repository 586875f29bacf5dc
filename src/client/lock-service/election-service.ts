import { Election } from "../../gen/v3electionpb/v3election_pb.js";
import { type CallOptions, checkCallOptions } from "../call-options.js";
import { type EtcdError, toEtcdError } from "../core/errors.js";
import { checkOptionsObject } from "../core/validation.js";
import { type Bytes, toBytes } from "../kv/bytes.js";
import { KeyValue } from "../kv/key-value.js";
import type { LockServiceContext } from "./context.js";
import { ElectionNotLeaderError } from "./errors.js";
import { fromWire, type LeaseRef, leaseIdOf, wireLeaderKey, wireName } from "./inputs.js";
import { type ObserveOptions, observeLeader } from "./observe.js";
import type { LeaderKey, Leadership } from "./types.js";

/** Options of {@link ElectionService.campaign}. */
export interface CampaignOptions extends CallOptions {
  /**
   * The lease the leadership is attached to (required): a `Lease` (`await etcd.lease.grant(ttl)`) or its
   * ID. Leadership ends when the lease does.
   */
  lease: LeaseRef;
}

/** What etcd answers (status UNKNOWN) when an election has no leader, or a leadership is gone. */
const NO_LEADER = "election: no leader";
const NOT_LEADER = "election: not leader";

/**
 * etcd's server-side Election service (`v3electionpb.Election`): the member runs Go's
 * `concurrency.Election` for the caller, with Go's keys (`<name>/<lease hex>`), so Go's `Election`,
 * etcd-ts's own `Election` and other service users on the same name see one leader. One RPC per step;
 * keep the lease alive yourself. See docs/concurrency.md, "Server-side lock and election".
 */
export class ElectionService {
  readonly #ctx: LockServiceContext;

  /** @internal Made by `Etcd`: use `etcd.electionService`. */
  constructor(ctx: LockServiceContext) {
    this.#ctx = ctx;
  }

  /**
   * Waits until elected in `name` with `value` under `options.lease`, then resolves with the leadership.
   * The wait is one call, bounded by `timeoutMs` (the client's, 10 s by default) and `signal`; on either
   * the member deletes the candidate's key. Never retried once sent (see RETRY_TABLE). Campaigning again
   * under the same lease while leading proclaims `value`. Bad input is an `InvalidArgumentError`; a user
   * without rights on the name's keys gets a `PermissionDeniedError` naming `Election/Campaign`.
   */
  campaign(name: Bytes, value: Bytes, options: CampaignOptions): Promise<Leadership> {
    let request: { name: Uint8Array; value: Uint8Array; lease: bigint };
    try {
      checkOptionsObject(options, "options", false);
      request = {
        name: wireName(this.#ctx.keys, name),
        value: toBytes(value, "value"),
        lease: leaseIdOf(options.lease),
      };
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#ctx.caller.call({ method: Election.method.campaign, options }, request).then((res) => {
      const leader = res.leader;
      const keys = this.#ctx.keys;
      return Object.freeze({
        name: fromWire(keys, leader?.name ?? request.name),
        key: fromWire(keys, leader?.key ?? new Uint8Array(0)),
        revision: leader?.rev ?? 0n,
        lease: leader?.lease ?? request.lease,
      });
    });
  }

  /**
   * Replaces the leader's value with `value`, if `leader`'s key still exists with its create revision;
   * otherwise rejects with `ElectionNotLeaderError`. A write: retried only when it was never sent.
   */
  async proclaim(leader: LeaderKey, value: Bytes, options?: CallOptions): Promise<void> {
    const request = { leader: wireLeaderKey(this.#ctx.keys, leader), value: toBytes(value, "value") };
    await this.#ctx.caller
      .call({ method: Election.method.proclaim, options }, request)
      .catch((err: unknown) => throwTyped(err));
  }

  /**
   * The current leader's key-value of election `name` (its key, value, create revision, lease), or
   * `undefined` when no one leads. A read: retried like one.
   */
  async leader(name: Bytes, options?: CallOptions): Promise<KeyValue | undefined> {
    const request = { name: wireName(this.#ctx.keys, name) };
    try {
      const res = await this.#ctx.caller.call({ method: Election.method.leader, options }, request);
      return res.kv && new KeyValue({ ...res.kv, key: fromWire(this.#ctx.keys, res.kv.key) });
    } catch (err) {
      if (toEtcdError(err).serverMessage === NO_LEADER) return undefined;
      throw err;
    }
  }

  /**
   * Follows election `name`: the current leader's key-value first (as soon as there is one), then each
   * new leader or proclaimed value, in order. Break out of the loop (or abort `signal`, then it throws
   * `AbortedError`) to stop; the stream is cancelled. A broken stream ends the loop with its typed error
   * (`UnavailableError` when the connection went, or when the member gave up its own watch of the
   * election; a `PermissionDeniedError` naming `Election/Observe` for a user who may not read the name):
   * observe again to go on, the first answer is then the leader of that moment (changes in between are
   * not replayed). Holds the process while open.
   */
  observe(name: Bytes, options: ObserveOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
    // Checked here, at the call, not at the loop's first step.
    checkCallOptions(options);
    const wire = wireName(this.#ctx.keys, name);
    // Why the member ended a stream, when it did: its refusal of the same read, if any.
    const probe = () =>
      this.#ctx.caller.call(
        { method: Election.method.leader, options: { signal: options.signal } },
        { name: wire },
      );
    return observeLeader(this.#ctx, wire, options, probe);
  }

  /**
   * Gives up `leader`'s leadership: deletes its key if it still has its create revision (otherwise does
   * nothing), so the next candidate is elected. Safe to retry (see RETRY_TABLE).
   */
  async resign(leader: LeaderKey, options?: CallOptions): Promise<void> {
    const request = { leader: wireLeaderKey(this.#ctx.keys, leader) };
    await this.#ctx.caller.call({ method: Election.method.resign, options }, request);
  }
}

/** A proclaim's failure: etcd's "not leader" as `ElectionNotLeaderError`, anything else as it came. */
function throwTyped(err: unknown): never {
  const error: EtcdError = toEtcdError(err);
  if (error.serverMessage === NOT_LEADER) throw new ElectionNotLeaderError({ cause: error });
  throw error;
}

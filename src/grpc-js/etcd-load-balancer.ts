import { type ChannelOptions, connectivityState, experimental, type Metadata, status } from "@grpc/grpc-js";
import { InvalidArgumentError, shownInput } from "../client/core/index.js";
import { memberOf, shapeCandidates } from "../discovery/candidate-shaping.js";
import type { ServiceInstance } from "../discovery/instance.js";
import { type LocalityOptions, type LocalitySettings, localitySettings } from "../discovery/locality.js";
import { callVerdict } from "../discovery/outlier-detection.js";
import type { BalancePolicy, PickCandidate, PickRequest } from "../discovery/pick-policy.js";
import { checkPolicy, Picker, type PolicyOptions } from "../discovery/picker.js";
import { ringHashSettings } from "../discovery/policies/ring-hash.js";
import {
  type SlowStartOptions,
  type SlowStartSettings,
  slowStartSettings,
  WarmUp,
} from "../discovery/slow-start.js";
import { addressKey, ENDPOINT_INSTANCES_ATTRIBUTE, type EndpointInstances } from "./endpoint-instances.js";
import { connectErrorFromStatus } from "./status-error.js";

/** The name of etcd-ts' policy in a grpc-js service config's `loadBalancingConfig`. */
export const ETCD_LB_POLICY = "etcd_ts";

/**
 * The `etcd_ts` entry of a service config's `loadBalancingConfig`:
 * `{ "loadBalancingConfig": [{ "etcd_ts": { "policy": "p2c-ewma", "p2cEwma": { "decayMs": 1000 } } }] }`.
 * The options are the balanced Connect transport's, by the same names.
 */
export interface EtcdLoadBalancingConfigJson extends PolicyOptions {
  /**
   * The picking policy: `"round-robin"` (default), `"p2c"`, `"p2c-ewma"` or `"ring-hash"` (docs/discovery.md,
   * "Policies"); `ring-hash` reads each call's key from the call's metadata (`ringHash.header`, default
   * `x-etcd-ts-hash-key`).
   */
  policy?: BalancePolicy | undefined;
  /**
   * Zone preference with spill-over, as the balanced transport's `locality`: calls go to the READY
   * endpoints whose instance has the caller's `zone` while they meet `minInstances` / `minShare`, else to
   * the caller's `region`, else to all. Default none.
   */
  locality?: LocalityOptions | undefined;
  /**
   * Slow start, as the balanced transport's `slowStart`: an endpoint that joins after the policy's first
   * endpoint list gets its weight ramped over `windowMs`. Default off (`false` or absent).
   */
  slowStart?: SlowStartOptions | false | undefined;
}

/** The parsed `etcd_ts` config (grpc-js' `TypedLoadBalancingConfig`). */
class EtcdLoadBalancingConfig implements experimental.TypedLoadBalancingConfig {
  readonly policy: BalancePolicy;
  readonly options: PolicyOptions;
  readonly locality: LocalitySettings | undefined;
  readonly slowStart: SlowStartSettings | undefined;
  readonly #json: string;

  constructor(
    policy: BalancePolicy = "round-robin",
    options: PolicyOptions = {},
    shaping: Pick<EtcdLoadBalancingConfigJson, "locality" | "slowStart"> = {},
  ) {
    this.policy = policy;
    this.options = options;
    this.locality = shaping.locality === undefined ? undefined : localitySettings(shaping.locality);
    this.slowStart =
      shaping.slowStart === undefined || shaping.slowStart === false
        ? undefined
        : slowStartSettings(shaping.slowStart);
    this.#json = JSON.stringify({
      policy,
      ...options,
      ...(this.locality ? { locality: this.locality } : {}),
      ...(this.slowStart ? { slowStart: this.slowStart } : {}),
    });
  }

  getLoadBalancerName(): string {
    return ETCD_LB_POLICY;
  }

  toJsonObject(): object {
    return { [ETCD_LB_POLICY]: JSON.parse(this.#json) };
  }

  /** Whether `other` picks the same way (a channel's new service config with the same policy keeps its state). */
  sameAs(other: EtcdLoadBalancingConfig): boolean {
    return this.#json === other.#json;
  }

  /** Checks the JSON as a service config gives it; throws `InvalidArgumentError` naming the field. */
  static createFromJson(json: unknown): EtcdLoadBalancingConfig {
    if (json === null || typeof json !== "object" || Array.isArray(json))
      throw new InvalidArgumentError(ETCD_LB_POLICY, `must be an object, got ${shownInput(json)}`);
    const { policy, locality, slowStart, ...options } = json as EtcdLoadBalancingConfigJson;
    checkPolicy(policy, options);
    return new EtcdLoadBalancingConfig(policy, options, { locality, slowStart });
  }
}

/** One endpoint as the policy sees it: a pick candidate with its grpc-js child (one `pick_first` leaf). */
interface Member extends PickCandidate {
  readonly key: string;
  instance: ServiceInstance;
  inFlight: number;
  readonly leaf: experimental.LeafLoadBalancer;
  /** Left the endpoint list: calls still ending on it teach the policy nothing. */
  gone: boolean;
}

/** What narrows and reweighs the READY members before the policy picks (the balanced transport's). */
interface Shaping {
  readonly locality: LocalitySettings | undefined;
  readonly warmUp: WarmUp | undefined;
}

/**
 * Picks among the READY members with an etcd-ts {@link Picker} (the balanced transport's policies),
 * counts calls in flight and hands each call's latency and verdict to the policy. One per set of READY
 * members: they are narrowed to the caller's locality and warming ones reweighed once, then again only at
 * each slow-start step (checked by timestamp on pick; no timers), so the policy indexes one array.
 */
class EtcdPicker implements experimental.Picker {
  readonly #members: readonly Member[];
  readonly #picker: Picker;
  /** The metadata key of a call's hash key (`ring-hash` only; undefined: no policy reads one). */
  readonly #keyHeader: string | undefined;
  readonly #shaping: Shaping;
  #candidates: readonly PickCandidate[] = [];
  #shapedUntil = 0;

  constructor(members: readonly Member[], picker: Picker, keyHeader: string | undefined, shaping: Shaping) {
    this.#members = members;
    this.#picker = picker;
    this.#keyHeader = keyHeader;
    this.#shaping = shaping;
  }

  pick(args: experimental.PickArgs): experimental.PickResult {
    const now = Date.now();
    if (now >= this.#shapedUntil) {
      const { locality, warmUp } = this.#shaping;
      this.#candidates = shapeCandidates(this.#members, locality, warmUp, now);
      this.#shapedUntil = warmUp ? warmUp.nextStep(now) : Number.POSITIVE_INFINITY;
    }
    // Non-empty and every weight > 0: the picker always chooses.
    const member = memberOf<Member>(this.#picker.pick(this.#candidates, now, this.#request(args))!);
    const result = member.leaf.getPicker().pick(args);
    if (result.pickResultType !== experimental.PickResultType.COMPLETE) return result;
    const picker = this.#picker;
    let startedAt = 0;
    return {
      ...result,
      onCallStarted: () => {
        result.onCallStarted?.();
        member.inFlight++;
        startedAt = performance.now();
      },
      onCallEnded: (code: status, details: string, metadata: Metadata) => {
        result.onCallEnded?.(code, details, metadata);
        member.inFlight--;
        if (member.gone) return;
        // The client's one failure rule, as the balanced transport applies it.
        const failed =
          code === status.OK ? false : callVerdict(connectErrorFromStatus({ code, details, metadata }));
        if (failed === undefined) return;
        picker.observe(member.key, { latencyMs: performance.now() - startedAt, failed }, Date.now());
      },
    };
  }

  /** The call's hash key from its metadata, for `ring-hash` (a string value; a binary one is no key). */
  #request(args: experimental.PickArgs): PickRequest | undefined {
    if (this.#keyHeader === undefined) return undefined;
    const value = args.metadata.get(this.#keyHeader)[0];
    return { hashKey: typeof value === "string" ? value : undefined };
  }
}

/**
 * The `etcd_ts` load-balancing policy: one grpc-js `pick_first` leaf per endpoint (as grpc-js'
 * `round_robin` keeps them, all connected), and picks among the READY ones by the etcd-ts policy the
 * config names, with the weights the etcd resolver attaches to the endpoints.
 */
class EtcdLoadBalancer implements experimental.LoadBalancer {
  readonly #helper: experimental.ChannelControlHelper;
  readonly #childHelper: experimental.ChannelControlHelper;
  /** By endpoint, as grpc-js spells it. */
  #members = new Map<string, Member>();
  #config: EtcdLoadBalancingConfig | undefined;
  #picker: Picker | undefined;
  /** Ramps of the members that joined after the first endpoint list (undefined: slow start off). */
  #warmUp: WarmUp | undefined;
  /** Whether an endpoint list with members has been seen: members of the first one do not ramp. */
  #settled = false;
  #state = connectivityState.IDLE;
  #paused = false;
  #lastError: string | null = null;

  constructor(helper: experimental.ChannelControlHelper) {
    this.#helper = helper;
    this.#childHelper = experimental.createChildChannelControlHelper(helper, {
      updateState: (state, _picker, errorMessage) => {
        // As round_robin: a lost connection asks the resolver again (the etcd resolver reports its view).
        if (this.#state === connectivityState.READY && state !== connectivityState.READY)
          helper.requestReresolution();
        if (errorMessage) this.#lastError = errorMessage;
        this.#update();
      },
    });
  }

  updateAddressList(
    endpoints: experimental.StatusOr<experimental.Endpoint[]>,
    config: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
    resolutionNote: string,
  ): boolean {
    if (!(config instanceof EtcdLoadBalancingConfig)) return false;
    if (!this.#picker || !this.#config?.sameAs(config)) {
      this.#picker = new Picker(config.policy, Math.random, config.options);
      this.#warmUp = config.slowStart && new WarmUp(config.slowStart);
    }
    this.#config = config;
    if (!endpoints.ok) {
      if (this.#members.size === 0)
        this.#publish(
          connectivityState.TRANSIENT_FAILURE,
          new experimental.UnavailablePicker(endpoints.error),
          endpoints.error.details,
        );
      return true;
    }
    const instances = options[ENDPOINT_INSTANCES_ATTRIBUTE] as EndpointInstances | undefined;
    const { [ENDPOINT_INSTANCES_ATTRIBUTE]: _, ...childOptions } = options;
    const previous = this.#members;
    const next = new Map<string, Member>();
    this.#paused = true;
    /** Keys of new members: they start their ramp once the ones they replace are dropped. */
    const joined: string[] = [];
    for (const endpoint of endpoints.value) {
      const first = endpoint.addresses[0];
      const id = experimental.endpointToString(endpoint);
      if (!first || next.has(id)) continue;
      const address = addressKey(first);
      const found = instances?.get(address);
      // Endpoints from another resolver: weight 1, known by their address.
      const instance = found?.instance ?? {
        service: "",
        addr: address,
        metadata: null,
        weight: 1,
        draining: false,
      };
      if (!(instance.weight > 0)) continue;
      const key = found?.key ?? address;
      let member = previous.get(id);
      if (member && member.key === key) {
        // Same endpoint, same instance: its leaf and connection stay; a new weight applies from the
        // next picker (built below).
        previous.delete(id);
        member.instance = instance;
      } else {
        member = {
          key,
          instance,
          inFlight: 0,
          leaf: new experimental.LeafLoadBalancer(endpoint, this.#childHelper, childOptions, resolutionNote),
          gone: false,
        };
        member.leaf.startConnecting();
        joined.push(key);
      }
      next.set(id, member);
    }
    for (const member of previous.values()) this.#drop(member);
    if (this.#settled) for (const key of joined) this.#warmUp?.start(key, Date.now());
    this.#members = next;
    this.#paused = false;
    if (next.size > 0) this.#settled = true;
    if (next.size === 0) {
      const details = `${ETCD_LB_POLICY}: no endpoint with a weight > 0. Resolution note: ${resolutionNote}`;
      this.#publish(
        connectivityState.TRANSIENT_FAILURE,
        new experimental.UnavailablePicker({ details }),
        details,
      );
      return true;
    }
    this.#update();
    return true;
  }

  exitIdle(): void {
    for (const m of this.#members.values()) m.leaf.exitIdle();
  }

  resetBackoff(): void {
    // Each leaf keeps its own backoff; nothing here.
  }

  destroy(): void {
    for (const m of this.#members.values()) this.#drop(m);
    this.#members = new Map();
  }

  getTypeName(): string {
    return ETCD_LB_POLICY;
  }

  #drop(member: Member): void {
    member.gone = true;
    member.leaf.destroy();
    // It comes back (same key, restarted) as a new instance would: no latency record.
    this.#picker?.forget(member.key);
    this.#warmUp?.forget(member.key);
  }

  /** Publishes a picker for the members' states now (round_robin's rule) and keeps every leaf connected. */
  #update(): void {
    if (this.#paused || !this.#picker) return;
    const ready: Member[] = [];
    let connecting = false;
    let failing = false;
    for (const m of this.#members.values()) {
      const state = m.leaf.getConnectivityState();
      if (state === connectivityState.READY) ready.push(m);
      else if (state === connectivityState.CONNECTING) connecting = true;
      else if (state === connectivityState.TRANSIENT_FAILURE) failing = true;
    }
    if (ready.length > 0) {
      this.#publish(
        connectivityState.READY,
        new EtcdPicker(
          ready,
          this.#picker,
          this.#config?.policy === "ring-hash"
            ? ringHashSettings(this.#config.options.ringHash).header
            : undefined,
          { locality: this.#config?.locality, warmUp: this.#warmUp },
        ),
        null,
      );
    } else if (connecting) {
      this.#publish(connectivityState.CONNECTING, new experimental.QueuePicker(this), null);
    } else if (failing) {
      // "No connection established" marks the calls' UNAVAILABLE as never sent (status-error.ts).
      const details = `${ETCD_LB_POLICY}: No connection established. Last error: ${this.#lastError}`;
      this.#publish(
        connectivityState.TRANSIENT_FAILURE,
        new experimental.UnavailablePicker({ details }),
        details,
      );
    } else {
      this.#publish(connectivityState.IDLE, new experimental.QueuePicker(this), null);
    }
    for (const m of this.#members.values()) {
      if (m.leaf.getConnectivityState() === connectivityState.IDLE) m.leaf.exitIdle();
    }
  }

  #publish(state: connectivityState, picker: experimental.Picker, errorMessage: string | null): void {
    this.#state = state;
    this.#helper.updateState(state, picker, errorMessage);
  }
}

let registered = false;

/**
 * Registers etcd-ts' load-balancing policy with grpc-js (process-wide, once; `registerEtcdResolver` calls
 * it), under the name `etcd_ts`. A channel selects it in its service config:
 * `{ "loadBalancingConfig": [{ "etcd_ts": { "policy": "p2c-ewma" } }] }`. It picks among the channel's
 * connected endpoints with the balanced Connect transport's policies (`round-robin`, `p2c`, `p2c-ewma`,
 * `ring-hash`), narrowed by `locality` and ramped by `slowStart` when the config asks, reading each
 * endpoint's weight, zone and region from the etcd resolver, and feeds each call's latency and outcome to
 * the policy. A config it refuses (an unknown policy, a bad option) makes grpc-js skip the entry.
 *
 * @example
 * ```ts
 * registerEtcdLoadBalancer();
 * const client = new grpc.Client("etcd:///greeter", grpc.credentials.createInsecure(), {
 *   "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ etcd_ts: { policy: "p2c-ewma" } }] }),
 * });
 * ```
 */
export function registerEtcdLoadBalancer(): void {
  if (registered) return;
  registered = true;
  experimental.registerLoadBalancerType(ETCD_LB_POLICY, EtcdLoadBalancer, EtcdLoadBalancingConfig);
}

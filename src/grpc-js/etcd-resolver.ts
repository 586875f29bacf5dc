import { type ChannelOptions, experimental, type ServiceConfig, status } from "@grpc/grpc-js";
import { checkOptionsObject, InvalidArgumentError } from "../client/core/index.js";
import type { Etcd } from "../client/index.js";
import { checkPort } from "../client/port.js";
import type { InstanceCodec } from "../discovery/codec.js";
import { type Discovery, discover } from "../discovery/discovery.js";
import { goEndpointsCodec } from "../discovery/go-endpoints-codec.js";
import type { ServiceInstance } from "../discovery/instance.js";
import type { BalancePolicy } from "../discovery/pick-policy.js";
import { checkPolicy } from "../discovery/picker.js";
import { checkServiceName } from "../discovery/service-name.js";
import { addressKey, ENDPOINT_INSTANCES_ATTRIBUTE, type EndpointInstance } from "./endpoint-instances.js";
import { ETCD_LB_POLICY, registerEtcdLoadBalancer } from "./etcd-load-balancer.js";

/** Options of {@link registerEtcdResolver}. */
export interface EtcdResolverOptions {
  /** URI scheme the resolver answers: targets look like `<scheme>:///<service>`. Default `"etcd"`. */
  scheme?: string | undefined;
  /** Key/value layout. Default `goEndpointsCodec()` (etcd's Go `naming/endpoints`). */
  codec?: InstanceCodec | undefined;
  /** Only instances it accepts are given to grpc-js (draining ones never are). Default: all. */
  filter?: ((instance: ServiceInstance) => boolean) | undefined;
  /**
   * Load-balancing policy the resolver asks for in its service config: grpc-js' own `round_robin` or
   * `pick_first`, or one of etcd-ts' (`"round-robin"`, `"p2c"`, `"p2c-ewma"`: the `etcd_ts` policy with
   * its default options). Default: none, so the channel's `grpc.service_config` option (or grpc-js'
   * default, `pick_first`) decides.
   */
  policy?: "round_robin" | "pick_first" | BalancePolicy | undefined;
}

/** The service config that asks for `policy`, or null for none. */
function policyConfig(policy: EtcdResolverOptions["policy"]): ServiceConfig | null {
  if (policy === undefined) return null;
  if (policy === "round_robin" || policy === "pick_first")
    return { loadBalancingConfig: [{ [policy]: {} }], methodConfig: [] };
  checkPolicy(policy);
  return { loadBalancingConfig: [{ [ETCD_LB_POLICY]: { policy } }], methodConfig: [] };
}

/**
 * Registers a grpc-js resolver for `etcd:///<service>` targets (through `grpc.experimental.registerResolver`,
 * which is process-wide in grpc-js): each channel gets a live {@link Discovery} of the service on `etcd`, and
 * its non-draining instances feed the channel's policy: grpc-js' own `round_robin` / `pick_first`, or
 * etcd-ts' `etcd_ts` (registered here too, see {@link registerEtcdLoadBalancer}), which reads each
 * instance's weight from the endpoints' attributes. When no instance is
 * left, the channel drops its connections and calls fail at once with UNAVAILABLE (for that time the
 * resolver asks for `round_robin`, without method config); the next instance restores the policy.
 *
 * @example
 * ```ts
 * registerEtcdResolver(etcd, { policy: "round_robin" });
 * const client = new grpc.Client("etcd:///greeter", grpc.credentials.createInsecure());
 * ```
 */
export function registerEtcdResolver(etcd: Etcd, options: EtcdResolverOptions = {}): void {
  // Checked here: a resolver registered with no client would fail only when a channel resolves a name.
  checkPort(etcd, "etcd");
  checkOptionsObject(options);
  const scheme = options.scheme ?? "etcd";
  const serviceConfig = policyConfig(options.policy);
  registerEtcdLoadBalancer();
  // Reported with an empty endpoint list. grpc-js (1.14) keeps using its connections when a resolver
  // reports an error, and its pick_first keeps its current pick on an empty list: calls would go on
  // reaching the instance that just left. round_robin drops every subchannel on an empty list and fails
  // calls with UNAVAILABLE at once; a policy change also makes grpc-js discard the previous policy with
  // its connections. The next non-empty list brings the chosen policy (or the channel's own) back.
  const noInstanceConfig = experimental.statusOrFromValue({
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: [],
  });

  class EtcdResolver implements experimental.Resolver {
    readonly #service: string;
    /** What the discovery reads: the service name and the codec (with the target's path as keyPrefix). */
    readonly #source: { service: string; codec: InstanceCodec | undefined };
    readonly #listener: experimental.ResolverListener;
    #discovery: Discovery | undefined;
    #scheduled = false;
    /** Why etcd could not be read, while no view was ever read (cleared once one is). */
    #unreachable: Error | undefined;

    constructor(
      target: experimental.GrpcUri,
      listener: experimental.ResolverListener,
      _options: ChannelOptions,
    ) {
      this.#service = serviceOf(target);
      this.#listener = listener;
      // A Go-style target with a path (`etcd:///foo/bar/greeter`): the path is the default codec's
      // keyPrefix, so the keys read are Go's (`foo/bar/greeter/<addr>`); a service name has no `/`.
      const cut = this.#service.lastIndexOf("/");
      this.#source =
        cut < 0 || options.codec
          ? { service: this.#service, codec: options.codec }
          : {
              service: this.#service.slice(cut + 1),
              codec: goEndpointsCodec({ keyPrefix: this.#service.slice(0, cut + 1) }),
            };
      // Refused here, when the channel is made, rather than inside grpc-js' resolution.
      checkServiceName(this.#source.service, "target");
    }

    /** Starts the discovery on first use; later calls report the current view again. */
    updateResolution(): void {
      if (!this.#discovery) {
        const { service, codec } = this.#source;
        const discovery = discover(etcd, service, {
          ...(codec ? { codec } : {}),
          ...(options.filter ? { filter: options.filter } : {}),
        });
        this.#discovery = discovery;
        discovery.on("changes", () => this.#schedule());
        // Without a first view, an unreachable etcd is reported at once, so calls fail fast instead
        // of waiting for their deadline; once a view exists, a stale one serves better than none.
        let viewRead = false;
        discovery.on("unavailable", (error) => {
          if (viewRead) return;
          this.#unreachable = error;
          this.#schedule();
        });
        discovery.ready.then(
          () => {
            viewRead = true;
            this.#unreachable = undefined;
            this.#schedule();
          },
          () => {},
        );
        return;
      }
      this.#schedule();
    }

    destroy(): void {
      const discovery = this.#discovery;
      this.#discovery = undefined;
      void discovery?.close();
    }

    static getDefaultAuthority(target: experimental.GrpcUri): string {
      return serviceOf(target);
    }

    /** grpc-js forbids listener calls from inside updateResolution: report on a later tick, once per burst. */
    #schedule(): void {
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        const discovery = this.#discovery;
        if (!discovery) return;
        const endpoints: experimental.Endpoint[] = [];
        // Each endpoint's instance (weight, zone, metadata), for the etcd_ts policy.
        const instances = new Map<string, EndpointInstance>();
        for (const [key, instance] of discovery.entries()) {
          if (instance.draining) continue;
          const endpoint = toEndpoint(instance.addr);
          if (!endpoint) continue;
          endpoints.push(endpoint);
          instances.set(addressKey(endpoint.addresses[0]!), { key, instance });
        }
        if (endpoints.length === 0 && this.#unreachable) {
          // No view was ever read, so grpc-js has no connection to keep: the error fails calls at once.
          const details = `cannot read the instances of ${this.#service} from etcd: ${this.#unreachable.message}`;
          this.#listener(
            experimental.statusOrFromError({ code: status.UNAVAILABLE, details }),
            {},
            serviceConfig ? experimental.statusOrFromValue(serviceConfig) : null,
            "",
          );
          return;
        }
        if (endpoints.length === 0) {
          // The note ends up in the calls' UNAVAILABLE details.
          this.#listener(
            experimental.statusOrFromValue([]),
            {},
            noInstanceConfig,
            `no live instance of ${this.#service} in etcd`,
          );
          return;
        }
        this.#listener(
          experimental.statusOrFromValue(endpoints),
          { [ENDPOINT_INSTANCES_ATTRIBUTE]: instances },
          serviceConfig ? experimental.statusOrFromValue(serviceConfig) : null,
          "",
        );
      });
    }
  }

  experimental.registerResolver(scheme, EtcdResolver);
}

/** `etcd:///greeter` → `greeter` (the path without its leading slash). */
function serviceOf(target: experimental.GrpcUri): string {
  const service = target.path.replace(/^\/+/, "");
  if (service === "")
    throw new InvalidArgumentError("target", `has no service name: ${experimental.uriToString(target)}`);
  return service;
}

/** `host:port` or `[v6]:port` → a grpc-js endpoint; undefined (left out) when unparsable. */
function toEndpoint(addr: string): experimental.Endpoint | undefined {
  const hostPort = experimental.splitHostPort(addr);
  if (!hostPort || hostPort.port === undefined) return undefined;
  return { addresses: [{ host: hostPort.host, port: hostPort.port }] };
}

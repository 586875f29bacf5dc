import type { ServiceInstance } from "./instance.js";

/** The outcome of decoding one etcd entry: an instance, or the reason it was skipped. */
export type DecodeResult =
  | { readonly kind: "instance"; readonly instance: ServiceInstance }
  | { readonly kind: "deleted" }
  | { readonly kind: "malformed"; readonly reason: string };

/**
 * Maps instances to etcd keys and values and back. The default is {@link goEndpointsCodec}, the layout of
 * etcd's Go `naming/endpoints`; tools built on etcd-ts plug in others (e.g. kratos' `/microservices/<name>/<id>`
 * with a JSON `ServiceInstance{id,name,version,metadata,endpoints}`, or go-zero's `<key>/<lease id>` with the
 * bare address as value).
 */
export interface InstanceCodec {
  /** The key prefix under which every instance of `service` lives (ends with `/`). */
  servicePrefix(service: string): string;
  /** The key of one instance. */
  key(instance: ServiceInstance): string;
  /** The value bytes of one instance. */
  encode(instance: ServiceInstance): Uint8Array;
  /** Reads an entry found under `servicePrefix(service)`. Never throws: bad entries give `malformed`. */
  decode(service: string, key: string, value: Uint8Array): DecodeResult;
}

import { checkName, InvalidArgumentError } from "../client/core/index.js";

/**
 * Checks a service name given to `register()` or `discover()`: a non-empty string without `/`.
 *
 * Why no `/`: keys are `<keyPrefix><service>/<addr>`, and a service is read as every key under
 * `<keyPrefix><service>/` (as Go's `naming/endpoints` resolver reads it). A service `a/b` would then be
 * listed among the instances of `a`. A hierarchy of names belongs in the codec's `keyPrefix`
 * (`goEndpointsCodec({ keyPrefix: "a/" })` with service `b` writes the same keys as Go's target `a/b`),
 * or in a namespace view (`etcd.namespace("a/")`).
 */
export function checkServiceName(service: string, field = "service"): string {
  checkName(service, field);
  if (service.includes("/"))
    throw new InvalidArgumentError(
      field,
      `must not contain "/" (got ${JSON.stringify(service)}): the instances of a service "a/b" would be listed ` +
        `under "a". Put the path in the codec's keyPrefix: goEndpointsCodec({ keyPrefix: "a/" }) with service "b" ` +
        `writes the keys Go's target "a/b" reads`,
    );
  return service;
}

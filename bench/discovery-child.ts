/**
 * Child process of `bench/discovery.ts`, so that what it does is not counted in the parent's CPU, or can
 * be SIGKILLed without the parent dying.
 * - `register <endpoint> <service> <ttl> <count>`: registers `count` instances under their own leases of
 *   `ttl` seconds, prints "ready" and keeps them alive until killed.
 * - `update <endpoint> <service> <instances> <updates> [round]`: rewrites `updates` of the `instances`
 *   Go-layout entries written by the parent (plain puts, 64 in flight; `round` makes each round's values
 *   new), then prints "done" and exits.
 */

import { goEndpointsCodec, register, toInstance } from "../src/discovery/index.js";
import { Etcd } from "../src/index.js";
import { fakeAddr, inBatches } from "./discovery-support.js";

const [mode, endpoint, service, a, b, c] = process.argv.slice(2);
const etcd = new Etcd({ endpoints: [endpoint!] });

if (mode === "register") {
  const ttl = Number(a);
  const count = Number(b);
  await inBatches(count, 64, (i) => register(etcd, { service, addr: fakeAddr(i), ttl }));
  console.log("ready");
  // The registrations' lease keepers keep the process alive until SIGKILL.
} else if (mode === "update") {
  const instances = Number(a);
  const updates = Number(b);
  const round = Number(c ?? 0);
  const codec = goEndpointsCodec();
  await inBatches(updates, 64, async (i) => {
    const instance = toInstance({
      service: service!,
      addr: fakeAddr(i % instances),
      metadata: { u: i, round },
    });
    await etcd.put(codec.key(instance), codec.encode(instance));
  });
  console.log("done");
  await etcd.close();
} else {
  console.error(`unknown mode ${mode}`);
  process.exitCode = 2;
  await etcd.close();
}

/**
 * A Greeter in its own process (grpc-js), registered in etcd, with the graceful SIGTERM / SIGINT handling
 * a deployment wants: drain, wait for calls in flight, deregister, close the server, exit 0.
 *
 * Run: `npx tsx examples/greeter/server-process.ts <etcd endpoint> <port> [ttl seconds]`.
 * Prints `ready <addr>` once registered. With `--exit-with-stdin` it exits when its stdin closes, so a
 * parent that dies (even by SIGKILL) does not leave it running; the demo passes it.
 */

import { register } from "../../src/discovery/index.js";
import { Etcd } from "../../src/index.js";
import { CHILD_IMPL } from "./greeter-server.js";
import { startGrpcJsGreeter } from "./grpc-js-server.js";
import { stopGracefully } from "./stop-gracefully.js";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const exitWithStdin = process.argv.includes("--exit-with-stdin");
const [endpoint, portArg, ttlArg] = args;
if (!endpoint || !portArg) {
  console.error("usage: server-process.ts <etcd endpoint> <port> [ttl seconds] [--exit-with-stdin]");
  process.exit(2);
}

const etcd = new Etcd({ endpoints: [endpoint] });
const server = await startGrpcJsGreeter(Number(portArg), CHILD_IMPL);
const registration = await register(etcd, {
  service: "greeter",
  addr: server.addr,
  ttl: ttlArg ? Number(ttlArg) : 10,
  metadata: { impl: CHILD_IMPL, pid: process.pid },
});
console.log(`ready ${server.addr}`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping gracefully`);
  process.stdin.destroy();
  // If anything hangs, still exit (unref'd: it does not keep a clean shutdown waiting).
  setTimeout(() => process.exit(1), 10_000).unref();
  await stopGracefully(registration, server, console.log);
  await etcd.close();
  console.log("exiting with code 0");
};
process.once("SIGTERM", () => void stop("SIGTERM"));
process.once("SIGINT", () => void stop("SIGINT"));

if (exitWithStdin) {
  process.stdin.on("end", () => process.exit(1));
  process.stdin.resume();
}

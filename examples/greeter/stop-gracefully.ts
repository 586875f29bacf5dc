import type { Registration } from "../../src/discovery/index.js";
import type { GreeterServer } from "./greeter-server.js";

/** How long a drained instance keeps serving before it waits for its last calls (see below). */
const DRAIN_GRACE_MS = 300;
/** Upper bound on waiting for calls in flight. */
const IN_FLIGHT_LIMIT_MS = 5000;

/**
 * The graceful stop of a registered server, in the order that loses no call: `drain()` (clients stop
 * picking it), a short grace for calls a client picked just before it saw the flag, wait for the calls
 * in flight, `deregister()` (key gone at once), then close the server.
 */
export async function stopGracefully(
  registration: Registration,
  server: GreeterServer,
  log: (line: string) => void,
): Promise<void> {
  const name = `${server.impl}@${server.addr}`;
  await registration.drain();
  log(`${name}: drained (clients stop sending new calls)`);
  await new Promise((resolve) => setTimeout(resolve, DRAIN_GRACE_MS));
  const deadline = Date.now() + IN_FLIGHT_LIMIT_MS;
  while (server.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await registration.deregister();
  log(`${name}: deregistered (key deleted, lease revoked)`);
  await server.shutdown();
  log(`${name}: server closed`);
}

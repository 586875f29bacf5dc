import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { Code } from "@connectrpc/connect";
import { UnavailableError } from "../client/core/index.js";

/** Lowest port we hand out: above the well-known and most registered service ports. */
const LOWEST_PORT = 20_000;
/** How many random candidates to probe before asking the kernel for any port. */
const ATTEMPTS = 50;
/** How many ports handed out last this process never hands out again (a cluster's ports are picked before any is bound). */
const REMEMBERED = 2_048;

/** Ports handed out (or being probed) by this process, oldest first, at most {@link REMEMBERED} kept. */
const handedOut = new Set<number>();

/** Takes `port` for this process at once (before any await: concurrent calls never draw it twice). */
function reserve(port: number): boolean {
  if (handedOut.has(port)) return false;
  handedOut.add(port);
  if (handedOut.size > REMEMBERED) handedOut.delete(handedOut.values().next().value!);
  return true;
}

/**
 * Finds a free TCP port on 127.0.0.1 for a server a test starts (etcd members, proxies).
 *
 * Ports are drawn at random *below* the kernel's ephemeral range: the kernel gives ephemeral ports to
 * every outgoing connection, so a port from that range that was free a moment ago can be taken by a
 * client socket before etcd binds it ("address already in use"). Random draws also keep parallel test
 * workers apart. The port is bound once to prove it free, then released, so a race with another
 * process remains possible but rare. Within this process a port is not handed out again until 2,048
 * others were: a cluster picks all its members' ports before any member binds them, and two
 * random draws of the same free port made two members share a peer URL ("has duplicate url").
 * Falls back to a kernel-chosen port if no candidate is free.
 */
export async function freePort(): Promise<number> {
  const [low, high] = candidateRange();
  for (let i = 0; i < ATTEMPTS && high > low; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (!reserve(port)) continue;
    if ((await tryBind(port)) !== undefined) return port;
    handedOut.delete(port);
  }
  for (let i = 0; i < ATTEMPTS; i++) {
    const any = await tryBind(0);
    if (any === undefined) break;
    if (reserve(any)) return any;
  }
  throw new UnavailableError("could not find a free port on 127.0.0.1", { code: Code.Unavailable });
}

/** [low, high) to draw from: from LOWEST_PORT up to the start of the ephemeral range (Linux), else 30000. */
function candidateRange(): [number, number] {
  let ephemeralStart = 30_000;
  try {
    const [start] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const n = Number(start);
    if (Number.isInteger(n) && n > LOWEST_PORT + 1_000) ephemeralStart = n;
  } catch {
    // Not Linux: keep the default.
  }
  return [LOWEST_PORT, ephemeralStart];
}

/** Binds `port` (0: any) on 127.0.0.1 and releases it; resolves the port, or undefined when taken. */
function tryBind(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(undefined));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      server.close(() => resolve(address && typeof address === "object" ? address.port : undefined));
    });
  });
}

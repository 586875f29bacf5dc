import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { expect } from "vitest";
import { createDefaultTransport } from "../../src/client/call/default-transport.js";
import { Auth, KV } from "../../src/gen/etcdserverpb/rpc_pb.js";

// Tokens as a program outside the client under test sees them: minted by its own Authenticate, checked by
// its own calls, over the default transport and no etcd-ts client.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rawTransport(endpoint: string) {
  return createDefaultTransport(
    { url: endpoint, secure: false, tls: undefined },
    { keepaliveIntervalMs: 10_000, keepaliveTimeoutMs: 5_000, connectTimeoutMs: 5_000 },
  );
}

/** A token for `username` from `endpoint`'s `Authenticate` (simple or JWT, as the server is set up). */
export async function mintToken(endpoint: string, username: string, password: string): Promise<string> {
  const raw = rawTransport(endpoint);
  try {
    return (await createClient(Auth, raw).authenticate({ name: username, password })).token;
  } finally {
    await raw.close();
  }
}

/**
 * Asks `endpoint` with `token` (reading `key`): true when etcd refuses it as invalid, false when it
 * accepts it (which slides a simple token's TTL).
 */
export async function tokenRefused(endpoint: string, token: string, key = "pub/hello"): Promise<boolean> {
  const raw = rawTransport(endpoint);
  try {
    const err = await createClient(KV, raw)
      .range({ key: new TextEncoder().encode(key) }, { headers: { token } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    if (err === undefined) return false;
    expect(err).toBeInstanceOf(ConnectError);
    expect({ code: (err as ConnectError).code, message: (err as ConnectError).rawMessage }).toEqual({
      code: Code.Unauthenticated,
      message: "etcdserver: invalid auth token",
    });
    return true;
  } finally {
    await raw.close();
  }
}

/**
 * Waits until every member at `endpoints` has expired the simple `token` (`--auth-token-ttl=ttlSeconds`).
 * etcd 3.4 drops a simple token once a 1 s sweep finds it unused for the TTL, so each look comes TTL +
 * 1.5 s after the last use; a look that finds it still valid has used it (slid it) on that member, so the
 * wait starts over there.
 */
export async function waitForTokenExpiry(
  token: string,
  endpoints: string[],
  ttlSeconds: number,
  key?: string,
): Promise<void> {
  let valid = endpoints;
  for (let round = 1; valid.length > 0; round++) {
    if (round > 5) throw new Error(`the token never expired on ${valid.join(", ")}`);
    await sleep((ttlSeconds + 1.5) * 1000);
    const refused = await Promise.all(valid.map((e) => tokenRefused(e, token, key)));
    valid = valid.filter((_, i) => !refused[i]);
  }
}

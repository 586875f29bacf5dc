/**
 * The Worker of test/web/workerd.test.ts (module syntax), bundled by esbuild from etcd-ts/web's source
 * with workerd's conditions and run by workerd with no Node compatibility flag. `env.ETCD` is etcd's
 * client URL, `env.ETCD_USER` and `env.ETCD_PASSWORD` its user's credentials.
 *
 * A Worker's I/O belongs to the request that started it: a client made while serving one request cannot
 * be used from another. So each request makes its own `Etcd` and closes it before its response ends, and
 * the long-lived work (a watch, a registration kept alive) lives inside one streamed response: `/run`.
 */
import { Etcd, register } from "../../../src/web/index.js";
import { CONFIG_KEY, SERVICE, type WorkerLine } from "./contract.js";

/** The Worker's bindings (the credentials are secrets in a deployed Worker). */
export interface WorkerEnv {
  ETCD: string;
  ETCD_USER: string;
  ETCD_PASSWORD: string;
}

/** A client for one request, as the Worker's etcd user. */
function client(env: WorkerEnv): Etcd {
  return new Etcd({ endpoints: [env.ETCD], auth: { username: env.ETCD_USER, password: env.ETCD_PASSWORD } });
}

/**
 * `/run?addr=<addr>`: reads the config, watches it, registers itself as `addr` of {@link SERVICE} (a
 * 3 s lease kept alive by the Worker), and streams a line for each step: `config`, `registered`, each
 * change (`changed`), until the config says `stop`: then it deregisters, closes the client, says
 * `closed` and ends the response.
 */
async function run(env: WorkerEnv, addr: string, say: (line: WorkerLine) => Promise<void>): Promise<void> {
  const etcd = client(env);
  try {
    const config = await etcd.get(CONFIG_KEY);
    await say({ type: "config", value: config?.text() ?? null, revision: config?.modRevision.toString() });
    const watch = etcd.watch(CONFIG_KEY, { startRevision: (config?.modRevision ?? 0n) + 1n });
    await watch.created;
    const registration = await register(etcd, { service: SERVICE, addr, ttl: 3 });
    await say({ type: "registered", key: registration.key, leaseId: registration.leaseId.toString() });
    let last: string | undefined;
    for await (const batch of watch) {
      for (const event of batch.events) {
        last = event.type === "put" ? event.kv.text() : undefined;
        await say({ type: "changed", value: last ?? null, revision: event.kv.modRevision.toString() });
      }
      if (last === "stop") break;
    }
    watch.close();
    await registration.deregister();
    await say({ type: "deregistered" });
  } finally {
    await etcd.close();
  }
  await say({ type: "closed" });
}

const encoder = new TextEncoder();

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/config") {
      // A client for this request alone.
      const etcd = client(env);
      try {
        return Response.json({ value: (await etcd.get(CONFIG_KEY))?.text() ?? null });
      } finally {
        await etcd.close();
      }
    }
    if (url.pathname === "/run") {
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const writer = writable.getWriter();
      const say = (line: WorkerLine) => writer.write(encoder.encode(`${JSON.stringify(line)}\n`));
      // The response streams while `run` goes on; its end (or its error, as a line) ends the response.
      void run(env, url.searchParams.get("addr") ?? "worker", say)
        .catch((err: unknown) =>
          say({
            type: "error",
            message: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err),
          }),
        )
        .finally(() => writer.close());
      return new Response(readable, { headers: { "content-type": "application/x-ndjson" } });
    }
    return new Response("not found", { status: 404 });
  },
};

/**
 * The Worker of test/web/workerd.test.ts (module syntax), bundled by esbuild with workerd's conditions and
 * run by workerd with no Node compatibility flag. `env.ETCD` is the etcd gateway's URL.
 */

/** The Worker's bindings. */
export interface WorkerEnv {
  ETCD: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (s: string) => btoa(String.fromCharCode(...enc.encode(s)));
const unb64 = (s: string) => dec.decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/raw") {
      // One raw gateway call: proves the Worker may reach etcd on loopback.
      const res = await fetch(`${env.ETCD}/v3/kv/range`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ key: b64(url.searchParams.get("key") ?? "") }),
      });
      const { kvs } = (await res.json()) as { kvs?: { value?: string }[] };
      return Response.json({ value: kvs?.[0]?.value === undefined ? null : unb64(kvs[0].value) });
    }
    return new Response("not found", { status: 404 });
  },
};

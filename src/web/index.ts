/**
 * `etcd-ts/web`: the same `Etcd` client for browsers and edge runtimes (Cloudflare Workers, Vercel's edge
 * runtime, Deno Deploy), and for Node, Bun and Deno when they should use it, over etcd's JSON gateway
 * with `fetch`. Nothing on this entry's path imports a `node:` module. It offers what `etcd-ts` offers
 * except the HTTP/2 transport, plus discovery's read side and `register()` (docs/web.md, "Using
 * etcd-ts/web").
 * @packageDocumentation
 */

export * from "../client/portable.js";
export { Etcd } from "../client/web-etcd.js";
export * from "../discovery/portable.js";

import { describe, expect, it } from "vitest";
import type { InstanceChange } from "./discovery.js";
import { toInstance } from "./instance.js";
import { changesForProtocol } from "./protocol-view.js";

const both = toInstance({ service: "s", addr: "g:1", endpoints: { http: "h:1" } });
const moved = toInstance({ service: "s", addr: "g:1", endpoints: { http: "h:2" } });
const grpcOnly = toInstance({ service: "s", addr: "g:1" });

/** Applies changes to a map of key → address, as the pool does, and returns what it holds. */
function run(batches: InstanceChange[][], protocol: string) {
  const view = new Map<string, string>();
  const seen: string[] = [];
  for (const batch of batches) {
    for (const c of changesForProtocol(batch, protocol, (k) => view.get(k))) {
      seen.push(`${c.type} ${c.key}`);
      if (c.type === "removed") view.delete(c.key);
      else view.set(c.key, addr(c.instance, protocol));
    }
  }
  return { view: Object.fromEntries(view), seen };
}
const addr = (i: { addr: string; endpoints?: Readonly<Record<string, string>> | undefined }, p: string) =>
  p === "grpc" ? i.addr : i.endpoints![p]!;

describe("changesForProtocol", () => {
  it("leaves out instances without the protocol's endpoint, and removes one that loses it", () => {
    const r = run(
      [
        [
          { type: "added", key: "a", instance: both },
          { type: "added", key: "b", instance: grpcOnly },
        ],
        [{ type: "updated", key: "a", instance: grpcOnly, previous: both }],
        [{ type: "removed", key: "b", instance: grpcOnly }],
      ],
      "http",
    );
    expect(r.seen).toEqual(["added a", "removed a"]);
    expect(r.view).toEqual({});
  });

  it("adds an instance that gains the endpoint, and replaces one whose endpoint moves", () => {
    const r = run(
      [
        [{ type: "added", key: "a", instance: grpcOnly }],
        [{ type: "updated", key: "a", instance: both, previous: grpcOnly }],
        [{ type: "updated", key: "a", instance: moved, previous: both }],
        [{ type: "updated", key: "a", instance: { ...moved, weight: 2 }, previous: moved }],
      ],
      "http",
    );
    expect(r.seen).toEqual(["added a", "removed a", "added a", "updated a"]);
    expect(r.view).toEqual({ a: "h:2" });
  });

  it("compares with the pool, not with `previous`: an `added` for a known key with a new address replaces it", () => {
    const r = run(
      [[{ type: "added", key: "a", instance: both }], [{ type: "added", key: "a", instance: moved }]],
      "http",
    );
    expect(r.seen).toEqual(["added a", "removed a", "added a"]);
  });

  it("follows a key changed twice in one batch", () => {
    const r = run(
      [
        [
          { type: "added", key: "a", instance: both },
          { type: "updated", key: "a", instance: grpcOnly, previous: both },
          { type: "updated", key: "a", instance: moved, previous: grpcOnly },
        ],
      ],
      "http",
    );
    expect(r.seen).toEqual(["added a", "removed a", "added a"]);
    expect(r.view).toEqual({ a: "h:2" });
  });

  it("grpc: every instance has its endpoint (addr)", () => {
    const r = run(
      [
        [
          { type: "added", key: "a", instance: both },
          { type: "added", key: "b", instance: grpcOnly },
        ],
      ],
      "grpc",
    );
    expect(r.view).toEqual({ a: "g:1", b: "g:1" });
  });
});

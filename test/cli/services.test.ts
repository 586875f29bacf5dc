import { afterEach, describe, expect, it } from "vitest";
import { goEndpointsCodec, type Registration, register } from "../../src/discovery/index.js";
import { cliJson, cliOk, stderrOf, useEtcd } from "./support.js";

const bed = useEtcd();
const registrations: Registration[] = [];

afterEach(async () => {
  await Promise.all(registrations.splice(0).map((r) => r.deregister()));
});

async function registered(options: Parameters<typeof register>[1]): Promise<Registration> {
  const r = await register(bed.etcd, options);
  registrations.push(r);
  return r;
}

describe("etcd-ts services", { timeout: 120_000 }, () => {
  it("list: a table of decoded instances (etcdts fields, draining, weight), an entry written by Go, and --json", async () => {
    await registered({
      service: "greeter",
      addr: "127.0.0.1:50051",
      metadata: { zone: "a" },
      weight: 3,
      version: "v2",
    });
    const draining = await registered({ service: "greeter", addr: "127.0.0.1:50052", zone: "eu-1" });
    await draining.drain();
    // As Go's naming/endpoints writes it: no etcdts field, so the defaults.
    await bed.etcd.put(
      "greeter/127.0.0.1:50053",
      JSON.stringify({ Op: 0, Addr: "127.0.0.1:50053", Metadata: "go" }),
    );

    const table = (await cliOk([...bed.ep, "services", "list", "greeter"])).trimEnd().split("\n");
    // Split on the column gaps; an empty cell then vanishes (the last one, METADATA, is never empty).
    expect(table.map((line) => line.split(/ {2,}/))).toEqual(
      [
        ["ADDR", "WEIGHT", "DRAINING", "VERSION", "ZONE", "METADATA"],
        ["127.0.0.1:50051", "3", "false", "v2", "", '{"zone":"a"}'],
        ["127.0.0.1:50052", "1", "true", "", "eu-1", "null"],
        ["127.0.0.1:50053", "1", "false", "", "", '"go"'],
      ].map((row) => row.filter((cell, i) => cell !== "" || i === row.length - 1)),
    );
    const json = await cliJson([...bed.ep, "services", "list", "greeter"]);
    expect(json).toEqual([
      {
        key: "greeter/127.0.0.1:50051",
        service: "greeter",
        addr: "127.0.0.1:50051",
        metadata: { zone: "a" },
        weight: 3,
        version: "v2",
        draining: false,
      },
      {
        key: "greeter/127.0.0.1:50052",
        service: "greeter",
        addr: "127.0.0.1:50052",
        metadata: null,
        weight: 1,
        zone: "eu-1",
        draining: true,
      },
      {
        key: "greeter/127.0.0.1:50053",
        service: "greeter",
        addr: "127.0.0.1:50053",
        metadata: "go",
        weight: 1,
        draining: false,
      },
    ]);
    await bed.etcd.delete("greeter/127.0.0.1:50053");
  });

  it("watch greeter: shows an instance registered, drained, then deregistered, live; SIGINT ends it with 0", async () => {
    const c = bed.start(["services", "watch", "greeter"]);
    // Nothing registered yet: wait until the watch is up by registering a first instance and seeing it.
    const first = await registered({ service: "greeter", addr: "10.0.0.1:80" });
    await c.waitForLine("the first instance", (line) => line.startsWith("added 10.0.0.1:80 "));
    const second = await registered({
      service: "greeter",
      addr: "10.0.0.2:80",
      metadata: { v: 1 },
      weight: 2,
    });
    await c.waitForLine("the second instance", (line) => line.startsWith("added 10.0.0.2:80 "));
    await second.drain();
    await c.waitForLine("the drain", (line) => line.startsWith("updated 10.0.0.2:80 "));
    await second.deregister();
    await c.waitForLine("the deregistration", (line) => line === "removed 10.0.0.2:80");
    expect(c.lines).toEqual([
      "added 10.0.0.1:80 weight=1 draining=false metadata=null",
      'added 10.0.0.2:80 weight=2 draining=false metadata={"v":1}',
      'updated 10.0.0.2:80 weight=2 draining=true metadata={"v":1}',
      "removed 10.0.0.2:80",
    ]);
    await first.deregister();
    await c.waitForLine("the first's deregistration", (line) => line === "removed 10.0.0.1:80");
    c.signal("SIGINT");
    expect(await c.waitForExit("services watch to end after SIGINT")).toEqual({ code: 0, signal: null });
    expect(stderrOf(c)).toBe("");
  });

  it("watch --json --key-prefix: instances there at the start come first as added, then the changes", async () => {
    const codec = goEndpointsCodec({ keyPrefix: "services/" });
    await registered({ service: "greeter", addr: "10.1.0.1:80", codec });
    const c = bed.start(["services", "watch", "greeter", "--key-prefix", "services/", "--json"]);
    type Change = { type: string; revision: string; instance: { key: string; addr: string } };
    const parse = (line: string) => JSON.parse(line) as Change;
    await c.waitForLine("the instance there at the start", (line) => parse(line).type === "added");
    const late = await registered({ service: "greeter", addr: "10.1.0.2:80", codec });
    await late.deregister();
    await c.waitForLine("the late one to go", (line) => parse(line).type === "removed");
    const changes = c.lines.map(parse);
    expect(changes.map((ch) => [ch.type, ch.instance.key])).toEqual([
      ["added", "services/greeter/10.1.0.1:80"],
      ["added", "services/greeter/10.1.0.2:80"],
      ["removed", "services/greeter/10.1.0.2:80"],
    ]);
    const revisions = changes.map((ch) => BigInt(ch.revision));
    expect(revisions).toEqual([...revisions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    c.signal("SIGTERM");
    expect(await c.waitForExit("services watch to end after SIGTERM")).toEqual({ code: 0, signal: null });
  });
});

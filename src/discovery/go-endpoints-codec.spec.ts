import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../client/core/index.js";
import { EXTENSION_FIELD, goEndpointsCodec, goSafeMetadata } from "./go-endpoints-codec.js";
import { toInstance } from "./instance.js";

const codec = goEndpointsCodec();
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("goEndpointsCodec", () => {
  it("reads the bytes Go's endpoints manager writes (json.Marshal of internal.Update)", () => {
    // endpoints.Manager.AddEndpoint("greeter/127.0.0.1:50051", Endpoint{Addr: "127.0.0.1:50051"})
    const r = codec.decode(
      "greeter",
      "greeter/127.0.0.1:50051",
      bytes('{"Op":0,"Addr":"127.0.0.1:50051","Metadata":null}'),
    );
    expect(r).toEqual({
      kind: "instance",
      instance: { service: "greeter", addr: "127.0.0.1:50051", metadata: null, weight: 1, draining: false },
    });
  });

  it("accepts other writers' shapes: object metadata, lower-case names, no Op", () => {
    const a = codec.decode(
      "s",
      "s/a",
      bytes('{"Op":0,"Addr":"10.0.0.1:1","Metadata":{"zone":"a","w":[1,2]}}'),
    );
    expect(a.kind === "instance" && a.instance.metadata).toEqual({ zone: "a", w: [1, 2] });
    const b = codec.decode("s", "s/b", bytes('{"addr":"10.0.0.2:2","metadata":"v1"}'));
    expect(b.kind === "instance" && b.instance).toMatchObject({ addr: "10.0.0.2:2", metadata: "v1" });
  });

  it("treats Op 1 as a deletion and flags malformed values", () => {
    expect(codec.decode("s", "s/x", bytes('{"Op":1,"Addr":"x:1"}'))).toEqual({ kind: "deleted" });
    for (const bad of ["not json", "[]", "null", '{"Op":0}', '{"Op":0,"Addr":""}', '{"Op":7,"Addr":"x:1"}']) {
      const r = codec.decode("s", "s/x", bytes(bad));
      expect(r.kind, bad).toBe("malformed");
    }
    expect(codec.decode("s", "s/x", new Uint8Array([0xff, 0xfe])).kind).toBe("malformed");
  });

  it("writes Go's key and the fields Go decodes, with ours in an extension field Go ignores", () => {
    const instance = toInstance({
      service: "greeter",
      addr: "127.0.0.1:50051",
      metadata: { region: "eu", tags: ["a"] },
      weight: 3,
      version: "1.2.0",
      zone: "z1",
      region: "r1",
    });
    expect(goEndpointsCodec({ keyPrefix: "services/" }).key(instance)).toBe(
      "services/greeter/127.0.0.1:50051",
    );
    const value = JSON.parse(text(codec.encode(instance)));
    expect(value).toEqual({
      Op: 0,
      Addr: "127.0.0.1:50051",
      Metadata: '{"region":"eu","tags":["a"]}',
      [EXTENSION_FIELD]: {
        weight: 3,
        draining: false,
        version: "1.2.0",
        zone: "z1",
        region: "r1",
        metadata: { region: "eu", tags: ["a"] },
      },
    });
    // Go's decoder matches names case-insensitively: the extension must not alias Op, Addr or Metadata.
    expect(["op", "addr", "metadata"]).not.toContain(EXTENSION_FIELD.toLowerCase());
    const back = codec.decode("greeter", codec.key(instance), codec.encode(instance));
    expect(back).toEqual({ kind: "instance", instance });
  });

  it("always writes a Metadata Go can hash: null, string, number or boolean", () => {
    const samples: unknown[] = [
      undefined,
      null,
      "",
      "x",
      0,
      -1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      true,
      false,
      {},
      { a: 1 },
      { nested: { deep: [1, { x: null }] } },
      [],
      [1, "2"],
      { toJSON: () => "custom" },
    ];
    for (const metadata of samples) {
      const value = JSON.parse(text(codec.encode(toInstance({ service: "s", addr: "h:1", metadata }))));
      const m = value.Metadata;
      expect(m === null || ["string", "number", "boolean"].includes(typeof m), String(metadata)).toBe(true);
    }
    expect(goSafeMetadata({ a: 1 })).toBe('{"a":1}');
  });
});

describe("goEndpointsCodec: several endpoints per instance", () => {
  it("keeps Addr the gRPC endpoint and the others under etcdts.endpoints, Metadata untouched", () => {
    const instance = toInstance({
      service: "greeter",
      addr: "127.0.0.1:50051",
      metadata: "v1",
      endpoints: { http: "http://127.0.0.1:8080", "grpc-web": "http://127.0.0.1:8081" },
    });
    const value = JSON.parse(text(codec.encode(instance)));
    expect(value.Addr).toBe("127.0.0.1:50051");
    expect(value.Metadata).toBe("v1");
    expect(value[EXTENSION_FIELD].endpoints).toEqual({
      http: "http://127.0.0.1:8080",
      "grpc-web": "http://127.0.0.1:8081",
    });
    const back = codec.decode("greeter", codec.key(instance), codec.encode(instance));
    expect(back).toEqual({ kind: "instance", instance });
  });

  it("writes no endpoints field for an instance without any, and reads Go's values as having none", () => {
    const plain = toInstance({ service: "s", addr: "a:1" });
    expect(JSON.parse(text(codec.encode(plain)))[EXTENSION_FIELD]).not.toHaveProperty("endpoints");
    const go = codec.decode("s", "s/a:1", bytes('{"Op":0,"Addr":"a:1","Metadata":null}'));
    expect(go.kind === "instance" && "endpoints" in go.instance).toBe(false);
  });

  it("drops entries other writers got wrong: a grpc entry (Addr wins), bad names, non-string addresses", () => {
    const r = codec.decode(
      "s",
      "s/a:1",
      bytes(
        JSON.stringify({
          Op: 0,
          Addr: "a:1",
          [EXTENSION_FIELD]: { endpoints: { grpc: "b:2", HTTP: "x", http: "h:1", ws: 3, sse: "", "": "y" } },
        }),
      ),
    );
    expect(r.kind === "instance" && r.instance.endpoints).toEqual({ http: "h:1" });
    for (const endpoints of [[], "http", null, 1]) {
      const v = codec.decode(
        "s",
        "s/a:1",
        bytes(JSON.stringify({ Op: 0, Addr: "a:1", [EXTENSION_FIELD]: { endpoints } })),
      );
      expect(v.kind === "instance" && "endpoints" in v.instance, JSON.stringify(endpoints)).toBe(false);
    }
  });
});

describe("toInstance: endpoints", () => {
  it("refuses what a JavaScript caller may pass, naming the entry", () => {
    const bad: [unknown, string][] = [
      [null, "endpoints"],
      ["http://x", "endpoints"],
      [["http://x"], "endpoints"],
      [{ grpc: "127.0.0.1:1" }, "endpoints.grpc"],
      [{ HTTP: "x" }, 'endpoints["HTTP"]'],
      [{ "": "x" }, 'endpoints[""]'],
      [{ http: "" }, "endpoints.http"],
      [{ http: 8080 }, "endpoints.http"],
    ];
    for (const [endpoints, field] of bad) {
      let thrown: unknown;
      try {
        toInstance({ service: "s", addr: "a:1", endpoints } as never);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(endpoints)).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as InvalidArgumentError).field).toBe(field);
    }
  });

  it("copies the endpoints (a later change by the caller does not reach the instance) and drops an empty object", () => {
    const given = { http: "h:1" };
    const instance = toInstance({ service: "s", addr: "a:1", endpoints: given });
    given.http = "changed";
    expect(instance.endpoints).toEqual({ http: "h:1" });
    expect("endpoints" in toInstance({ service: "s", addr: "a:1", endpoints: {} })).toBe(false);
  });
});

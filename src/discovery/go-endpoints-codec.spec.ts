import { describe, expect, it } from "vitest";
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

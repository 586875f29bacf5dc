import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Permission_Type, PermissionSchema } from "../../gen/authpb/auth_pb.js";
import { InvalidArgumentError } from "../core/errors.js";
import { permissionFromWire, permissionToWire } from "./permission.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("permissionToWire / permissionFromWire", () => {
  it.each([
    [{ key: "k", type: "read" as const }, Permission_Type.READ, { key: enc("k") }],
    [{ prefix: "a/", type: "write" as const }, Permission_Type.WRITE, { prefix: enc("a/") }],
    [
      { key: "a", end: "c", type: "readwrite" as const },
      Permission_Type.READWRITE,
      { key: enc("a"), end: enc("c") },
    ],
    [{ fromKey: "m", type: "read" as const }, Permission_Type.READ, { fromKey: enc("m") }],
    [{ prefix: "", type: "read" as const }, Permission_Type.READ, { prefix: new Uint8Array(0) }],
  ])("round-trips %o", (init, wireType, range) => {
    const wire = permissionToWire(init);
    expect(wire.permType).toBe(wireType);
    const back = permissionFromWire(create(PermissionSchema, wire));
    expect(back.type).toBe(init.type);
    expect(back.range).toEqual(range);
  });

  it("a prefix is sent as [prefix, prefix+1)", () => {
    expect(permissionToWire({ prefix: "a/", type: "read" })).toMatchObject({
      key: enc("a/"),
      rangeEnd: enc("a0"),
    });
  });

  it("rejects unknown types and empty keys, naming the field", () => {
    expect(() => permissionToWire({ key: "k", type: "all" as "read" })).toThrow(InvalidArgumentError);
    try {
      permissionToWire({ key: "", type: "read" });
      expect.unreachable();
    } catch (e) {
      expect((e as InvalidArgumentError).field).toBe("key");
    }
  });
});

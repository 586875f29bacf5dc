import { describe, expect, it } from "vitest";
import { InvalidArgumentError, RequestTooLargeError } from "./errors.js";
import { checkInteger, checkKey, checkRequestSize, checkTtl } from "./validation.js";

const fieldOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return (e as InvalidArgumentError).field;
  }
  throw new Error("did not throw");
};

describe("validation", () => {
  it("rejects empty keys", () => {
    expect(fieldOf(() => checkKey(new Uint8Array(0)))).toBe("key");
    expect(checkKey(Uint8Array.of(1))).toEqual(Uint8Array.of(1));
  });
  it("rejects negative, fractional and non-numeric integers", () => {
    expect(fieldOf(() => checkInteger(-1, "limit"))).toBe("limit");
    expect(fieldOf(() => checkInteger(1.5, "limit"))).toBe("limit");
    expect(fieldOf(() => checkInteger(Number.NaN, "limit"))).toBe("limit");
    expect(fieldOf(() => checkInteger(-1n, "revision"))).toBe("revision");
    expect(checkInteger(7, "limit")).toBe(7n);
    expect(checkInteger(2n ** 62n, "revision")).toBe(2n ** 62n);
  });
  it("rejects TTLs that are not positive integers", () => {
    expect(fieldOf(() => checkTtl(0))).toBe("ttl");
    expect(fieldOf(() => checkTtl(-5))).toBe("ttl");
    expect(fieldOf(() => checkTtl(2.5))).toBe("ttl");
    expect(checkTtl(10)).toBe(10n);
  });
  it("rejects requests over the size limit, naming the value", () => {
    expect(() => checkRequestSize(Uint8Array.of(1), new Uint8Array(10), 10)).toThrow(RequestTooLargeError);
    expect(() => checkRequestSize(Uint8Array.of(1), new Uint8Array(9), 10)).not.toThrow();
  });
});

import { describe, expect, it } from "vitest";
import { encodeGrpcTimeout } from "./timeout.js";

describe("encodeGrpcTimeout", () => {
  it("uses milliseconds while they fit in eight digits", () => {
    expect(encodeGrpcTimeout(100)).toBe("100m");
    expect(encodeGrpcTimeout(0)).toBe("0m");
    expect(encodeGrpcTimeout(99_999_999)).toBe("99999999m");
  });

  it("rounds fractions up so the server never gives up first", () => {
    expect(encodeGrpcTimeout(0.2)).toBe("1m");
    expect(encodeGrpcTimeout(1.5)).toBe("2m");
  });

  it("switches to seconds, minutes and hours for long deadlines, never more than eight digits", () => {
    expect(encodeGrpcTimeout(100_000_000)).toBe("100000S");
    expect(encodeGrpcTimeout(100_000_001)).toBe("100001S");
    expect(encodeGrpcTimeout(100_000_000 * 1000)).toBe("1666667M");
    expect(encodeGrpcTimeout(Number.MAX_SAFE_INTEGER)).toMatch(/^\d{1,8}H$/);
  });

  it("rejects negative and non-finite values", () => {
    expect(() => encodeGrpcTimeout(-1)).toThrow(RangeError);
    expect(() => encodeGrpcTimeout(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => encodeGrpcTimeout(Number.NaN)).toThrow(RangeError);
  });
});

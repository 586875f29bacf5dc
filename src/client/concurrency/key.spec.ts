import { describe, expect, it } from "vitest";
import { recipePrefix, sessionKey } from "./key.js";

describe("Go's key layout", () => {
  it("is <prefix>/<lease id in lower-case hex, unpadded> (Go's %x)", () => {
    expect(sessionKey("locks/m", 0x694d81ab1234n)).toBe("locks/m/694d81ab1234");
    expect(sessionKey("e", 0x7fffffffffffffffn)).toBe("e/7fffffffffffffff");
    expect(sessionKey("p", 10n)).toBe("p/a");
    expect(recipePrefix("locks/m")).toBe("locks/m/");
  });
});

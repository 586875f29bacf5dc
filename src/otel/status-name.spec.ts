import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { grpcStatusName } from "./status-name.js";

describe("grpcStatusName", () => {
  it("names every gRPC code as semconv spells it", () => {
    expect(grpcStatusName(0)).toBe("OK");
    expect(grpcStatusName(Code.Canceled)).toBe("CANCELLED");
    expect(grpcStatusName(Code.DeadlineExceeded)).toBe("DEADLINE_EXCEEDED");
    expect(grpcStatusName(Code.Unavailable)).toBe("UNAVAILABLE");
    expect(grpcStatusName(Code.Unauthenticated)).toBe("UNAUTHENTICATED");
  });

  it("gives an unknown code as its number", () => {
    expect(grpcStatusName(42)).toBe("42");
  });
});

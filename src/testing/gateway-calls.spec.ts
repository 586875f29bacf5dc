import { describe, expect, it } from "vitest";
import { initialClusterAfterAdd } from "./gateway-calls.js";

describe("initialClusterAfterAdd", () => {
  it("names the new member, keeps the others' names, and lists every peer URL", () => {
    const value = initialClusterAfterAdd(
      [
        { id: 1n, name: "m0", peerURLs: ["http://127.0.0.1:1"], clientURLs: [], isLearner: false },
        {
          id: 2n,
          name: "m1",
          peerURLs: ["http://127.0.0.1:2", "http://127.0.0.1:3"],
          clientURLs: [],
          isLearner: false,
        },
        {
          id: 18446744073709551615n,
          name: "",
          peerURLs: ["http://127.0.0.1:4"],
          clientURLs: [],
          isLearner: true,
        },
      ],
      18446744073709551615n,
      "m2",
    );
    expect(value).toBe(
      "m0=http://127.0.0.1:1,m1=http://127.0.0.1:2,m1=http://127.0.0.1:3,m2=http://127.0.0.1:4",
    );
  });
});

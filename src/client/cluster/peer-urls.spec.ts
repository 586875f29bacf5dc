import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../core/errors.js";
import { initialCluster } from "./initial-cluster.js";
import { checkPeerUrls } from "./peer-urls.js";

describe("checkPeerUrls", () => {
  it("accepts http(s)://host:port", () => {
    expect(checkPeerUrls(["http://127.0.0.1:2380", "https://node-2:2380"])).toEqual([
      "http://127.0.0.1:2380",
      "https://node-2:2380",
    ]);
  });
  it.each([[[]], [["nope"]], [["unix:///tmp/x"]], [["http://127.0.0.1"]], [["http://h:1/path"]]])(
    "rejects %o naming peerUrls",
    (urls) => {
      expect(() => checkPeerUrls(urls)).toThrow(InvalidArgumentError);
      try {
        checkPeerUrls(urls);
      } catch (e) {
        expect((e as InvalidArgumentError).field).toBe("peerUrls");
      }
    },
  );
});

describe("initialCluster", () => {
  it("names the new member and skips members that have not started", () => {
    const members = [
      { id: 1n, name: "a", peerUrls: ["http://h1:2380"], clientUrls: [], isLearner: false },
      { id: 2n, name: "", peerUrls: ["http://h2:2380"], clientUrls: [], isLearner: false },
      { id: 3n, name: "", peerUrls: ["http://h3:2380", "http://h3b:2380"], clientUrls: [], isLearner: true },
    ];
    expect(initialCluster(members, 3n, "c")).toBe("a=http://h1:2380,c=http://h3:2380,c=http://h3b:2380");
  });
});

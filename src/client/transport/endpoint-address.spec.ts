import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../core/errors.js";
import { parseEndpointAddress, schemeOf, usableClientUrls } from "./endpoint-address.js";

describe("parseEndpointAddress", () => {
  it("reads http(s) URLs as their origin", () => {
    expect(parseEndpointAddress("http://127.0.0.1:2379/", "endpoints")).toMatchObject({
      kind: "tcp",
      url: "http://127.0.0.1:2379",
      secure: false,
    });
    expect(parseEndpointAddress("HTTPS://Etcd.example:2379", "endpoints")).toMatchObject({
      kind: "tcp",
      url: "https://etcd.example:2379",
      secure: true,
    });
  });

  it("reads unix sockets as etcd and its Go client do: everything after :// is the file", () => {
    expect(parseEndpointAddress("unix:///run/etcd/etcd.sock", "endpoints")).toEqual({
      kind: "unix",
      url: "unix:///run/etcd/etcd.sock",
      secure: false,
      socketPath: "/run/etcd/etcd.sock",
      servername: "etcd.sock",
    });
    // etcd's own spelling for a file in the working directory; TLS checks the name without :port.
    expect(parseEndpointAddress("unixs://localhost:2379", "endpoints")).toEqual({
      kind: "unix",
      url: "unixs://localhost:2379",
      secure: true,
      socketPath: "localhost:2379",
      servername: "localhost",
    });
    expect(parseEndpointAddress("UNIX://sockets/", "endpoints")).toMatchObject({
      url: "unix://sockets/",
      servername: "localhost",
    });
  });

  it.each([
    ["unix://", /names no socket file/],
    ["unixs://", /names no socket file/],
    ["unix:/run/etcd.sock", /unsupported scheme/],
    ["ftp://127.0.0.1:2379", /unsupported scheme/],
    ["127.0.0.1:2379", /not a URL|unsupported scheme/],
    ["http://user:pw@127.0.0.1:2379", /credentials belong in the auth option/],
    ["unix://a\0b", /names no socket file/],
  ])("refuses %j naming the field", (text, message) => {
    let error: unknown;
    try {
      parseEndpointAddress(text, "endpoints");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).field).toBe("endpoints");
    expect((error as Error).message).toMatch(message);
  });

  it("refuses what is not a string", () => {
    expect(() => parseEndpointAddress(2379, "baseUrl")).toThrow(/baseUrl: must be a URL/);
  });
});

describe("usableClientUrls", () => {
  const urls = ["http://10.0.0.1:2379", "unix:///run/etcd.sock", "https://10.0.0.1:2379"];

  it("prefers the configured schemes", () => {
    expect(usableClientUrls(urls, [{ url: "unix:///tmp/x", secure: false }])).toEqual([
      "unix:///run/etcd.sock",
    ]);
    expect(usableClientUrls(urls, [{ url: "http://a:1", secure: false }])).toEqual(["http://10.0.0.1:2379"]);
  });

  it("else takes the same security (http and unix plain, https and unixs TLS)", () => {
    expect(usableClientUrls(["http://10.0.0.1:2379"], [{ url: "unix:///tmp/x", secure: false }])).toEqual([
      "http://10.0.0.1:2379",
    ]);
    expect(usableClientUrls(["http://10.0.0.1:2379"], [{ url: "unixs:///tmp/x", secure: true }])).toEqual([]);
    expect(usableClientUrls(["https://10.0.0.1:2379"], [{ url: "unixs:///tmp/x", secure: true }])).toEqual([
      "https://10.0.0.1:2379",
    ]);
  });

  it("schemeOf", () => {
    expect(urls.map(schemeOf)).toEqual(["http", "unix", "https"]);
  });
});

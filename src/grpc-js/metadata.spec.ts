import { Code, ConnectError, encodeBinaryHeader } from "@connectrpc/connect";
import { Metadata } from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { wasNotSent } from "../client/core/failure.js";
import { headersFromMetadata, metadataFromHeaders } from "./metadata.js";

describe("metadataFromHeaders", () => {
  test("copies text headers and decodes -bin headers to bytes", () => {
    const md = metadataFromHeaders({
      token: "abc",
      "x-trace-bin": encodeBinaryHeader(new Uint8Array([0, 1, 255])),
    });
    expect(md.get("token")).toEqual(["abc"]);
    expect(md.get("x-trace-bin")).toEqual([Buffer.from([0, 1, 255])]);
  });

  test("splits repeated -bin values that Headers joined with commas", () => {
    const headers = new Headers();
    headers.append("x-b-bin", encodeBinaryHeader(new Uint8Array([1])));
    headers.append("x-b-bin", encodeBinaryHeader(new Uint8Array([2, 3])));
    expect(metadataFromHeaders(headers).get("x-b-bin")).toEqual([Buffer.from([1]), Buffer.from([2, 3])]);
  });

  test("drops headers gRPC sets itself", () => {
    const md = metadataFromHeaders({
      "content-type": "text/plain",
      "grpc-timeout": "1S",
      te: "x",
      hasleader: "true",
    });
    expect(Object.keys(md.toJSON())).toEqual(["hasleader"]);
  });

  test("a value grpc-js refuses fails locally with InvalidArgument, marked never sent", () => {
    let thrown: unknown;
    try {
      metadataFromHeaders({ "x-bad": "a\u0007b" });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConnectError);
    expect((thrown as ConnectError).code).toBe(Code.InvalidArgument);
    expect(wasNotSent(thrown)).toBe(true);
  });

  test("no headers give empty metadata", () => {
    expect(metadataFromHeaders(undefined).toJSON()).toEqual({});
  });
});

describe("headersFromMetadata", () => {
  test("keeps every value and base64-encodes binary ones", () => {
    const md = new Metadata();
    md.add("content-type", "application/grpc");
    md.add("x-multi", "a");
    md.add("x-multi", "b");
    md.add("x-data-bin", Buffer.from([0, 1, 255]));
    const headers = headersFromMetadata(md);
    expect(headers.get("content-type")).toBe("application/grpc");
    expect(headers.get("x-multi")).toBe("a, b");
    expect(headers.get("x-data-bin")).toBe(Buffer.from([0, 1, 255]).toString("base64"));
  });
});

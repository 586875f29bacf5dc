import { Code, ConnectError } from "@connectrpc/connect";
import { Metadata, status as Status } from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { wasNotSent } from "../client/core/failure.js";
import { connectErrorFromStatus } from "./status-error.js";

const status = (code: Status, details: string) => {
  const metadata = new Metadata();
  metadata.add("x-trailer", "t");
  return { code, details, metadata };
};

describe("connectErrorFromStatus", () => {
  test("keeps the gRPC code number, the raw message and the trailers", () => {
    const error = connectErrorFromStatus(status(Status.NOT_FOUND, "etcdserver: requested lease not found"));
    expect(error).toBeInstanceOf(ConnectError);
    expect([error.code, error.rawMessage, error.metadata.get("x-trailer")]).toEqual([
      Code.NotFound,
      "etcdserver: requested lease not found",
      "t",
    ]);
    expect(wasNotSent(error)).toBe(false);
  });

  test("every gRPC error code maps to the Connect code with the same number", () => {
    for (let code = 1; code <= 16; code++) expect(connectErrorFromStatus(status(code, "x")).code).toBe(code);
  });

  test("marks only provably unsent UNAVAILABLE failures", () => {
    const marked = (code: Status, details: string) =>
      wasNotSent(connectErrorFromStatus(status(code, details)));
    expect(marked(Status.UNAVAILABLE, "No connection established. Last error: connect ECONNREFUSED")).toBe(
      true,
    );
    expect(marked(Status.UNAVAILABLE, "round_robin: No connection established. Last error: x")).toBe(true);
    expect(marked(Status.UNAVAILABLE, "Stream refused by server")).toBe(true);
    expect(marked(Status.UNAVAILABLE, "Connection dropped")).toBe(false);
    expect(marked(Status.UNAVAILABLE, "read ECONNRESET")).toBe(false);
    expect(marked(Status.DEADLINE_EXCEEDED, "No connection established")).toBe(false);
  });

  test("an aborted signal wins: Canceled with the abort reason's message", () => {
    const abort = new AbortController();
    abort.abort();
    const error = connectErrorFromStatus(status(Status.CANCELLED, "Cancelled on client"), abort.signal);
    expect(error.code).toBe(Code.Canceled);
    const custom = new AbortController();
    custom.abort(new ConnectError("shutting down", Code.Unavailable));
    expect(connectErrorFromStatus(status(Status.CANCELLED, "x"), custom.signal).rawMessage).toBe(
      "shutting down",
    );
  });
});

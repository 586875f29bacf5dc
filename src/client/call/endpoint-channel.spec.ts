import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { KV, Watch } from "../../gen/etcdserverpb/rpc_pb.js";
import type { AuthTokenSource } from "../auth/token.js";
import { InvalidAuthTokenError, UnavailableError } from "../core/errors.js";
import type { ClosableTransport } from "../transport/closable-transport.js";
import { EndpointChannel } from "./endpoint-channel.js";

const ENDPOINT = "http://127.0.0.1:1";
const INVALID_TOKEN = () => new ConnectError("etcdserver: invalid auth token", Code.Unauthenticated);

/** A fake transport: `answer` gives each unary call's response (or throws); headers are recorded. */
function fakeTransport(answer: (headers: Record<string, string>) => unknown) {
  const sent: Record<string, string>[] = [];
  const streams: Record<string, string>[] = [];
  const transport = {
    async unary(_m: unknown, _s: unknown, _t: unknown, header: Record<string, string> | undefined) {
      const headers = { ...header };
      sent.push(headers);
      return { message: answer(headers) };
    },
    async stream(_m: unknown, _s: unknown, _t: unknown, header: Record<string, string> | undefined) {
      streams.push({ ...header });
      return { message: (async function* () {})() };
    },
    close: async () => {},
  } as unknown as ClosableTransport;
  return { transport, sent, streams };
}

/**
 * A token source handing out `t1`, `t2`, ... (holding `t1` already with `holding`); records what was
 * invalidated. A fixed one (`refreshable` false) keeps its token.
 */
function fakeAuth(refreshable = true, holding = false) {
  let n = holding ? 1 : 0;
  const invalidated: (string | undefined)[] = [];
  const auth: AuthTokenSource & { current: string | undefined } = {
    current: holding ? "t1" : undefined,
    refreshable,
    async obtain() {
      auth.current ??= `t${++n}`;
      return auth.current;
    },
    invalidate(token) {
      invalidated.push(token);
      if (auth.current === token && refreshable) auth.current = undefined;
    },
  };
  return { auth, invalidated };
}

const range = { method: KV.method.range };

describe("EndpointChannel", () => {
  it("sends hasleader when the client requires a leader, unless the call's spec says otherwise", async () => {
    const { transport, sent } = fakeTransport(() => ({}));
    const channel = new EndpointChannel(ENDPOINT, transport, undefined, 1000, true);
    await channel.call(range, {}, 1000);
    await channel.call({ ...range, hasleader: false }, {}, 1000);
    await channel.call({ ...range, options: { metadata: { "x-trace": "1" } } }, {}, 1000);
    expect(sent).toEqual([{ hasleader: "true" }, {}, { "x-trace": "1", hasleader: "true" }]);
  });

  it("without requireLeader, sends hasleader only when the spec asks for it", async () => {
    const { transport, sent } = fakeTransport(() => ({}));
    const channel = new EndpointChannel(ENDPOINT, transport, undefined, 1000, false);
    await channel.call(range, {}, 1000);
    await channel.call({ ...range, hasleader: true }, {}, 1000);
    expect(sent).toEqual([{}, { hasleader: "true" }]);
  });

  it("authenticates before the first call and sends the token", async () => {
    const { transport, sent } = fakeTransport(() => ({}));
    const { auth } = fakeAuth();
    const channel = new EndpointChannel(ENDPOINT, transport, auth, 1000, false);
    await channel.call(range, {}, 1000);
    expect(sent).toEqual([{ token: "t1" }]);
  });

  it("refreshes a token the server refused and runs the call once more", async () => {
    const { transport, sent } = fakeTransport((headers) => {
      if (headers.token === "t1") throw INVALID_TOKEN();
      return { count: 7n };
    });
    const { auth, invalidated } = fakeAuth(true, true);
    const channel = new EndpointChannel(ENDPOINT, transport, auth, 1000, false);
    const res = await channel.call(range, {}, 1000);
    expect(res.count).toBe(7n);
    expect(invalidated).toEqual(["t1"]);
    expect(sent.map((h) => h.token)).toEqual(["t1", "t2"]);
  });

  it("refreshes once a token it authenticated for just now and the server refused", async () => {
    const { transport, sent } = fakeTransport((headers) => {
      if (headers.token === "t1") throw INVALID_TOKEN();
      return {};
    });
    const { auth, invalidated } = fakeAuth();
    const channel = new EndpointChannel(ENDPOINT, transport, auth, 1000, false);
    await channel.call(range, {}, 1000);
    expect(invalidated).toEqual(["t1"]);
    expect(sent.map((h) => h.token)).toEqual(["t1", "t2"]);
  });

  it("gives up after one refresh: a second refusal is the call's error", async () => {
    const { transport, sent } = fakeTransport(() => {
      throw INVALID_TOKEN();
    });
    const { auth } = fakeAuth(true, true);
    const channel = new EndpointChannel(ENDPOINT, transport, auth, 1000, false);
    await expect(channel.call(range, {}, 1000)).rejects.toBeInstanceOf(InvalidAuthTokenError);
    expect(sent.map((h) => h.token)).toEqual(["t1", "t2"]);
  });

  it("does not retry a refused fixed token", async () => {
    const { transport, sent } = fakeTransport(() => {
      throw INVALID_TOKEN();
    });
    const { auth } = fakeAuth(false, true);
    const channel = new EndpointChannel(ENDPOINT, transport, auth, 1000, false);
    await expect(channel.call(range, {}, 1000)).rejects.toBeInstanceOf(InvalidAuthTokenError);
    expect(sent).toHaveLength(1);
    expect(channel.tokenRefreshable).toBe(false);
  });

  it("types a transport failure as an EtcdError naming the endpoint, with the original as cause", async () => {
    const lost = new ConnectError("socket hang up", Code.Unavailable);
    const { transport } = fakeTransport(() => {
      throw lost;
    });
    const channel = new EndpointChannel(ENDPOINT, transport, undefined, 1000, false);
    const error = await channel.call(range, {}, 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).endpoint).toBe(ENDPOINT);
    expect((error as UnavailableError).cause).toBe(lost);
  });

  it("opens a stream with the pipeline's headers and the token it carries", async () => {
    const { transport, streams } = fakeTransport(() => ({}));
    const { auth } = fakeAuth();
    const channel = new EndpointChannel(ENDPOINT, transport, auth, 1000, true);
    const opened = await channel.open({ method: Watch.method.watch }, (async function* () {})(), undefined);
    expect(opened.token).toBe("t1");
    expect(streams).toEqual([{ token: "t1", hasleader: "true" }]);
  });

  it("drops a stream's token the server refused, so the reopened stream authenticates again", () => {
    const { transport } = fakeTransport(() => ({}));
    const { auth, invalidated } = fakeAuth(true, true);
    const channel = new EndpointChannel(ENDPOINT, transport, auth, 1000, false);
    const error = channel.failure(INVALID_TOKEN(), "t1");
    expect(error).toBeInstanceOf(InvalidAuthTokenError);
    expect(invalidated).toEqual(["t1"]);
    expect(auth.current).toBeUndefined();
  });
});

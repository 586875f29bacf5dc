import { Code } from "@connectrpc/connect";
import { describe, expect, test } from "vitest";
import { EtcdError, UnavailableError } from "../core/errors.js";
import { EndpointServer } from "./endpoint-server.js";

/** An EndpointServer over a scripted Status: each ask takes the next answer (a version or an error). */
function scripted(answers: Array<string | Error>) {
  let connections: number | undefined = 1;
  const asked: number[] = [];
  const server = new EndpointServer(
    async () => {
      asked.push(asked.length);
      const next = answers.shift();
      if (next === undefined) throw new Error("no more answers");
      if (next instanceof Error) throw next;
      return next;
    },
    () => connections,
  );
  return {
    server,
    asked,
    reconnect: () => {
      connections = connections === undefined ? undefined : connections + 1;
    },
    withoutCount: () => {
      connections = undefined;
    },
  };
}

describe("EndpointServer", () => {
  test("asks once per connection; concurrent callers share the one call", async () => {
    const { server, asked } = scripted(["3.7.4"]);
    const [a, b] = await Promise.all([server.version(undefined, 1000), server.version(undefined, 1000)]);
    expect(a?.text).toBe("3.7.4");
    expect(b).toBe(a);
    expect((await server.version(undefined, 1000))?.text).toBe("3.7.4");
    expect(server.known?.text).toBe("3.7.4");
    expect(asked).toHaveLength(1);
  });

  test("a new connection (the transport's count changed) asks again", async () => {
    const { server, asked, reconnect } = scripted(["3.6.17", "3.7.4"]);
    expect((await server.version(undefined, 1000))?.text).toBe("3.6.17");
    reconnect();
    expect(server.known).toBeUndefined();
    expect((await server.version(undefined, 1000))?.text).toBe("3.7.4");
    expect(asked).toHaveLength(2);
  });

  test("forget() (a call found the connection gone) asks again, also without a connection count", async () => {
    const { server, asked, withoutCount } = scripted(["3.7.4", "3.6.17"]);
    withoutCount();
    expect((await server.version(undefined, 1000))?.text).toBe("3.7.4");
    expect((await server.version(undefined, 1000))?.text).toBe("3.7.4");
    server.forget();
    expect((await server.version(undefined, 1000))?.text).toBe("3.6.17");
    expect(asked).toHaveLength(2);
  });

  test("a failed Status is not kept: the error goes to the caller and the next one asks again", async () => {
    const down = new UnavailableError("connection refused", { code: Code.Unavailable });
    const { server, asked } = scripted([down, "3.7.4"]);
    await expect(server.version(undefined, 1000)).rejects.toBe(down);
    expect((await server.version(undefined, 1000))?.text).toBe("3.7.4");
    expect(asked).toHaveLength(2);
  });

  test("a server that will not tell (UNIMPLEMENTED, PERMISSION_DENIED) or an unreadable version is unknown for the connection", async () => {
    for (const answer of [
      new EtcdError("unknown service", { code: Code.Unimplemented }),
      new EtcdError("permission denied", { code: Code.PermissionDenied }),
      "not-a-version",
    ]) {
      const { server, asked } = scripted([answer]);
      expect(await server.version(undefined, 1000)).toBeUndefined();
      expect(await server.version(undefined, 1000)).toBeUndefined();
      expect(await server.supports("rangeStream", undefined, 1000)).toBe(false);
      expect(asked).toHaveLength(1);
    }
  });

  test("supports: by version, unless the server refused the feature on this connection", async () => {
    const { server, reconnect } = scripted(["3.7.4", "3.7.4"]);
    expect(await server.supports("rangeStream", undefined, 1000)).toBe(true);
    server.refused("rangeStream");
    expect(await server.supports("rangeStream", undefined, 1000)).toBe(false);
    reconnect();
    expect(await server.supports("rangeStream", undefined, 1000)).toBe(true);
  });

  test("record() takes a version seen elsewhere; an older pending lookup does not overwrite it", async () => {
    let release!: (text: string) => void;
    const server = new EndpointServer(
      () =>
        new Promise<string>((resolve) => {
          release = resolve;
        }),
      () => 1,
    );
    const pending = server.version(undefined, 1000);
    server.record("3.7.4");
    release("3.6.17");
    expect((await pending)?.text).toBe("3.6.17");
    expect(server.known?.text).toBe("3.7.4");
    expect((await server.version(undefined, 1000))?.text).toBe("3.7.4");
  });

  test("a caller that aborts stops its own wait only: the shared Status goes on for the others", async () => {
    let release!: (text: string) => void;
    const signals: Array<AbortSignal | undefined> = [];
    const server = new EndpointServer(
      (signal) => {
        signals.push(signal);
        return new Promise<string>((resolve) => {
          release = resolve;
        });
      },
      () => 1,
    );
    const impatient = new AbortController();
    const first = server.version(impatient.signal, 1000);
    const second = server.version(undefined, 1000);
    impatient.abort(new Error("gave up"));
    await expect(first).rejects.toThrow("gave up");
    release("3.7.4");
    expect((await second)?.text).toBe("3.7.4");
    expect(signals).toEqual([undefined]);
  });
});

import { inspect } from "node:util";
import type { Transport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AbortedError, DeadlineExceededError, GetTokenError } from "../core/errors.js";
import { wasNotSent } from "../core/failure.js";
import { SILENT_CHANNELS } from "../diagnostics/channels.js";
import { type AuthTokenSource, createAuthTokenSource, type GetTokenContext } from "./token.js";

const noTransport = {} as Transport;
const EP = "http://127.0.0.1:1";

function callbackSource(getToken: (context: GetTokenContext) => Promise<string> | string, timeoutMs = 5_000) {
  const closed = new AbortController();
  const source = createAuthTokenSource(
    { kind: "getToken", getToken },
    { closed: closed.signal, timeoutMs, diagnostics: SILENT_CHANNELS },
  ) as AuthTokenSource;
  return { source, close: () => closed.abort() };
}

const obtain = (source: AuthTokenSource, signal?: AbortSignal, timeoutMs = 5_000) =>
  source.obtain(noTransport, EP, signal, timeoutMs);

describe("getToken source", () => {
  it("shares one pending call, says why it asks, and keeps a newer token when an older one is refused", async () => {
    const asked: string[] = [];
    let release!: (token: string) => void;
    const { source } = callbackSource(({ reason }) => {
      asked.push(reason);
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    });
    expect(source.refreshable).toBe(true);
    const waiting = Promise.all([obtain(source), obtain(source), obtain(source)]);
    release("t1");
    expect(await waiting).toEqual(["t1", "t1", "t1"]);
    expect(asked).toEqual(["initial"]);
    expect(source.current).toBe("t1");

    source.invalidate("t1");
    const next = obtain(source);
    release("t2");
    expect(await next).toBe("t2");
    expect(asked).toEqual(["initial", "refresh"]);
    // A late refusal of the old token does not drop the new one.
    source.invalidate("t1");
    expect(source.current).toBe("t2");
  });

  it.each([
    [
      "throws",
      () => {
        throw new Error("idp down");
      },
    ],
    ["rejects", () => Promise.reject(new Error("idp down"))],
    ["returns a non-string", () => 42 as unknown as string],
    ["returns an empty string", () => ""],
    ["returns a line break", () => "secret\nvalue"],
  ])(
    "a getToken that %s fails with GetTokenError, marked not-sent, and is asked again next time",
    async (_, fn) => {
      let calls = 0;
      const { source } = callbackSource(() => {
        calls++;
        return fn();
      });
      const err = await obtain(source).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GetTokenError);
      expect(wasNotSent(err)).toBe(true);
      expect(`${(err as Error).message}${inspect(err)}`).not.toContain("secret");
      await obtain(source).catch(() => {});
      expect(calls).toBe(2);
    },
  );

  it("a caller stops waiting at its own deadline or signal; the shared call goes on for the others", async () => {
    let release!: (token: string) => void;
    const { source } = callbackSource(
      () =>
        new Promise<string>((resolve) => {
          release = resolve;
        }),
    );
    const aborted = new AbortController();
    const short = obtain(source, undefined, 10);
    const abortedCall = obtain(source, aborted.signal).catch((e: unknown) => e);
    const patient = obtain(source);
    aborted.abort();
    const shortError = await short.catch((e: unknown) => e);
    expect(shortError).toBeInstanceOf(DeadlineExceededError);
    expect(wasNotSent(shortError)).toBe(true);
    expect(await abortedCall).toBeInstanceOf(AbortedError);
    release("t1");
    expect(await patient).toBe("t1");
  });

  it("gives up on a getToken that never settles at timeoutMs or when the client closes", async () => {
    const signals: AbortSignal[] = [];
    const { source } = callbackSource(({ signal }) => {
      signals.push(signal);
      return new Promise<string>(() => {});
    }, 50);
    expect(await obtain(source).catch((e: unknown) => e)).toBeInstanceOf(GetTokenError);
    expect(signals[0]!.aborted).toBe(true);

    const closing = callbackSource(() => new Promise<string>(() => {}));
    const pending = obtain(closing.source).catch((e: unknown) => e);
    closing.close();
    expect(await pending).toBeInstanceOf(GetTokenError);
  });

  it("a shared call that fails after every caller left rejects nobody unhandled", async () => {
    let fail!: (err: Error) => void;
    const { source } = callbackSource(
      () =>
        new Promise<string>((_, reject) => {
          fail = reject;
        }),
    );
    await obtain(source, undefined, 5).catch(() => {});
    fail(new Error("late"));
    // Vitest fails the run on an unhandled rejection; give it a turn to surface.
    await new Promise((r) => setTimeout(r, 10));
  });

  it("shows no token in inspect()", async () => {
    const { source } = callbackSource(() => "secret-token");
    await obtain(source);
    expect(inspect(source, { showHidden: true })).not.toContain("secret-token");
  });
});

describe("fixed token source", () => {
  it("sends the token as given, cannot refresh it, and never shows it", async () => {
    const source = createAuthTokenSource(
      { kind: "token", token: "secret-token" },
      { closed: new AbortController().signal, timeoutMs: 1, diagnostics: SILENT_CHANNELS },
    )!;
    expect(source.refreshable).toBe(false);
    expect(source.current).toBe("secret-token");
    source.invalidate("secret-token");
    expect(await obtain(source)).toBe("secret-token");
    expect(inspect(source, { showHidden: true })).not.toContain("secret-token");
  });
});

describe("password source", () => {
  it("shows the user name, never the password", () => {
    const source = createAuthTokenSource(
      { kind: "password", username: "root", password: "secret-pw" },
      { closed: new AbortController().signal, timeoutMs: 1, diagnostics: SILENT_CHANNELS },
    );
    const shown = inspect(source, { showHidden: true });
    expect(shown).toContain("root");
    expect(shown).not.toContain("secret-pw");
  });
});

/**
 * The program of the test page (test/web/browser.test.ts), bundled for the browser by esbuild and served
 * from localhost. It puts its functions on `globalThis.etcdPage` for the test to call, and reports what
 * happens while they run through `globalThis.etcdReport` (a function the test exposes to the page).
 * Values cross as JSON: bigints as strings.
 */

/** One thing the page reports while a function runs. */
export type PageReport = { readonly type: string; readonly message?: string } & Readonly<
  Record<string, unknown>
>;

/** Where the page's client goes, and as whom. */
export interface Connection {
  /** The gateway URL (the test's fault proxy in front of etcd). */
  endpoint: string;
  username: string;
  password: string;
}

/** The page's functions, called by the test. */
export interface PageApi {
  /**
   * One raw gateway call with `fetch` (`/v3/kv/range` of `key`, no credentials): what CORS allows the
   * page's origin. Resolves with the HTTP status, or the error's name and message when the browser
   * refused to let the page read the answer.
   */
  corsProbe(arg: { endpoint: string; key: string }): Promise<{ status?: number; error?: string }>;
  /** Authenticates, puts `key` and reads it back, all with raw `fetch` calls to the gateway. */
  rawPutGet(
    arg: Connection & { key: string; value: string },
  ): Promise<{ revision: string; value: string | undefined }>;
  /**
   * A raw watch (one `POST /v3/watch`) on `key` from `from`, reporting each event (`raw-event`) as the
   * response streams in, and `raw-watch-ended` with the error when the stream breaks.
   */
  rawWatch(arg: Connection & { key: string; from: string }): Promise<void>;
}

declare global {
  var etcdPage: PageApi | undefined;
  var etcdReport: ((report: PageReport) => void) | undefined;
}

function report(type: string, fields: Record<string, unknown> = {}): void {
  const json = JSON.parse(
    JSON.stringify({ type, ...fields }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
  ) as PageReport;
  globalThis.etcdReport?.(json);
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (s: string) => btoa(String.fromCharCode(...enc.encode(s)));
const unb64 = (s: string) => dec.decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));

async function post<T>(endpoint: string, path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${endpoint}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: token }) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function login(c: Connection): Promise<string> {
  const { token } = await post<{ token: string }>(c.endpoint, "/v3/auth/authenticate", {
    name: c.username,
    password: c.password,
  });
  return token;
}

const api: PageApi = {
  async corsProbe({ endpoint, key }) {
    try {
      const res = await fetch(`${endpoint}/v3/kv/range`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ key: b64(key) }),
      });
      await res.text();
      return { status: res.status };
    } catch (err) {
      return { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
  },

  async rawPutGet(arg) {
    const token = await login(arg);
    const put = await post<{ header: { revision: string } }>(
      arg.endpoint,
      "/v3/kv/put",
      { key: b64(arg.key), value: b64(arg.value) },
      token,
    );
    const range = await post<{ kvs?: { value?: string }[] }>(
      arg.endpoint,
      "/v3/kv/range",
      { key: b64(arg.key) },
      token,
    );
    const value = range.kvs?.[0]?.value;
    return { revision: put.header.revision, value: value === undefined ? undefined : unb64(value) };
  },

  async rawWatch(arg) {
    const token = await login(arg);
    const res = await fetch(`${arg.endpoint}/v3/watch`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: token },
      body: JSON.stringify({ create_request: { key: b64(arg.key), start_revision: arg.from } }),
    });
    if (!res.ok || !res.body) throw new Error(`/v3/watch answered ${res.status}`);
    // Not awaited: the test waits for the reports while the response streams.
    void (async () => {
      const reader = res.body!.getReader();
      let rest = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) throw new Error("the watch response ended");
          const lines = (rest + dec.decode(value, { stream: true })).split("\n");
          rest = lines.pop()!;
          for (const line of lines) {
            if (!line.trim()) continue;
            const { result } = JSON.parse(line) as {
              result?: { events?: { kv: { key: string; value?: string; mod_revision: string } }[] };
            };
            for (const e of result?.events ?? [])
              report("raw-event", {
                key: unb64(e.kv.key),
                value: unb64(e.kv.value ?? ""),
                revision: e.kv.mod_revision,
              });
          }
        }
      } catch (err) {
        report("raw-watch-ended", {
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
      }
    })();
  },
};

globalThis.etcdPage = api;

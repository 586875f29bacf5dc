import { InvalidArgumentError } from "../core/errors.js";

/** A TCP endpoint: `http://host:port` or `https://host:port`. */
export interface TcpAddress {
  readonly kind: "tcp";
  /** The normalized URL (its origin: no path, no trailing slash). */
  readonly url: string;
  /** True for `https://`. */
  readonly secure: boolean;
  /** The parsed URL. */
  readonly parsed: URL;
}

/** A unix socket endpoint: `unix://<path>`, or `unixs://<path>` for TLS over the socket. */
export interface UnixAddress {
  readonly kind: "unix";
  /** The URL as given (`unix:///run/etcd.sock`, `unixs://localhost:2379`). */
  readonly url: string;
  /** True for `unixs://`. */
  readonly secure: boolean;
  /**
   * The socket file: everything after `://`, so `unix:///run/etcd.sock` is `/run/etcd.sock` and
   * `unix://localhost:2379` is the file `localhost:2379` in the working directory, as etcd reads its
   * `--listen-client-urls` and as its Go client reads endpoints.
   */
  readonly socketPath: string;
  /**
   * The name a `unixs://` server certificate is checked against unless TLS options name one: the socket
   * file's name without a `:port` suffix (`etcd.sock`; `localhost` for `localhost:2379`), as etcd's Go
   * client does.
   */
  readonly servername: string;
}

/** Where a transport connects, parsed from an endpoint URL. */
export type EndpointAddress = TcpAddress | UnixAddress;

/** The schemes an endpoint may use. */
const SCHEMES = "http://, https://, unix:// or unixs://";

/**
 * Parses an endpoint URL: `http://host:port`, `https://host:port`, `unix://<socket path>` or
 * `unixs://<socket path>` (an http(s) URL stands for its origin). Throws an {@link InvalidArgumentError}
 * naming `field` for anything else, for credentials in the URL, and for an empty socket path.
 */
export function parseEndpointAddress(text: unknown, field: string): EndpointAddress {
  if (typeof text !== "string")
    throw new InvalidArgumentError(field, `must be a URL (${SCHEMES}), got ${String(text)}`);
  const unix = /^(unixs?):\/\/(.*)$/is.exec(text);
  if (unix) {
    const socketPath = unix[2]!;
    if (socketPath === "" || socketPath.includes("\0"))
      throw new InvalidArgumentError(field, `${JSON.stringify(text)} names no socket file`);
    const secure = unix[1]!.toLowerCase() === "unixs";
    return {
      kind: "unix",
      url: `${secure ? "unixs" : "unix"}://${socketPath}`,
      secure,
      socketPath,
      servername: socketServername(socketPath),
    };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(
      field,
      `not a URL: ${JSON.stringify(text)} (expected e.g. http://host:2379 or unix:///path/to/socket)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InvalidArgumentError(field, `unsupported scheme in ${text}: use ${SCHEMES}`);
  if (url.username || url.password)
    throw new InvalidArgumentError(field, "credentials belong in the auth option, not in the URL");
  return { kind: "tcp", url: url.origin, secure: url.protocol === "https:", parsed: url };
}

/** How a transport reports a bad option: throws an `InvalidArgumentError` (or a subclass) naming `field`. */
export type OptionFailure = (field: string, message: string) => never;

const invalidArgument: OptionFailure = (field, message) => {
  throw new InvalidArgumentError(field, message);
};

/**
 * The one check of a transport's `baseUrl` and of the `tls` beside it, for every transport of etcd-ts
 * (the default HTTP/2 one, grpc-js, connect-node): a URL with a scheme ({@link parseEndpointAddress}'s
 * rules), an http(s) URL of only scheme, host and port (a path would be sent nowhere), and TLS options
 * only with `https://` or `unixs://`. `fail` throws the transport's error class (default
 * `InvalidArgumentError`), naming `baseUrl` or `tls`.
 */
export function transportAddress(
  baseUrl: unknown,
  tls: unknown,
  fail: OptionFailure = invalidArgument,
): EndpointAddress {
  if (typeof baseUrl !== "string") return fail("baseUrl", "is required, e.g. http://127.0.0.1:2379");
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(baseUrl))
    fail("baseUrl", `must start with ${SCHEMES}, got ${JSON.stringify(baseUrl)}`);
  let address: EndpointAddress;
  try {
    address = parseEndpointAddress(baseUrl, "baseUrl");
  } catch (err) {
    return fail(
      "baseUrl",
      err instanceof InvalidArgumentError ? err.message.replace(/^baseUrl: /, "") : String(err),
    );
  }
  if (address.kind === "tcp") {
    const url = address.parsed;
    if (url.pathname !== "/" || url.search !== "" || url.hash !== "")
      fail("baseUrl", `must be only scheme, host and port, got ${JSON.stringify(baseUrl)}`);
  }
  if (tls !== undefined && !address.secure) fail("tls", "options need an https:// or unixs:// baseUrl");
  return address;
}

/** The scheme of an endpoint URL (`http`, `https`, `unix`, `unixs`). */
export function schemeOf(url: string): string {
  return url.slice(0, Math.max(0, url.indexOf(":"))).toLowerCase();
}

/**
 * Of a member's client URLs (as the member list gives them), those a client configured with
 * `configured` can use: the ones with a scheme of the configured endpoints, or, when there are none,
 * the ones with the same security (http and unix are plain, https and unixs TLS).
 */
export function usableClientUrls(
  urls: readonly string[],
  configured: readonly { url: string; secure: boolean }[],
): string[] {
  const schemes = new Set(configured.map((e) => schemeOf(e.url)));
  const same = urls.filter((u) => schemes.has(schemeOf(u)));
  if (same.length > 0) return same;
  const secure = configured[0]?.secure ?? false;
  return urls.filter((u) => {
    const scheme = schemeOf(u);
    return secure ? scheme === "https" || scheme === "unixs" : scheme === "http" || scheme === "unix";
  });
}

function socketServername(socketPath: string): string {
  const file = socketPath.slice(socketPath.lastIndexOf("/") + 1);
  const withoutPort = /^(.*):\d+$/.exec(file)?.[1] ?? file;
  return withoutPort === "" ? "localhost" : withoutPort;
}

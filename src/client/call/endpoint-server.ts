import { Code } from "@connectrpc/connect";
import type { EtcdError } from "../core/errors.js";
import { untilAborted } from "../core/signals.js";
import { type ServerFeature, ServerVersion } from "./server-version.js";

/**
 * How an {@link EndpointServer} asks its endpoint for the version (`Maintenance/Status` through the
 * pipeline); it passes no signal (the call is shared by every caller waiting for it), only a deadline.
 */
export type AskVersion = (signal: AbortSignal | undefined, timeoutMs: number) => Promise<string>;

/**
 * What the client knows about the server behind one endpoint: its version, learned lazily from
 * `Maintenance/Status` once per connection, and the features that server refused although its version
 * has them (a gRPC proxy in front of etcd 3.7 answers `RangeStream` with UNIMPLEMENTED). Everything is
 * forgotten when the connection is replaced ({@link forget}, or a new `connection` count): the member
 * behind the URL may have been restarted with another release.
 */
export class EndpointServer {
  readonly #ask: AskVersion;
  readonly #connection: () => number | undefined;
  /** Bumped by {@link forget}: an answer to an older lookup is not kept. */
  #generation = 0;
  /** The connection count the knowledge below belongs to. */
  #connectionSeen: number | undefined;
  /** The lookup of this connection: pending, or settled with the version (undefined: the server would not say). */
  #lookup: Promise<ServerVersion | undefined> | undefined;
  #known: ServerVersion | undefined;
  readonly #refused = new Set<ServerFeature>();

  /**
   * `ask` runs the Status call; `connection` returns the transport's count of connections opened so far
   * (undefined when the transport does not tell: then only {@link forget} clears what is known).
   */
  constructor(ask: AskVersion, connection: () => number | undefined) {
    this.#ask = ask;
    this.#connection = connection;
  }

  /** The version, if known for the current connection (no call). */
  get known(): ServerVersion | undefined {
    this.#checkConnection();
    return this.#known;
  }

  /**
   * The server's version, asked once per connection (concurrent callers share the one call). Resolves
   * undefined when the server answered Status with UNIMPLEMENTED or PERMISSION_DENIED, or with a version
   * it cannot read (kept for the connection); rejects with the typed error of a Status call that failed
   * otherwise (not kept: the next caller asks again).
   */
  version(signal: AbortSignal | undefined, timeoutMs: number): Promise<ServerVersion | undefined> {
    this.#checkConnection();
    const lookup = this.#lookup ?? this.#startLookup(timeoutMs);
    // The lookup is shared: one caller's abort ends its own wait, not the call the others wait for.
    return signal === undefined ? lookup : untilAborted(lookup, signal);
  }

  #startLookup(timeoutMs: number): Promise<ServerVersion | undefined> {
    const generation = this.#generation;
    const lookup = this.#ask(undefined, timeoutMs).then(
      (text) => {
        const version = ServerVersion.parse(text);
        if (generation === this.#generation) this.#learned(version);
        return version;
      },
      (err: unknown) => {
        if (generation === this.#generation) {
          if (isNotTelling(err)) {
            this.#learned(undefined);
            return undefined;
          }
          this.#lookup = undefined;
        }
        throw err;
      },
    );
    this.#lookup = lookup;
    return lookup;
  }

  /**
   * True when the server has `feature` by its version (asked as {@link version} does) and did not refuse
   * it on this connection. An unknown version counts as not having it.
   */
  async supports(
    feature: ServerFeature,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<boolean> {
    const version = await this.version(signal, timeoutMs);
    return version?.has(feature) === true && !this.#refused.has(feature);
  }

  /** Records a version from a Status answer obtained elsewhere (`etcd.maintenance.status()`). */
  record(text: string): void {
    this.#checkConnection();
    this.#generation++;
    const version = ServerVersion.parse(text);
    this.#learned(version);
    this.#lookup = Promise.resolve(version);
  }

  /** The server answered UNIMPLEMENTED for `feature`: it is not used again on this connection. */
  refused(feature: ServerFeature): void {
    this.#refused.add(feature);
  }

  /** Forgets everything: the connection failed or was replaced (the next use asks again). */
  forget(): void {
    this.#generation++;
    this.#lookup = undefined;
    this.#known = undefined;
    this.#refused.clear();
    this.#connectionSeen = undefined;
  }

  #learned(version: ServerVersion | undefined): void {
    this.#known = version;
    this.#connectionSeen = this.#connection();
  }

  /** Forgets when the transport opened a new connection since the knowledge was gathered. */
  #checkConnection(): void {
    if (this.#connectionSeen !== undefined && this.#connectionSeen !== this.#connection()) this.forget();
  }
}

/** Status refusals that will not change on this connection: the server (or a proxy) will not tell its version. */
function isNotTelling(err: unknown): boolean {
  const code = (err as EtcdError | undefined)?.code;
  return code === Code.Unimplemented || code === Code.PermissionDenied;
}

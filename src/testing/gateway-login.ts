import { Code } from "@connectrpc/connect";
import { EtcdGatewayError, type GatewayRequestOptions, type GatewayTls, gatewayRequest } from "./gateway.js";

/** A user of the cluster the kit authenticates as for its own gateway calls once auth is on. */
export interface GatewayCredentials {
  /** User name, e.g. `"root"` (membership changes need the root role). */
  username: string;
  /** Its password. */
  password: string;
}

/** etcd's answer to a call that needs a user but carries no token (rpctypes `ErrGRPCUserEmpty`). */
const USER_EMPTY = "etcdserver: user name is empty";
/** etcd's answer to Authenticate while auth is off (`ErrGRPCAuthNotEnabled`, FAILED_PRECONDITION like others). */
const AUTH_NOT_ENABLED = "etcdserver: authentication is not enabled";

/**
 * True when `error` is etcd refusing a gateway call for want of a user or of rights: no token
 * (INVALID_ARGUMENT "user name is empty"), an invalid or expired one (UNAUTHENTICATED), or a user
 * without the role (PERMISSION_DENIED). etcd's gRPC server answered it, so the member serves.
 */
export function isAuthRefusal(error: unknown): error is EtcdGatewayError {
  if (!(error instanceof EtcdGatewayError) || error.kind !== "GATEWAY_STATUS") return false;
  const code = error.grpcCode;
  if (code === Code.Unauthenticated || code === Code.PermissionDenied) return true;
  return code === Code.InvalidArgument && error.reason === USER_EMPTY;
}

/**
 * The kit's login to one member's gateway: a token obtained with the credentials on first use, kept
 * per member (simple tokens belong to one etcd process), and obtained again once when etcd refuses it.
 */
export class GatewayLogin {
  readonly #endpoint: string;
  readonly #tls: GatewayTls | undefined;
  #credentials: GatewayCredentials | undefined;
  #token: string | undefined;

  constructor(endpoint: string, tls: GatewayTls | undefined) {
    this.#endpoint = endpoint;
    this.#tls = tls;
  }

  /** The user to authenticate as; `undefined` sends calls without a token. Setting it drops the token. */
  set credentials(credentials: GatewayCredentials | undefined) {
    this.#credentials = credentials && { username: credentials.username, password: credentials.password };
    this.#token = undefined;
  }

  /**
   * Runs `request` with the TLS material and, with credentials, a token. Without credentials, an auth
   * refusal says how to give the kit a user. `timeoutMs` bounds each request (Authenticate included).
   */
  async call<T>(
    request: (options: GatewayRequestOptions) => Promise<T>,
    options: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined },
  ): Promise<T> {
    const base: GatewayRequestOptions = {
      tls: this.#tls,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    };
    const credentials = this.#credentials;
    if (credentials === undefined) {
      try {
        return await request(base);
      } catch (err) {
        throw isAuthRefusal(err) ? withCredentialsHint(err) : err;
      }
    }
    for (let refreshed = false; ; refreshed = true) {
      const token = this.#token ?? (await this.#authenticate(credentials, base));
      try {
        return await request(token === undefined ? base : { ...base, token });
      } catch (err) {
        const stale = err instanceof EtcdGatewayError && err.grpcCode === Code.Unauthenticated;
        if (refreshed || token === undefined || !stale) throw err;
        if (this.#token === token) this.#token = undefined;
      }
    }
  }

  /**
   * A fresh token; undefined while auth is off. A learner refuses Authenticate (FAILED_PRECONDITION
   * too, "rpc not supported for learner"): that refusal is the call's error.
   */
  async #authenticate(
    credentials: GatewayCredentials,
    options: GatewayRequestOptions,
  ): Promise<string | undefined> {
    try {
      const { token } = await gatewayRequest<{ token?: string }>(
        this.#endpoint,
        "/v3/auth/authenticate",
        { name: credentials.username, password: credentials.password },
        options,
      );
      this.#token = token || undefined;
      return this.#token;
    } catch (err) {
      if (err instanceof EtcdGatewayError && err.reason === AUTH_NOT_ENABLED) return undefined;
      throw err;
    }
  }
}

function withCredentialsHint(error: EtcdGatewayError): EtcdGatewayError {
  return new EtcdGatewayError(
    "GATEWAY_STATUS",
    `${error.message} (auth is on: give the kit a user with cluster.useCredentials({ username, password }))`,
    {
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.grpcCode === undefined ? {} : { grpcCode: error.grpcCode }),
      ...(error.reason === undefined ? {} : { reason: error.reason }),
      cause: error,
    },
  );
}

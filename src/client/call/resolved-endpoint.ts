/** TLS material for `https://` endpoints. */
export interface TlsOptions {
  /** CA certificate(s) (PEM) that sign the server certificate. Default: Node's bundled roots. */
  ca?: string | Buffer | undefined;
  /** Client certificate (PEM), for mTLS (`--client-cert-auth`). Default none. */
  cert?: string | Buffer | undefined;
  /** Client private key (PEM) that goes with `cert`. Default none. */
  key?: string | Buffer | undefined;
  /** Server name checked against the certificate (and sent as SNI). Default: the endpoint's host. */
  servername?: string | undefined;
  /** Reject servers whose certificate does not verify. Default true. */
  rejectUnauthorized?: boolean | undefined;
}

/** One endpoint after validation: what a transport factory receives. */
export interface ResolvedEndpoint {
  /** Normalized origin, e.g. `https://127.0.0.1:2379` (no path, no trailing slash). */
  readonly url: string;
  /** True for `https://`. */
  readonly secure: boolean;
  /** TLS material, only for secure endpoints. */
  readonly tls: TlsOptions | undefined;
}

/**
 * An optional capability of a transport: telling whether its connection to the endpoint is alive. The
 * default transport has it (an HTTP/2 PING); the client's Watch stream uses it for liveness, and falls
 * back to a `Maintenance/Status` call on transports without it (see `EndpointChannel.checkConnection`).
 */
export interface ConnectionCheck {
  /**
   * Resolves true once every connection that carries calls answered within `timeoutMs` (true at once
   * when none does), false when one did not. Never rejects; tears nothing down.
   */
  checkConnection(timeoutMs: number): Promise<boolean>;
}

/** `transport` as a {@link ConnectionCheck}, when it has the capability. */
export function connectionCheckOf(transport: object): ConnectionCheck | undefined {
  const candidate = transport as Partial<ConnectionCheck>;
  return typeof candidate.checkConnection === "function" ? (candidate as ConnectionCheck) : undefined;
}

/**
 * How many calls of `method` (e.g. `etcdserverpb.Watch/Watch`, `etcdserverpb.Lease/LeaseKeepAlive`) the
 * member at `clientUrl` has started, from its Prometheus `/metrics` (`grpc_server_started_total`): what
 * the server saw, whatever the client's internals say.
 */
export async function callsStarted(clientUrl: string, method: string): Promise<number> {
  const [service, name] = method.split("/");
  const res = await fetch(`${clientUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const labels = `grpc_method="${name}",grpc_service="${service}"`;
  const line = text.split("\n").find((l) => l.startsWith("grpc_server_started_total{") && l.includes(labels));
  if (!line) throw new Error(`no grpc_server_started_total for ${method} at ${clientUrl}/metrics`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

/**
 * How many calls of `method` the member at `clientUrl` has finished with gRPC status `code` (e.g.
 * `Unauthenticated`), from `grpc_server_handled_total`; 0 when none did (etcd has no line for it then).
 */
export async function callsHandled(clientUrl: string, method: string, code: string): Promise<number> {
  const [service, name] = method.split("/");
  const res = await fetch(`${clientUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const labels = [`grpc_code="${code}"`, `grpc_method="${name}"`, `grpc_service="${service}"`];
  const line = text
    .split("\n")
    .find((l) => l.startsWith("grpc_server_handled_total{") && labels.every((label) => l.includes(label)));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/**
 * The number of watchers the member at `clientUrl` holds for all its clients, from its Prometheus
 * `/metrics` (`etcd_debugging_mvcc_watcher_total`): what the server keeps, whatever the client says.
 */
export async function serverWatchers(clientUrl: string): Promise<number> {
  const res = await fetch(`${clientUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const line = text.split("\n").find((l) => l.startsWith("etcd_debugging_mvcc_watcher_total "));
  if (!line) throw new Error(`no etcd_debugging_mvcc_watcher_total at ${clientUrl}/metrics`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

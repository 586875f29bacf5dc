import http2 from "node:http2";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Greeter } from "./gen/helloworld/helloworld_pb.js";
import { CallCounter, type GreeterServer, greeting } from "./greeter-server.js";

/** Options of {@link startConnectNodeGreeter}. */
export interface ConnectNodeGreeterOptions {
  /** How long each SayHello waits before it answers, in ms (a slow instance). Default 0. */
  delayMs?: number | undefined;
}

/**
 * Starts a Greeter on `@connectrpc/connect-node` (plain HTTP/2) at `127.0.0.1:<port>`. Connect's router
 * speaks the gRPC protocol too, so grpc-js and any language's gRPC client can call it.
 */
export async function startConnectNodeGreeter(
  port: number,
  impl = "connect-node",
  options: ConnectNodeGreeterOptions = {},
): Promise<GreeterServer> {
  const addr = `127.0.0.1:${port}`;
  const delayMs = options.delayMs ?? 0;
  const calls = new CallCounter();
  const routes = (router: ConnectRouter) =>
    router.service(Greeter, {
      sayHello: (req) =>
        calls.run(async () => {
          if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
          return { message: greeting(req.name, impl, addr) };
        }),
    });
  const server = http2.createServer(connectNodeAdapter({ routes, grpc: true, connect: true, grpcWeb: true }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    addr,
    impl,
    inFlight: () => calls.inFlight,
    shutdown: async () => {
      // session.close() sends GOAWAY and lets open streams finish; server.close() stops accepting.
      for (const session of sessions) session.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A localhost web server for one test file's page. */
export interface PageServer {
  /** `http://127.0.0.1:<port>`: the origin etcd's `--cors` must list. */
  readonly origin: string;
  /** The same server under another origin (`http://localhost:<port>`), which `--cors` does not list. */
  readonly otherOrigin: string;
  close(): Promise<void>;
}

/**
 * Serves `/` (an empty page that loads `/app.js` as a module) and `/app.js` (`script`, the page's
 * program bundled with etcd-ts), on 127.0.0.1 and a port the system picks. Everything else is a 404.
 */
export async function startPageServer(script: string): Promise<PageServer> {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>etcd-ts web</title>
<script type="module" src="/app.js"></script></head><body></body></html>`;
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://page").pathname;
    const file =
      path === "/"
        ? { type: "text/html; charset=utf-8", body: html }
        : path === "/app.js"
          ? { type: "text/javascript; charset=utf-8", body: script }
          : undefined;
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" }).end(file.body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    otherOrigin: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

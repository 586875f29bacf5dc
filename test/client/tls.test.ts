import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Etcd, EtcdError, type EtcdOptions, InvalidArgumentError } from "../../src/client/index.js";
import {
  type Certificates,
  type EtcdCluster,
  generateCertificates,
  startEtcd,
} from "../../src/testing/index.js";

let certs: Certificates;
let tlsCluster: EtcdCluster | undefined;
let mtlsCluster: EtcdCluster | undefined;
let tlsUrl: string;
let mtlsUrl: string;
const clients: Etcd[] = [];

/** Starts etcd serving clients over https on a fresh port; the kit's http flags are overridden. */
async function startHttpsEtcd(clientCertAuth: boolean): Promise<{ cluster: EtcdCluster; url: string }> {
  const cluster = await startEtcd({ tls: { certificates: certs, clientCertAuth } });
  return { cluster, url: cluster.endpoint };
}

beforeAll(async () => {
  certs = await generateCertificates();
  const a = await startHttpsEtcd(false);
  tlsCluster = a.cluster;
  tlsUrl = a.url;
  const b = await startHttpsEtcd(true);
  mtlsCluster = b.cluster;
  mtlsUrl = b.url;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await tlsCluster?.close();
  await mtlsCluster?.close();
  if (certs) await rm(certs.dir, { recursive: true, force: true });
});

function client(options: EtcdOptions): Etcd {
  const c = new Etcd({ timeoutMs: 5_000, retry: { maxAttempts: 1 }, ...options });
  clients.push(c);
  return c;
}

describe("TLS", () => {
  it("talks to an https endpoint trusted through the given CA", async () => {
    const c = client({ endpoints: [tlsUrl], tls: { ca: certs.ca } });
    await c.put("tls/k", "secure");
    expect((await c.get("tls/k"))?.text()).toBe("secure");
  });

  it("checks the server name: a CA-signed certificate for another name is refused", async () => {
    const wrongName = client({ endpoints: [tlsUrl], tls: { ca: certs.ca, servername: "other.test" } });
    await expect(wrongName.get("tls/k")).rejects.toBeInstanceOf(EtcdError);
    const rightName = client({ endpoints: [tlsUrl], tls: { ca: certs.ca, servername: "localhost" } });
    expect((await rightName.get("tls/k"))?.text()).toBe("secure");
  });

  it("refuses a server whose CA it does not trust", async () => {
    const c = client({ endpoints: [tlsUrl] });
    const err = await c.get("tls/k").catch((e) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect(err.endpoint).toBe(tlsUrl);
  });

  it("rejects a mixed http/https endpoint list, and tls options with http endpoints", () => {
    expect(() => new Etcd({ endpoints: [tlsUrl, "http://127.0.0.1:2379"] })).toThrow(
      /mixes http:\/\/ and https:\/\//,
    );
    expect(() => new Etcd({ endpoints: ["http://127.0.0.1:2379"], tls: { ca: certs.ca } })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe("mTLS", () => {
  it("works with a client certificate", async () => {
    const c = client({
      endpoints: [mtlsUrl],
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    });
    await c.put("mtls/k", "mutual");
    expect((await c.get("mtls/k"))?.text()).toBe("mutual");
  });

  it("is refused without a client certificate", async () => {
    const c = client({ endpoints: [mtlsUrl], tls: { ca: certs.ca } });
    const err = await c.get("mtls/k").catch((e) => e);
    expect(err).toBeInstanceOf(EtcdError);
  });
});

import { rm } from "node:fs/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { KV } from "../../src/gen/etcdserverpb/rpc_pb.js";
import {
  type Certificates,
  type EtcdCluster,
  generateCertificates,
  startEtcd,
} from "../../src/testing/index.js";

import { type ClosableTransport, type TransportFactoryOptions, transports } from "../support/transports.js";

const te = new TextEncoder();

/** Starts a one-member etcd that serves clients over TLS only; returns it and its https endpoint. */
async function startTlsEtcd(
  certs: Certificates,
  mutual: boolean,
): Promise<{ etcd: EtcdCluster; url: string }> {
  const etcd = await startEtcd({ tls: { certificates: certs, clientCertAuth: mutual } });
  return { etcd, url: etcd.endpoint };
}

let certs: Certificates;
let tlsEtcd: { etcd: EtcdCluster; url: string };
let mtlsEtcd: { etcd: EtcdCluster; url: string };
beforeAll(async () => {
  certs = await generateCertificates();
  [tlsEtcd, mtlsEtcd] = await Promise.all([startTlsEtcd(certs, false), startTlsEtcd(certs, true)]);
});
afterAll(async () => {
  await Promise.all([tlsEtcd?.etcd.close(), mtlsEtcd?.etcd.close()]);
  if (certs) await rm(certs.dir, { recursive: true, force: true });
});

describe.each(transports)("TLS over $name", (factory) => {
  const opened: ClosableTransport[] = [];
  const open = (options: TransportFactoryOptions) => {
    const transport = factory.create(options);
    opened.push(transport);
    return transport;
  };
  afterAll(async () => {
    await Promise.all(opened.map((t) => t.close()));
  });
  const roundTrip = async (transport: ClosableTransport) => {
    const kv = createClient(KV, transport);
    await kv.put({ key: te.encode(`tls/${factory.name}`), value: te.encode("secret") });
    const range = await kv.range({ key: te.encode(`tls/${factory.name}`) }, { timeoutMs: 5_000 });
    return new TextDecoder().decode(range.kvs[0]?.value);
  };
  const failure = async (transport: ClosableTransport) => {
    const error = await createClient(KV, transport)
      .range({ key: te.encode("x") }, { timeoutMs: 5_000 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ConnectError);
    return error as ConnectError;
  };

  test("TLS with the test CA works", async () => {
    expect(await roundTrip(open({ baseUrl: tlsEtcd.url, tls: { ca: certs.ca } }))).toBe("secret");
  });

  test("servername checks the certificate against another name than the URL's host", async () => {
    expect(
      await roundTrip(open({ baseUrl: tlsEtcd.url, tls: { ca: certs.ca, servername: "localhost" } })),
    ).toBe("secret");
    const wrongName = await failure(
      open({ baseUrl: tlsEtcd.url, tls: { ca: certs.ca, servername: "etcd.invalid" } }),
    );
    expect(wrongName.code).toBe(Code.Unavailable);
  });

  test("a server certificate from an unknown CA is refused", async () => {
    const error = await failure(open({ baseUrl: tlsEtcd.url }));
    expect(error.code).toBe(Code.Unavailable);
  });

  test("mutual TLS works with the client certificate and fails without it", async () => {
    const withCert = open({
      baseUrl: mtlsEtcd.url,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    });
    expect(await roundTrip(withCert)).toBe("secret");
    const error = await failure(open({ baseUrl: mtlsEtcd.url, tls: { ca: certs.ca } }));
    expect(error.code).toBe(Code.Unavailable);
  });
});

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * Throwaway certificates for TLS tests. Shaped like the kit's `generateCertificates` (being added by
 * another helper) so the suite can switch to it once it lands.
 */
export interface TestCertificates {
  /** Directory holding the files; remove it with `rm(dir, { recursive: true })`. */
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
}

/** P-256 keys: generated in milliseconds, accepted by etcd (Go) and Node. */
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Makes a CA, a server certificate (SAN IP:127.0.0.1, DNS:localhost) and a client certificate with `openssl`. */
export async function generateTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), "etcd-ts-tls-"));
  const f = (name: string) => join(dir, name);
  await openssl(
    ["req", "-x509", ...EC_KEY, "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "2"]
      .concat(["-subj", "/CN=etcd-ts conformance CA", "-addext", "basicConstraints=critical,CA:TRUE"])
      .concat(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
  );
  // etcd's grpc-gateway dials its own gRPC port with the server certificate, so it must allow client auth.
  await leaf(
    f,
    "server",
    "/CN=localhost",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth",
  );
  await leaf(f, "client", "/CN=etcd-ts-client", "extendedKeyUsage=clientAuth");
  const [ca, cert, key, clientCert, clientKey] = await Promise.all(
    ["ca.crt", "server.crt", "server.key", "client.crt", "client.key"].map((n) => readFile(f(n))),
  );
  return {
    dir,
    caFile: f("ca.crt"),
    certFile: f("server.crt"),
    keyFile: f("server.key"),
    clientCertFile: f("client.crt"),
    clientKeyFile: f("client.key"),
    ca: ca!,
    cert: cert!,
    key: key!,
    clientCert: clientCert!,
    clientKey: clientKey!,
  };
}

async function leaf(
  f: (name: string) => string,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  await openssl(["req", ...EC_KEY, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", subject]);
  await writeFile(f(`${name}.ext`), `basicConstraints=CA:FALSE\n${extensions}\n`);
  await openssl(
    ["x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.crt"), "-CAkey", f("ca.key")].concat([
      "-set_serial",
      String(Date.now()),
      "-days",
      "2",
      "-extfile",
      f(`${name}.ext`),
      "-out",
      f(`${name}.crt`),
    ]),
  );
  await Promise.all([rm(f(`${name}.csr`)), rm(f(`${name}.ext`))]);
}

async function openssl(args: string[]): Promise<void> {
  await execFileAsync("openssl", args, { timeout: 30_000 });
}

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate, as PEM files. */
export interface TestCerts extends AsyncDisposable {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  ca: string;
  clientCert: string;
  clientKey: string;
  /** Removes the directory. */
  remove(): Promise<void>;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  await run("openssl", args, { cwd, timeout: 30_000 });
}

/** Generates the CA, server and client material with `openssl` in a temp directory. */
export async function generateCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), "etcd-ts-certs-"));
  const days = ["-days", "2"];
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-subj",
    "/CN=etcd-ts test CA",
    ...days,
  ]);
  const leaf = async (name: string, cn: string, ext: string) => {
    await writeFile(join(dir, `${name}.ext`), ext);
    await openssl(dir, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${cn}`,
    ]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-extfile",
      `${name}.ext`,
      ...days,
    ]);
  };
  await leaf(
    "server",
    "etcd-server",
    "subjectAltName=IP:127.0.0.1,DNS:etcd.test\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  await leaf("client", "etcd-client", "extendedKeyUsage=clientAuth\n");
  const f = (n: string) => join(dir, n);
  return {
    dir,
    caFile: f("ca.crt"),
    serverCertFile: f("server.crt"),
    serverKeyFile: f("server.key"),
    clientCertFile: f("client.crt"),
    clientKeyFile: f("client.key"),
    ca: await readFile(f("ca.crt"), "utf8"),
    clientCert: await readFile(f("client.crt"), "utf8"),
    clientKey: await readFile(f("client.key"), "utf8"),
    remove: () => rm(dir, { recursive: true, force: true }),
    [Symbol.asyncDispose]() {
      return rm(dir, { recursive: true, force: true });
    },
  };
}

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { EtcdError } from "../client/core/index.js";

const run = promisify(execFile);

/** PEM files and their contents for a throwaway CA, one server and one client certificate. */
export interface Certificates {
  /** Directory that holds every file. */
  dir: string;
  /** CA certificate file (PEM). */
  caFile: string;
  /** Server certificate file, SANs `IP:127.0.0.1, DNS:localhost`, usable for server and client auth. */
  certFile: string;
  /** Server private key file. */
  keyFile: string;
  /** Client certificate file (for mTLS). */
  clientCertFile: string;
  /** Client private key file. */
  clientKeyFile: string;
  /** Contents of `caFile`. */
  ca: Buffer;
  /** Contents of `certFile`. */
  cert: Buffer;
  /** Contents of `keyFile`. */
  key: Buffer;
  /** Contents of `clientCertFile`. */
  clientCert: Buffer;
  /** Contents of `clientKeyFile`. */
  clientKey: Buffer;
}

/** Options of {@link generateCertificates}. */
export interface GenerateCertificatesOptions {
  /**
   * Common name of the client certificate; with `--client-cert-auth` and auth enabled etcd takes it as
   * the user name. Default `"etcd-ts-client"`.
   */
  clientCommonName?: string | undefined;
  /** Validity in days. Default 30. */
  days?: number | undefined;
}

/** Error raised when the `openssl` CLI is missing or fails: an `EtcdError` with code FAILED_PRECONDITION. */
export class CertificateGenerationError extends EtcdError {
  override name = "CertificateGenerationError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: Code.FailedPrecondition, cause: options?.cause });
  }
}

/** P-256 keys: generated in milliseconds, unlike RSA, and accepted by etcd (Go) and Node alike. */
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/**
 * Generates a CA, a server certificate for `127.0.0.1`/`localhost` and a client certificate with the
 * `openssl` CLI, in `dir` (created if needed; default a new temp directory, which the caller removes).
 * The server certificate also allows client auth because etcd's own HTTP gateway dials the gRPC
 * server with it when `--client-cert-auth` is on.
 */
export async function generateCertificates(
  dir?: string,
  options: GenerateCertificatesOptions = {},
): Promise<Certificates> {
  const { clientCommonName = "etcd-ts-client", days = 30 } = options;
  const target = dir ?? (await mkdtemp(join(tmpdir(), "etcd-ts-certs-")));
  await mkdir(target, { recursive: true });
  const file = (name: string) => join(target, name);
  const d = String(days);
  try {
    await openssl([
      "req",
      "-x509",
      ...EC_KEY,
      "-keyout",
      file("ca.key"),
      "-out",
      file("ca.crt"),
      "-days",
      d,
      "-subj",
      "/CN=etcd-ts test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await signLeaf(file, "server", "/CN=localhost", d, [
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "extendedKeyUsage=serverAuth,clientAuth",
    ]);
    await signLeaf(file, "client", `/CN=${clientCommonName}`, d, ["extendedKeyUsage=clientAuth"]);
  } finally {
    await Promise.all(
      ["server.csr", "client.csr", "server.ext", "client.ext"].map((f) => rm(file(f), { force: true })),
    );
  }
  const [ca, cert, key, clientCert, clientKey] = await Promise.all(
    ["ca.crt", "server.crt", "server.key", "client.crt", "client.key"].map((f) => readFile(file(f))),
  );
  return {
    dir: target,
    caFile: file("ca.crt"),
    certFile: file("server.crt"),
    keyFile: file("server.key"),
    clientCertFile: file("client.crt"),
    clientKeyFile: file("client.key"),
    ca: ca!,
    cert: cert!,
    key: key!,
    clientCert: clientCert!,
    clientKey: clientKey!,
  };
}

async function signLeaf(
  file: (name: string) => string,
  name: string,
  subject: string,
  days: string,
  extensions: string[],
): Promise<void> {
  await openssl([
    "req",
    ...EC_KEY,
    "-keyout",
    file(`${name}.key`),
    "-out",
    file(`${name}.csr`),
    "-subj",
    subject,
  ]);
  await writeFile(
    file(`${name}.ext`),
    ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", ...extensions].join(
      "\n",
    ),
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    file(`${name}.csr`),
    "-CA",
    file("ca.crt"),
    "-CAkey",
    file("ca.key"),
    // A random serial instead of -CAcreateserial, which would leave a .srl file behind.
    "-set_serial",
    `0x${randomBytes(8).toString("hex")}`,
    "-days",
    days,
    "-extfile",
    file(`${name}.ext`),
    "-out",
    file(`${name}.crt`),
  ]);
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new CertificateGenerationError(
      `openssl ${args[0]} failed (is the openssl CLI installed?): ${detail}`,
      {
        cause: err,
      },
    );
  }
}

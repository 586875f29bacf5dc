import { Code } from "@connectrpc/connect";
import { EtcdError, InvalidArgumentError } from "../client/core/index.js";

/**
 * Failpoints of an etcd failpoint build (`scripts/etcd-failpoints.sh`): failpoint name → gofail term, e.g.
 * `{ beforeSyncWatchers: "sleep(8000)" }` (every watcher catch-up round waits 8 s first) or
 * `{ beforeSendWatchResponse: "1*panic" }`. The names are the `// gofail: var <name>` comments of etcd's
 * source (list them with `curl <failpointUrl>/`); terms are gofail's (`sleep(ms)`, `return`, `panic`,
 * `N*term`, `P%term`, `off`).
 */
export type Failpoints = Readonly<Record<string, string>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Checks `failpoints` (names are identifiers, terms non-empty without `;` or line breaks) and returns the
 * `GOFAIL_FAILPOINTS` value that sets them when etcd starts.
 * @throws InvalidArgumentError naming the bad entry.
 */
export function failpointsVariable(failpoints: Failpoints): string {
  if (failpoints === null || typeof failpoints !== "object")
    throw new InvalidArgumentError("failpoints", "must be an object of failpoint name to gofail term");
  return Object.entries(failpoints)
    .map(([name, term]) => {
      checkFailpoint(name, term);
      return `${name}=${term}`;
    })
    .join(";");
}

/** @throws InvalidArgumentError when `name` or `term` cannot be a failpoint setting. */
export function checkFailpoint(name: string, term: string | undefined): void {
  if (typeof name !== "string" || !NAME.test(name))
    throw new InvalidArgumentError("failpoints", `${JSON.stringify(name)} is not a failpoint name`);
  if (term !== undefined && (typeof term !== "string" || term === "" || /[;\r\n]/.test(term)))
    throw new InvalidArgumentError(
      "failpoints",
      `the term of ${name} must be a non-empty gofail term without ";" or line breaks`,
    );
}

/** A failpoint change gofail's HTTP endpoint refused or did not answer. */
export class FailpointError extends EtcdError {
  override name = "FailpointError";
}

/**
 * Sets failpoint `name` to `term` (or clears it with `undefined`: gofail's `off`, which holds whether or
 * not it was set) through gofail's HTTP endpoint at `url` (`GOFAIL_HTTP` of a running failpoint build).
 * @throws FailpointError when the endpoint refuses or does not answer within 5 s.
 */
export async function changeFailpoint(url: string, name: string, term: string | undefined): Promise<void> {
  checkFailpoint(name, term);
  let res: Response;
  try {
    res = await fetch(`${url}/${name}`, {
      method: "PUT",
      body: term ?? "off",
      signal: AbortSignal.timeout(5_000),
    });
  } catch (err) {
    throw new FailpointError(`failpoint ${name}: gofail at ${url} did not answer`, {
      code: Code.Unavailable,
      cause: err,
    });
  }
  if (!res.ok)
    throw new FailpointError(
      `failpoint ${name}: gofail at ${url} answered ${res.status}: ${(await res.text()).trim()}`,
      { code: Code.FailedPrecondition },
    );
}

import { InvalidArgumentError } from "../core/errors.js";

/**
 * Checks a list of peer URLs: at least one, each an `http://` or `https://` URL with a host and port
 * and no path (etcd refuses anything else, but only after a raft round trip).
 */
export function checkPeerUrls(urls: readonly string[], field = "peerUrls"): string[] {
  if (!Array.isArray(urls) || urls.length === 0)
    throw new InvalidArgumentError(field, "at least one peer URL is required");
  return urls.map((raw) => {
    let url: URL;
    try {
      if (typeof raw !== "string") throw new Error("not a string");
      url = new URL(raw);
    } catch {
      throw new InvalidArgumentError(
        field,
        `not a URL: ${JSON.stringify(raw)} (expected e.g. http://10.0.0.1:2380)`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new InvalidArgumentError(field, `unsupported scheme in ${raw}: use http:// or https://`);
    if (url.port === "") throw new InvalidArgumentError(field, `${raw} has no port`);
    if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash || url.username)
      throw new InvalidArgumentError(field, `${raw} must be scheme://host:port only`);
    return raw;
  });
}

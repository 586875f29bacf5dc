import { InvalidArgumentError } from "../errors.js";

/** Parses a transport's `baseUrl`: an http:// or https:// URL, else an {@link InvalidArgumentError}. */
export function parseBaseUrl(baseUrl: unknown): URL {
  let url: URL | undefined;
  try {
    if (typeof baseUrl === "string") url = new URL(baseUrl);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:"))
    throw new InvalidArgumentError(
      "baseUrl",
      `must be an http:// or https:// URL, got ${JSON.stringify(baseUrl)}`,
    );
  return url;
}

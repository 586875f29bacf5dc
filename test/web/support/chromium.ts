import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { REQUIRE_RUNTIMES } from "../../runtimes/runtimes.js";

/** Debian's chromium (`apt-get install chromium`, which .ci/run does); `CHROMIUM_BIN` overrides. */
const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** The browser the web suites drive, found or with the reason it is missing. */
export interface ChromiumFound {
  /** The executable, or undefined when it is not installed. */
  readonly executable: string | undefined;
  /** Why it is missing (undefined when found). */
  readonly missing: string | undefined;
  /** The version it reports, e.g. `156.0.8078.129` (empty when missing). */
  readonly version: string;
}

/** Finds Chromium: `CHROMIUM_BIN`, else Debian's `/usr/bin/chromium`, asked for its version. */
export function findChromium(): ChromiumFound {
  const path = process.env.CHROMIUM_BIN || DEFAULT_CHROMIUM;
  if (!existsSync(path))
    return {
      executable: undefined,
      missing: `no ${path} (apt-get install chromium, or set CHROMIUM_BIN)`,
      version: "",
    };
  try {
    // Debian's wrapper script prints a shell warning on stderr on some machines: only stdout counts.
    const out = execFileSync(path, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return { executable: path, missing: undefined, version: /(\d+(?:\.\d+)+)/.exec(out)?.[1] ?? "" };
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return { executable: undefined, missing: `${path} --version failed: ${why}`, version: "" };
  }
}

/**
 * In CI a missing Chromium fails the web suites (they exist to prove the browser works); locally, without
 * it, they skip and say why.
 */
export const REQUIRE_CHROMIUM = REQUIRE_RUNTIMES;

/**
 * Launches headless Chromium through playwright-core (which downloads no browser of its own). One per test
 * file: a launch costs about half a second of a core, a new page (context) next to nothing. `args` are
 * more command-line flags (the memory bench's `--js-flags=--expose-gc`, say).
 */
export async function launchChromium(found: ChromiumFound, args: string[] = []): Promise<Browser> {
  if (!found.executable) throw new Error(`Chromium is not installed: ${found.missing}`);
  return chromium.launch({ executablePath: found.executable, timeout: 60_000, args });
}

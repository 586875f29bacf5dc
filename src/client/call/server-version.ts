/**
 * An etcd server's version, as `Maintenance/Status` reports it (`"3.7.4"`, `"3.6.0-rc.1"`), compared the
 * way semantic versioning does: numbers first, and a pre-release before its release (`3.7.0-rc.1` is
 * older than `3.7.0`, so a feature that came with 3.7.0 is not assumed on its release candidates).
 */
export class ServerVersion {
  /** The text the server sent. */
  readonly text: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** The pre-release part without its `-` (`"rc.1"`), or undefined for a release. */
  readonly preRelease: string | undefined;

  private constructor(text: string, major: number, minor: number, patch: number, pre: string | undefined) {
    this.text = text;
    this.major = major;
    this.minor = minor;
    this.patch = patch;
    this.preRelease = pre;
  }

  /**
   * Parses `major.minor.patch`, optionally followed by `-pre.release` and/or `+build` (ignored). Returns
   * undefined for anything else (an empty string, `"3.7"`, `"v3.7.4"`): a version we cannot read is
   * treated as unknown, never guessed.
   */
  static parse(text: string): ServerVersion | undefined {
    const m = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(text);
    if (m === null) return undefined;
    return new ServerVersion(text, Number(m[1]), Number(m[2]), Number(m[3]), m[4]);
  }

  /** Negative, zero or positive as this version is older than, equal to or newer than `other`. */
  compare(other: ServerVersion): number {
    const byNumbers = this.major - other.major || this.minor - other.minor || this.patch - other.patch;
    if (byNumbers !== 0) return byNumbers;
    if (this.preRelease === other.preRelease) return 0;
    // A release is newer than any of its pre-releases.
    if (this.preRelease === undefined) return 1;
    if (other.preRelease === undefined) return -1;
    return comparePreRelease(this.preRelease, other.preRelease);
  }

  /** True when this version is `major.minor.patch` or newer (a pre-release of it is not). */
  atLeast(major: number, minor: number, patch = 0): boolean {
    return this.compare(new ServerVersion("", major, minor, patch, undefined)) >= 0;
  }

  /** True when this server has `feature` (see {@link SERVER_FEATURES}). */
  has(feature: ServerFeature): boolean {
    const since: FirstRelease = SERVER_FEATURES[feature];
    if (typeof since[0] === "number") {
      const [major, minor, patch] = since as Release;
      return this.atLeast(major, minor, patch);
    }
    const lines = since as readonly Release[];
    // The release of this version's own line, else: a line after the last listed has it, one before not.
    const own = lines.find(([major, minor]) => major === this.major && minor === this.minor);
    const [major, minor, patch] = own ?? lines[lines.length - 1]!;
    return this.atLeast(major, minor, patch);
  }

  toString(): string {
    return this.text;
  }
}

/** `[major, minor, patch]` of a release. */
type Release = readonly [number, number, number];
/**
 * The first release that has a feature; or, for a fix backported to older lines, the first release of
 * each line (in order): a line after the last one listed has it from its first release, a line before
 * the first one listed does not have it.
 */
type FirstRelease = Release | readonly Release[];

/**
 * What the client does differently by server version, and the first release that has it. The one
 * table the client consults: behaviour that depends on the server's version asks
 * {@link ServerVersion.has}, never an error message.
 */
export const SERVER_FEATURES = {
  /** `KV/RangeStream`: a range answered as a stream of chunks at one revision. */
  rangeStream: [3, 7, 0],
  /**
   * A progress notice never overtakes events still being replayed to a watcher of the stream, so its
   * revision is safe to move a mirror of the range to: etcd 3.4.24 and 3.5.8 first deferred a requested
   * notice until every watcher caught up (PR 15237, issue 15220); 3.4.31+, 3.5.13+ and 3.6+ drop the
   * request instead (the client asks again). Older releases answer at once.
   */
  syncedProgress: [
    [3, 4, 24],
    [3, 5, 8],
  ],
} as const satisfies Record<string, FirstRelease>;

/** A feature of {@link SERVER_FEATURES}. */
export type ServerFeature = keyof typeof SERVER_FEATURES;

/** Semantic versioning's order of pre-release identifiers: numeric ones by value and before alphanumeric ones. */
function comparePreRelease(a: string, b: string): number {
  const as = a.split(".");
  const bs = b.split(".");
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    const x = as[i];
    const y = bs[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xNum = /^\d+$/.test(x);
    const yNum = /^\d+$/.test(y);
    if (xNum && yNum) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    } else if (xNum !== yNum) return xNum ? -1 : 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

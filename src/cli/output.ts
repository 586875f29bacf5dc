import { goJson } from "./etcdctl-json.js";

/** Where the CLI writes: stdout for results, stderr for notes, progress and errors. */
export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** `JSON.stringify` with 64-bit integers (revisions, IDs) as decimal strings: JSON has no bigint. */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/**
 * Rows as aligned columns under upper-case headings, two spaces apart (the last column is not padded).
 * Line breaks and tabs inside a cell are shown as `\n` and `\t` so that a row stays one line.
 */
export function formatTable(headings: readonly string[], rows: readonly (readonly string[])[]): string {
  const clean = (cell: string) =>
    cell.replaceAll("\n", "\\n").replaceAll("\r", "\\r").replaceAll("\t", "\\t");
  const all = [headings.map((h) => h.toUpperCase()), ...rows.map((r) => r.map(clean))];
  const widths = headings.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all
    .map((r) =>
      headings
        .map((_, i) => (i === headings.length - 1 ? (r[i] ?? "") : (r[i] ?? "").padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** A byte count for people: `512 B`, `20 KiB`, `1.5 MiB`. */
export function formatBytes(bytes: number | bigint): string {
  let n = Number(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  const shown = unit === 0 || n >= 100 ? Math.round(n).toString() : n.toFixed(1).replace(/\.0$/, "");
  return `${shown} ${units[unit]}`;
}

/**
 * What results look like: `human` (the default, etcdctl's `simple` where etcdctl has the command),
 * `json` (`--json`, etcd-ts' own JSON) or `etcdctl-json` (`-w json`, etcdctl's JSON shape).
 */
export type OutputFormat = "human" | "json" | "etcdctl-json";

/**
 * The CLI's writer: human text or, with `--json` or `-w json`, JSON documents (one per line for streaming
 * commands). Progress goes to stderr, rewritten in place on a terminal.
 */
export class Output {
  /** True when `--json` was given: results are etcd-ts' JSON, one document per line. */
  readonly json: boolean;
  /** True when `-w json` was given: results are etcdctl's JSON ({@link etcdctlDocument}). */
  readonly etcdctlJson: boolean;
  readonly #streams: OutputStreams;
  #progressShown = false;

  constructor(streams: OutputStreams, format: OutputFormat) {
    this.#streams = streams;
    this.json = format === "json";
    this.etcdctlJson = format === "etcdctl-json";
  }

  /** One line of human output on stdout. */
  line(text: string): void {
    this.#endProgress();
    this.#streams.stdout.write(`${text}\n`);
  }

  /** One JSON document on one line of stdout (bigints as strings). */
  document(value: unknown): void {
    this.#endProgress();
    this.#streams.stdout.write(`${toJsonLine(value)}\n`);
  }

  /** One document on one line of stdout as etcdctl's `-w json` writes it (Go's JSON: 64-bit integers as numbers). */
  etcdctlDocument(value: unknown): void {
    this.#endProgress();
    this.#streams.stdout.write(`${goJson(value)}\n`);
  }

  /** A table on stdout; nothing but the headings when there are no rows. */
  table(headings: readonly string[], rows: readonly (readonly string[])[]): void {
    this.line(formatTable(headings, rows));
  }

  /** A note on stderr (never part of the result). */
  note(text: string): void {
    this.#endProgress();
    this.#streams.stderr.write(`${text}\n`);
  }

  /** A progress line on stderr: rewritten in place on a terminal, one line each otherwise. */
  progress(text: string): void {
    if (this.#streams.stderr.isTTY) {
      this.#streams.stderr.write(`\r\x1b[K${text}`);
      this.#progressShown = true;
    } else this.#streams.stderr.write(`${text}\n`);
  }

  #endProgress(): void {
    if (!this.#progressShown) return;
    this.#progressShown = false;
    this.#streams.stderr.write("\n");
  }
}

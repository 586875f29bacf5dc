import type { Command, CommandGroup, OptionSpecs } from "./command.js";
import { GLOBAL_OPTIONS } from "./global-options.js";

/** The program's name in help and errors. */
export const PROGRAM = "etcd-ts";

/** Option lines: `--name <value>` or `-h, --help`, descriptions aligned. */
function optionLines(options: OptionSpecs): string[] {
  const left = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}`;
    return o.type === "string" ? `${flag} ${o.value ?? "<value>"}` : flag;
  });
  const width = Math.max(...left.map((l) => l.length));
  return Object.values(options).map((o, i) => `  ${left[i]!.padEnd(width)}  ${o.description}`);
}

/** Aligned `name  summary` lines. */
function listLines(entries: readonly [string, string][]): string[] {
  const width = Math.max(...entries.map(([name]) => name.length));
  return entries.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`);
}

/** `etcd-ts --help`: every command, the global options and the variables. */
export function toolHelp(entries: readonly (Command | CommandGroup)[]): string {
  const commands: [string, string][] = [];
  for (const e of entries) {
    if ("commands" in e) for (const c of e.commands) commands.push([`${e.name} ${c.name}`, withAliases(c)]);
    else commands.push([e.name, e.summary]);
  }
  return [
    `${PROGRAM}: a command line for etcd v3 (etcdctl's flags and ETCDCTL_* variables), built on etcd-ts.`,
    "",
    `Usage: ${PROGRAM} <command> [arguments] [options]`,
    "",
    "Commands:",
    ...listLines(commands),
    "",
    "Global options (each command takes them; flags win over ETCDCTL_* variables):",
    ...optionLines({ ...GLOBAL_OPTIONS, version: { type: "boolean", description: "show the version" } }),
    "",
    "Exit codes: 0 done, 1 failed, 2 usage error, 130 interrupted (a streaming command ends with 0).",
    `Run '${PROGRAM} <command> --help' for a command's arguments, options and examples.`,
  ].join("\n");
}

/** A command's summary, and its other names (etcdctl's) when it has some. */
function withAliases(command: Command): string {
  return command.aliases?.length
    ? `${command.summary} (also: ${command.aliases.join(", ")})`
    : command.summary;
}

/** `etcd-ts lease --help`: the group's commands. */
export function groupHelp(group: CommandGroup): string {
  return [
    `Usage: ${PROGRAM} ${group.name} <command> [arguments] [options]`,
    "",
    `${group.summary}.`,
    "",
    "Commands:",
    ...listLines(group.commands.map((c) => [c.name, withAliases(c)])),
    "",
    `Run '${PROGRAM} ${group.name} <command> --help' for more.`,
  ].join("\n");
}

/** `etcd-ts get --help`: usage, what it does, its options and examples. */
export function commandHelp(path: string, command: Command): string {
  const lines = [
    `Usage: ${PROGRAM} ${path} ${command.usage} [options]`.replace(/ +/g, " "),
    "",
    `${command.summary}.`,
  ];
  if (command.aliases?.length)
    lines.push("", `Also runs as: ${command.aliases.join(", ")} (etcdctl's name).`);
  if (command.etcdctlJson)
    lines.push("", "With -w json (--write-out=json): etcdctl's JSON, as etcdctl 3.4 prints it.");
  if (command.details) lines.push("", command.details);
  if (command.options && Object.keys(command.options).length > 0)
    lines.push("", "Options:", ...optionLines(command.options));
  lines.push("", `Global options: see '${PROGRAM} --help'.`);
  if (command.examples?.length) lines.push("", "Examples:", ...command.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}

/**
 * CPU profiles of a bench's measured window (node:inspector's Profiler, in this process), and their top
 * frames by self time, for docs/performance.md.
 */
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";

/** One frame of a profile: where, and its share of the samples taken in it (self time). */
export interface TopFrame {
  /** `function (file:line)`, the file relative to the repo when it is in it. */
  frame: string;
  /** Self time as a percentage of the profile's busy samples (idle ones left out). */
  selfPercent: number;
}

/** A CPU profile in the shape `Profiler.stop` returns (the `.cpuprofile` format). */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }>;
}

/** Starts the V8 sampling profiler; `stop()` writes the profile to `path` and returns its top frames. */
export async function startProfile(path: string, top = 15): Promise<{ stop(): Promise<TopFrame[]> }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  return {
    async stop() {
      const { profile } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
      session.disconnect();
      await writeFile(path, JSON.stringify(profile));
      return topFrames(profile, top);
    },
  };
}

/** The `top` frames by self time, merged by function and place (one function sampled under many callers). */
export function topFrames(profile: CpuProfile, top: number): TopFrame[] {
  const self = new Map<string, number>();
  let total = 0;
  const root = new URL("..", import.meta.url).href;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    // Samples of an idle event loop are not CPU spent.
    if (hits === 0 || node.callFrame.functionName === "(idle)") continue;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.startsWith(root) ? url.slice(root.length) : url.replace(/^.*node_modules\//, "");
    const key = url ? `${functionName || "(anonymous)"} (${file}:${lineNumber + 1})` : functionName;
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, hits]) => ({ frame, selfPercent: Math.round((hits / total) * 1000) / 10 }));
}

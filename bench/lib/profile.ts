/**
 * A CPU profile of the worker while a benchmark step runs, over the DevTools protocol `wrangler dev
 * --inspector-port` exposes: the V8 sampling profiler, summed by function self time, so a run can say
 * which code costs the worker's time per event (ours, a library's, or the runtime's).
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  /** `function (file:line)`; `(program)`, `(garbage collector)`, `(idle)` are V8's own. */
  frame: string;
  selfMs: number;
  share: number;
}

/** The DevTools websocket of the worker's isolate (the first target that is not wrangler's proxy). */
async function inspectorUrl(port: number): Promise<string> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{
    title?: string;
    webSocketDebuggerUrl: string;
  }>;
  const target = targets.find((t) => !/proxy/i.test(t.title ?? "")) ?? targets[0];
  if (!target) throw new Error(`no inspector target on port ${port}`);
  return target.webSocketDebuggerUrl;
}

function connect(url: string) {
  // wrangler's inspector proxy accepts DevTools clients from a local Origin only (undici's extra init).
  const socket = new WebSocket(url, { headers: { origin: "http://127.0.0.1" } } as unknown as string[]);
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(String(message.data)) as { id?: number; result?: unknown };
    if (data.id !== undefined) pending.get(data.id)?.(data.result);
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve());
    socket.addEventListener("error", () => reject(new Error(`inspector ${url} refused`)));
  });
  return {
    opened,
    send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      const id = nextId++;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve) => pending.set(id, resolve as (result: unknown) => void));
    },
    close: () => socket.close(),
  };
}

function selfTimes(profile: CpuProfile, top: number): ProfileLine[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFrame = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const deltaUs = profile.timeDeltas[i] ?? 0;
    if (!node || node.callFrame.functionName === "(idle)") return;
    const file = node.callFrame.url.split("/").slice(-2).join("/");
    const frame = file
      ? `${node.callFrame.functionName || "(anonymous)"} (${file}:${node.callFrame.lineNumber + 1})`
      : node.callFrame.functionName;
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + deltaUs);
    totalUs += deltaUs;
  });
  return [...byFrame.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, us]) => ({ frame, selfMs: us / 1000, share: totalUs ? us / totalUs : 0 }));
}

/** Profiles the worker while `work` runs; returns the busiest frames and the sampled busy time. */
export async function profileWorker(
  inspectorPort: number,
  work: () => Promise<unknown>,
  top = 25,
): Promise<{ busyMs: number; frames: ProfileLine[] }> {
  const session = connect(await inspectorUrl(inspectorPort));
  await session.opened;
  try {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 100 });
    await session.send("Profiler.start");
    await work();
    const { profile } = await session.send<{ profile: CpuProfile }>("Profiler.stop");
    const frames = selfTimes(profile, Number.MAX_SAFE_INTEGER);
    return { busyMs: frames.reduce((sum, f) => sum + f.selfMs, 0), frames: frames.slice(0, top) };
  } finally {
    session.close();
  }
}

// The sandbox as a whole: keys persisted across restarts, the controllable clock driving expiry, reset,
// the CLI, and one seed replaying one scenario end to end.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "./index.ts";
import { type Receiver, startReceiver } from "./testing/receiver.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "payguard-sandbox-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function control(sandbox: Sandbox, path: string, body?: unknown) {
  const response = await fetch(`${sandbox.url}/_control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as Record<string, unknown>;
}

describe("keys file", () => {
  it("is created on first start (owner-only) and reused after", async () => {
    const keysFile = join(dir, "keys.json");
    const first = await startSandbox({ keysFile });
    await first.close();
    expect((await stat(keysFile)).mode & 0o777).toBe(0o600);
    const second = await startSandbox({ keysFile });
    await second.close();
    expect(second.stripe).toEqual(first.stripe);
    expect(second.wechat).toEqual(first.wechat);
    expect(second.alerts.dingtalkSecret).toBe(first.alerts.dingtalkSecret);
    expect(first.stripe.secretKey).toMatch(/^sk_test_/);
    expect(first.stripe.webhookSecret).toMatch(/^whsec_/);
    const stored = JSON.parse(await readFile(keysFile, "utf8")) as { stripe: unknown };
    expect(stored.stripe).toEqual(first.stripe);
  });
});

describe("clock and reset", () => {
  let sandbox: Sandbox;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    sandbox = await startSandbox({ seed: 51, stripeWebhookUrl: receiver.url });
  });
  afterAll(async () => {
    await sandbox.close();
    await receiver.close();
  });

  it("expires an abandoned session once the clock passes expires_at, and tells the endpoint", async () => {
    const abandoned = await control(sandbox, "stripe/abandon", { orderId: "ord_sb_1" });
    const { nowMs } = (await control(sandbox, "clock")) as { nowMs: number };
    const answer = await control(sandbox, "clock", { setMs: (abandoned.expiresAt as number) * 1000 + 1000 });
    expect(answer.nowMs as number).toBeGreaterThan(nowMs);
    const [received] = await receiver.waitFor(1);
    const event = JSON.parse(received?.body ?? "{}") as { type: string; data: { object: { id: string } } };
    expect([event.type, event.data.object.id]).toEqual(["checkout.session.expired", abandoned.sessionId]);
  });

  it("reset forgets objects, logs and faults, and puts the clock back", async () => {
    await control(sandbox, "faults", { delivery: { rules: [{ action: "drop" }] } });
    await control(sandbox, "reset", {});
    const { nowMs } = (await control(sandbox, "clock")) as { nowMs: number };
    expect(Math.abs(nowMs - Date.now())).toBeLessThan(60_000);
    expect(await control(sandbox, "stripe/sessions")).toEqual({ sessions: [] });
    expect(await control(sandbox, "faults")).toMatchObject({ delivery: { rules: [] }, api: [] });
    expect((await control(sandbox, "calls")).calls).toEqual([]);
  });

  it("refuses to move a clock passed in by the caller", async () => {
    const fixed = await startSandbox({ clock: () => Date.UTC(2026, 0, 1) });
    try {
      const response = await fetch(`${fixed.url}/_control/clock`, {
        method: "POST",
        body: '{"advanceMs":1000}',
      });
      expect(response.status).toBe(409);
    } finally {
      await fixed.close();
    }
  });
});

describe("one seed, one scenario", () => {
  async function scenario(seed: number, keysFile: string) {
    const receiver = await startReceiver();
    const sandbox = await startSandbox({ seed, keysFile, stripeWebhookUrl: receiver.url });
    try {
      await control(sandbox, "faults", { delivery: { rates: { drop: 0.2, duplicate: 0.2, reorder: 0.2 } } });
      const eventIds: string[] = [];
      for (let i = 0; i < 12; i += 1) {
        const answer = await control(sandbox, "stripe/pay", { orderId: `ord_seed_${i}` });
        eventIds.push(...(answer.eventIds as string[]));
      }
      await control(sandbox, "deliveries/release", { all: true });
      const log = (await control(sandbox, "deliveries?wait=1")).deliveries as Array<Record<string, unknown>>;
      return { eventIds, sequence: log.map((a) => `${a.eventId}:${a.fault ?? "-"}:${a.status}`) };
    } finally {
      await sandbox.close();
      await receiver.close();
    }
  }

  it("replays the same ids and the same delivery sequence, and another seed differs", async () => {
    const keysFile = join(dir, "seed-keys.json");
    const first = await scenario(7, keysFile);
    const second = await scenario(7, keysFile);
    expect(second).toEqual(first);
    expect(new Set(first.sequence.map((entry) => entry.split(":")[1]))).toEqual(
      new Set(["-", "drop", "duplicate", "reorder"]),
    );
    const other = await scenario(8, keysFile);
    expect(other.eventIds).not.toEqual(first.eventIds);
  });
});

describe("command line", () => {
  it("prints the URL and credentials as one JSON line and stops on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(new URL("./cli.ts", import.meta.url)),
        "--port",
        "0",
        "--seed",
        "5",
        "--keys",
        join(dir, "cli.json"),
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const line = await new Promise<string>((resolve) => {
      child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString("utf8")));
    });
    const printed = JSON.parse(line) as { url: string; seed: number; stripe: { secretKey: string } };
    expect(printed.seed).toBe(5);
    expect(printed.stripe.secretKey).toMatch(/^sk_test_/);
    const response = await fetch(`${printed.url}/v1/events`, {
      headers: { authorization: `Bearer ${printed.stripe.secretKey}` },
    });
    expect(response.status).toBe(200);
    const exit = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
  });
});

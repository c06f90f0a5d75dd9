/**
 * One local stack and one headless Chromium per browser test file: `wrangler dev` with the stand-in and the
 * sandbox (dev/local-stack.ts) on free ports, a temporary env file and state directory, and the helpers the
 * files share (sign-in in a context of its own, screenshots, the stand-in's SQL, the sandbox's controls).
 * Sign-ins are few on purpose: the console allows 10 a minute per address, and every browser here is
 * 127.0.0.1.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type LocalStack, startLocalStack } from "../../../dev/local-stack.ts";

export const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const SCREENSHOTS = join(import.meta.dirname, "..", "screenshots");
export const ADMIN_TOKEN = "browser-admin-token-0123456789abcdef";
export const STACK_TIMEOUT_MS = 120_000;
/** How long a wait for something the stack does in the background (a delivery, an alert) may take. */
export const BACKGROUND_WAIT_MS = 30_000;
const POLL_MS = 200;

export const DESKTOP = { width: 1440, height: 900 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export const chromiumPresent = existsSync(CHROMIUM);
if (!chromiumPresent) console.log(`browser tests skipped: ${CHROMIUM} is not installed`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Polls `probe` until it answers something other than undefined; throws with `what` at the deadline. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + BACKGROUND_WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export interface ConsoleStack {
  stack: LocalStack;
  browser: Browser;
  url(path: string): string;
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  /** A sandbox control call (`POST /_control/<path>`, or GET without a body). */
  control<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T>;
  /** A fresh browser context (its own cookies) at `viewport`, in `lang`, not signed in. */
  context(viewport?: { width: number; height: number }, lang?: "en" | "zh"): Promise<BrowserContext>;
  /** Signs `page` in through the login form it is on (or opens the form), and waits to leave it. */
  signIn(page: Page): Promise<void>;
  /** A signed-in page in a context of its own. */
  signedInPage(viewport?: { width: number; height: number }, lang?: "en" | "zh"): Promise<Page>;
  shot(name: string, page: Page): Promise<void>;
  stop(): Promise<void>;
}

export async function startConsole(): Promise<ConsoleStack> {
  const workDir = await mkdtemp(join(tmpdir(), "payguard-browser-"));
  await mkdir(SCREENSHOTS, { recursive: true });
  const stack = await startLocalStack({
    workerPort: await freePort(),
    jwtSecret: "browser-test-jwt-secret-0123456789abcdef",
    adminToken: ADMIN_TOKEN,
    envFile: join(workDir, "worker.env"),
    wranglerArgs: ["--persist-to", join(workDir, "state")],
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  const url = (path: string) => `${stack.workerUrl}${path}`;

  const control = async <T>(path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${stack.sandbox.url}/_control/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`sandbox ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };

  const context = async (viewport: { width: number; height: number } = DESKTOP, lang = "en") => {
    const created = await browser.newContext({ viewport });
    if (lang !== "en") {
      const page = await created.newPage();
      await page.goto(url(`/admin/lang/${lang}?back=/admin/login`));
      await page.close();
    }
    return created;
  };

  const signIn = async (page: Page) => {
    if (!new URL(page.url()).pathname.startsWith("/admin/login")) await page.goto(url("/admin/login"));
    await page.fill("#token", ADMIN_TOKEN);
    await Promise.all([
      page.waitForURL((target) => !target.pathname.startsWith("/admin/login")),
      page.click("button[type=submit]"),
    ]);
  };

  return {
    stack,
    browser,
    url,
    sql: (query, params = []) => stack.standIn.query(query, params),
    control,
    context,
    signIn,
    async signedInPage(viewport = DESKTOP, lang = "en") {
      const page = await (await context(viewport, lang)).newPage();
      await signIn(page);
      return page;
    },
    shot: async (name, page) => {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    async stop() {
      await browser.close();
      // wrangler's own esbuild child must be gone before vitest exits, or it dumps its goroutines.
      const exited = new Promise((resolve) => stack.wrangler.once("exit", resolve));
      await stack.stop();
      await exited;
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

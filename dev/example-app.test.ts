import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/env.ts";
import { type ExampleApp, startExampleApp } from "./example-app.ts";

let app: ExampleApp;
beforeAll(async () => {
  app = await startExampleApp(0);
});
afterAll(() => app.close());

describe("the example app npm start serves", () => {
  it("serves the checkout page, nothing else", async () => {
    const page = await fetch(app.pageUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(await page.text()).toContain('<script type="module">');
    expect((await fetch(new URL("/package.json", app.pageUrl))).status).toBe(404);
  });

  it("gives the worker variables it accepts: the page's origin and Checkout pages back to it", () => {
    const origin = new URL(app.pageUrl).origin;
    expect(app.vars.APP_ORIGINS).toBe(origin);
    const result = parseConfig({
      PUBLIC_BASE_URL: "http://127.0.0.1:8787",
      SUPABASE_URL: "http://127.0.0.1:54321",
      SUPABASE_SECRET_KEY: "sb_secret_0123456789abcdef",
      ADMIN_TOKEN: "a".repeat(32),
      PROVIDERS: "stripe",
      STRIPE_SECRET_KEY: "sk_test_123",
      STRIPE_WEBHOOK_SECRET: "whsec_abc",
      ...app.vars,
    });
    expect(result.ok && result.config.appOrigins).toEqual([origin]);
    expect(result.ok && result.config.checkout.stripe?.successUrl).toBe(
      `${app.pageUrl}?order_id={ORDER_ID}&session_id={CHECKOUT_SESSION_ID}`,
    );
  });
});

/**
 * Every visible string of the console exists in both languages: each page family rendered in Chinese shows
 * no English phrase from the words files (a string left in English, or a literal outside them), and no run
 * of three English words at all; each page in English shows no Chinese. Key parity of the words files is
 * checked by the compiler (each zh object is typed by its en one).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { WORDS } from "../../src/admin/ui/i18n.ts";
import { INCIDENT_WORDS } from "../../src/admin/ui/incidents/words.ts";
import { MONEY_WORDS } from "../../src/admin/ui/orders/money-words.ts";
import { ORDER_WORDS } from "../../src/admin/ui/orders/words.ts";
import { OVERVIEW_WORDS } from "../../src/admin/ui/overview/words.ts";
import { RUNBOOK_WORDS } from "../../src/admin/ui/runbook-words.ts";
import { SHELL_WORDS } from "../../src/admin/ui/shell-words.ts";
import { USER_WORDS } from "../../src/admin/ui/users/words.ts";
import { open } from "../support/worker/console.ts";
import { seedPackage } from "../support/worker/harness.ts";
import { pageHtml, signIn } from "../support/worker/order-pages.ts";
import { createOrder, deliverStripe, orderStatus, stripeScenario } from "../support/worker/stripe.ts";
import { seedPlan, settleHistory } from "../support/worker/subscriptions.ts";

const DICTIONARIES = [
  WORDS,
  SHELL_WORDS,
  INCIDENT_WORDS,
  MONEY_WORDS,
  ORDER_WORDS,
  OVERVIEW_WORDS,
  RUNBOOK_WORDS,
  USER_WORDS,
];
/** Names that stay as they are in Chinese text. */
const KEPT_AS_IS = /\b(payguard|Stripe|WeChat Pay|Sign in|GMT|UTC|USD|CNY|JSON|ID)\b/g;
const PHRASE_MIN_CHARS = 8;
const ENGLISH_RUN = /\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b/g;

/** English phrases (two words or more) whose Chinese counterpart is different: these must not show in zh. */
function englishPhrases(): Set<string> {
  const phrases = new Set<string>();
  const walk = (en: unknown, zh: unknown) => {
    if (typeof en === "string") {
      for (const fragment of en.split(/\{[^}]*\}|\$\{[^}]*\}/)) {
        const text = fragment.trim();
        if (text.length >= PHRASE_MIN_CHARS && /[A-Za-z]{2,}\s+[A-Za-z]{2,}/.test(text)) {
          if (typeof zh !== "string" || !zh.includes(text)) phrases.add(text);
        }
      }
    } else if (en && typeof en === "object") {
      for (const [key, value] of Object.entries(en)) walk(value, (zh as Record<string, unknown>)?.[key]);
    }
  };
  for (const dictionary of DICTIONARIES) walk(dictionary.en, dictionary.zh);
  return phrases;
}

/** What a person reads: no styles, code, folded JSON, tags or attribute values. */
function visibleText(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/g, " ")
    .replace(/<code[\s\S]*?<\/code>/g, " ")
    .replace(/<details[\s\S]*?<\/details>/g, " ")
    .replace(/<[^>]+class="[^"]*mono[^"]*"[^>]*>[^<]*/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, " ");
}

async function reviewOrder(): Promise<string> {
  const orderId = await createOrder(crypto.randomUUID());
  const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 999, currency: "usd" });
  for (const delivery of deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
  expect(await orderStatus(orderId)).toBe("needs_review");
  return orderId;
}

describe("the console in both languages", () => {
  let cookie: string;
  let pages: string[];

  beforeAll(async () => {
    await seedPackage();
    cookie = await signIn();
    const review = await reviewOrder();
    const pending = await createOrder(crypto.randomUUID());
    const subscriber = crypto.randomUUID();
    await settleHistory(subscriber, await seedPlan("i18n_monthly", { expiry: "reset" }));
    pages = [
      "/admin",
      "/admin/orders",
      `/admin/orders/${review}`,
      `/admin/orders/${pending}`,
      `/admin/orders?user=${subscriber}`,
      `/admin/users/${subscriber}`,
      `/admin/users/${crypto.randomUUID()}`,
      "/admin/incidents",
      `/admin/incidents/${encodeURIComponent(`needs_review:${review}`)}`,
      "/admin/jobs",
      "/admin/report",
      "/admin/runbook",
      "/admin/settings",
    ];
  });

  it("shows no English phrase and no run of English words on any page in Chinese", async () => {
    const phrases = [...englishPhrases()];
    expect(phrases.length).toBeGreaterThan(100);
    const found: string[] = [];
    for (const path of pages) {
      const text = visibleText(await pageHtml(path, cookie, "zh")).replace(KEPT_AS_IS, " ");
      const around = (at: number) => text.slice(Math.max(0, at - 80), at + 50);
      for (const phrase of phrases)
        if (text.includes(phrase)) found.push(`${path}: "${phrase}" in …${around(text.indexOf(phrase))}…`);
      for (const run of text.matchAll(ENGLISH_RUN))
        found.push(`${path}: "${run[0]}" in …${around(run.index)}…`);
    }
    expect(found).toEqual([]);
  });

  it("shows no Chinese on any page in English but the language switch", async () => {
    const found: string[] = [];
    for (const path of pages) {
      const text = visibleText(await pageHtml(path, cookie, "en")).replace("中文", " ");
      for (const run of text.match(/[\u4e00-\u9fff]+/g) ?? []) found.push(`${path}: "${run}"`);
    }
    expect(found).toEqual([]);
  });

  it("answers an unknown page with a 404 page in the page's language", async () => {
    const zh = await open("/admin/no-such-page", `${cookie}; payguard_lang=zh; __Host-payguard_lang=zh`);
    expect(zh.status).toBe(404);
    const text = visibleText(await zh.text()).replace(KEPT_AS_IS, " ");
    expect(text.match(ENGLISH_RUN) ?? []).toEqual([]);
  });
});

/**
 * The console's security items (issue 23): server-side sessions ended by sign-out and by removing or
 * changing a token, the throttle on wrong admin-API tokens, the security headers on every route family,
 * banners that no link can write, the body limits, deep links through sign-in, `__Host-` cookies, the
 * time-zone setting, and refusals as pages in the page language.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { userHeaders } from "../support/worker/auth.ts";
import { cookiesSetBy, csrfOf, follow, open, send, signIn, submit } from "../support/worker/console.ts";
import { adminActionsWithReason, seedPackage } from "../support/worker/harness.ts";
import { createOrder } from "../support/worker/stripe.ts";

beforeAll(seedPackage);

/** This file's addresses (the throttles count per address; other files use other ranges). */
let addresses = 0;
const someAddress = () => `192.0.2.${++addresses}`;
/** The named token global setup configures in ADMIN_TOKENS as `ci`. */
const CI_TOKEN = "test-ci-admin-token-0123456789";

describe("server-side sessions", () => {
  it("ends the session at sign-out: a copy of the cookie taken before is refused on GET and POST", async () => {
    const { cookie } = await signIn(someAddress());
    const csrf = await csrfOf("/admin/jobs", cookie);
    const out = await submit("/admin/logout", cookie, { csrf });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/admin/login");
    expect(out.headers.get("set-cookie")).toMatch(/__Host-payguard_admin=;/);

    const copied = await open("/admin/jobs", cookie);
    expect(copied.status).toBe(303);
    expect(copied.headers.get("location")).toBe("/admin/login?next=%2Fadmin%2Fjobs");
    const reason = `after sign-out ${crypto.randomUUID()}`;
    const posted = await submit("/admin/jobs/reconcile/run", cookie, { reason, csrf });
    expect(posted.status).toBe(401);
    expect(await posted.text()).toContain("Your session has ended");
    expect(await adminActionsWithReason(reason)).toEqual([{ n: 0 }]);
  });

  it("ends a removed operator's sessions at once, on GET and POST; other operators stay signed in", async () => {
    const reading = await signIn(someAddress(), CI_TOKEN);
    const writing = await signIn(someAddress(), CI_TOKEN);
    const other = await signIn(someAddress());
    expect((await open("/admin/jobs", reading.cookie)).status).toBe(200);
    const csrf = await csrfOf("/admin/jobs", writing.cookie);

    const removed = { ...env, ADMIN_TOKENS: "" };
    const refused = await open("/admin/jobs", reading.cookie, removed);
    expect(refused.status).toBe(303);
    expect(refused.headers.get("location")).toBe("/admin/login?next=%2Fadmin%2Fjobs");
    const reason = `removed operator ${crypto.randomUUID()}`;
    const posted = await submit("/admin/jobs/reconcile/run", writing.cookie, { reason, csrf }, removed);
    expect(posted.status).toBe(401);
    expect(await adminActionsWithReason(reason)).toEqual([{ n: 0 }]);
    expect((await open("/admin/jobs", other.cookie, removed)).status).toBe(200);
    // Ended, not just hidden: putting the token back does not bring the old cookie back.
    expect((await open("/admin/jobs", reading.cookie)).status).toBe(303);
  });

  it("ends the sessions signed in with a token once that token is changed", async () => {
    const { cookie } = await signIn(someAddress());
    const changed = { ...env, ADMIN_TOKEN: "another-admin-token-0123456789abcdef" };
    expect((await open("/admin/jobs", cookie, changed)).status).toBe(303);
    expect((await open("/admin/jobs", cookie)).status).toBe(303);
  });
});

describe("wrong admin-API tokens", () => {
  const api = (address: string, token: string) =>
    send("/admin/api/jobs", { headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": address } });

  it("answers 429 after 10 wrong tokens a minute from one address, while a right token still passes", async () => {
    const guesser = someAddress();
    for (let attempt = 0; attempt < 10; attempt++) {
      expect((await api(guesser, `wrong-${attempt}-0123456789abcdef`)).status).toBe(401);
    }
    const throttled = await api(guesser, "wrong-again-0123456789abcdef");
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("60");
    expect(await throttled.json()).toMatchObject({ error: "too_many_requests" });
    expect((await api(guesser, CI_TOKEN)).status).toBe(200);
    const neighbour = someAddress();
    expect((await api(neighbour, CI_TOKEN)).status).toBe(200);
    expect((await api(neighbour, "wrong-neighbour-0123456789abcdef")).status).toBe(401);
  });
});

const HEADERS = {
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "referrer-policy": "same-origin",
};

function expectSecured(response: Response) {
  for (const [name, value] of Object.entries(HEADERS)) expect(response.headers.get(name)).toBe(value);
  expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
}

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

describe("security headers", () => {
  it("are on dashboard pages, whose CSP allows their one stylesheet by hash and no script", async () => {
    const { cookie } = await signIn(someAddress());
    for (const response of [await open("/admin/jobs", cookie), await send("/admin/login")]) {
      expect(response.status).toBe(200);
      expectSecured(response);
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("form-action 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("script-src");
      const html = await response.text();
      const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? "";
      expect(style).toContain('"Segoe UI"');
      expect(csp).toContain(`style-src 'sha256-${await sha256Base64(style)}'`);
      expect(html).not.toContain("<script");
    }
  });

  it("are on admin-API answers, the order status API, 404s and redirects", async () => {
    const bearer = { authorization: `Bearer ${CI_TOKEN}`, "cf-connecting-ip": someAddress() };
    const user = crypto.randomUUID();
    const orderId = await createOrder(user);
    const answers = [
      await send("/admin/api/jobs", { headers: bearer }),
      await send("/admin/api/no-such-thing", { headers: bearer }),
      await send("/admin/api/jobs"),
      await send(`/api/orders/${orderId}`, { headers: await userHeaders(user) }),
      await send("/api/orders/ord_unknown_000000", { headers: await userHeaders(user) }),
      await send("/admin/orders"),
      await send("/no-such-route"),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 404, 401, 200, 404, 303, 404]);
    for (const answer of answers) expectSecured(answer);
    expect(answers[3]?.headers.get("content-security-policy")).toContain("default-src 'none'");
  });
});

describe("dashboard 404", () => {
  it("is a page in the layout, in both languages, for unknown paths and unknown orders; the API keeps JSON", async () => {
    const { cookie } = await signIn(someAddress());
    for (const path of ["/admin/no-such-page", "/admin/orders/ord_unknown_000000"]) {
      const response = await open(path, cookie);
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await response.text()).toMatch(/id="not-found"[\s\S]*Page not found/);
    }
    const zh = await open("/admin/no-such-page", `${cookie}; __Host-payguard_lang=zh`);
    expect(await zh.text()).toContain("页面不存在");
    const api = await send("/admin/api/no-such-thing", {
      headers: { authorization: `Bearer ${CI_TOKEN}`, "cf-connecting-ip": someAddress() },
    });
    expect(api.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await api.json()).toEqual({ error: "not_found", message: "not found" });
  });
});

describe("status banners", () => {
  it("never come from the URL", async () => {
    const { cookie } = await signIn(someAddress());
    const crafted = "/admin/jobs?done=%3Cscript%3Ealert(1)%3C%2Fscript%3E&failed=evil%20instructions";
    const html = await (await open(crafted, cookie)).text();
    expect(html).not.toContain("alert(1)");
    expect(html).not.toContain("evil instructions");
    expect(html).not.toMatch(/class="flash (ok|bad)"/);
  });

  it("show the server's outcome once, only to the session and on the page it was left for", async () => {
    const { cookie } = await signIn(someAddress());
    const csrf = await csrfOf("/admin/jobs", cookie);
    const refused = await submit("/admin/jobs/reconcile/run", cookie, { reason: "no", csrf });
    const flash = cookiesSetBy(refused);
    expect(flash).toMatch(/^__Host-payguard_flash=/);
    expect(await follow(refused, cookie)).toContain("Failed: invalid reason");
    const someoneElse = await signIn(someAddress());
    const theirs = await (await open("/admin/jobs", `${someoneElse.cookie}; ${flash}`)).text();
    expect(theirs).not.toContain("invalid reason");
    const elsewhere = await (await open("/admin/incidents", `${cookie}; ${flash}`)).text();
    expect(elsewhere).not.toContain("invalid reason");
  });
});

describe("body limits", () => {
  it("refuse a sign-in form over 4 KiB with 413, even with the right token, and start no session", async () => {
    const { response } = await signIn(someAddress(), env.ADMIN_TOKEN, { pad: "x".repeat(5000) });
    expect(response.status).toBe(413);
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(await response.text()).toContain("The form is too large");
  });

  it("refuse a dashboard form over 64 KiB with 413, doing nothing", async () => {
    const { cookie } = await signIn(someAddress());
    const csrf = await csrfOf("/admin/jobs", cookie);
    const reason = `too large ${crypto.randomUUID()}`;
    const response = await submit("/admin/jobs/reconcile/run", cookie, {
      csrf,
      reason,
      pad: "x".repeat(70_000),
    });
    expect(response.status).toBe(413);
    expect(await adminActionsWithReason(reason)).toEqual([{ n: 0 }]);
  });
});

describe("deep links", () => {
  const target = "/admin/incidents/order%3Aord_x?status=open";

  it("survive sign-in, also after a wrong token", async () => {
    const away = await send(target);
    expect(away.status).toBe(303);
    const login = away.headers.get("location") ?? "";
    expect(login).toBe(`/admin/login?next=${encodeURIComponent(target)}`);
    const form = await (await send(login)).text();
    expect(form).toContain(`name="next" value="${target}"`);

    const address = someAddress();
    const wrong = await signIn(address, "wrong-token-0123456789abcdef", { next: target });
    expect(wrong.response.headers.get("location")).toBe(`${login}&failed=1`);
    const signedIn = await signIn(address, env.ADMIN_TOKEN, { next: target });
    expect(signedIn.response.headers.get("location")).toBe(target);
  });

  it("never lead off the console", async () => {
    for (const next of ["//evil.example/admin", "https://evil.example", "/admin/../api/orders", "/\\evil"]) {
      const { response } = await signIn(someAddress(), env.ADMIN_TOKEN, { next });
      expect(response.headers.get("location")).toBe("/admin");
    }
    const switched = await send(`/admin/lang/zh?back=${encodeURIComponent("//evil.example")}`);
    expect(switched.headers.get("location")).toBe("/admin");
  });
});

describe("cookies", () => {
  it("carry __Host- over https (Path=/, no Domain) and the bare name over plain http", async () => {
    const { response } = await signIn(someAddress());
    const session = response.headers.get("set-cookie") ?? "";
    expect(session).toMatch(
      /^__Host-payguard_admin=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    );
    const lang = await send("/admin/lang/zh?back=/admin/login");
    expect(lang.headers.get("set-cookie")).toMatch(/^__Host-payguard_lang=zh;.*Path=\/;/);

    const local = await send(
      "/admin/login",
      {
        method: "POST",
        headers: {
          origin: "http://127.0.0.1:8787",
          "content-type": "application/x-www-form-urlencoded",
          "cf-connecting-ip": someAddress(),
        },
        body: new URLSearchParams({ token: env.ADMIN_TOKEN }).toString(),
      },
      env,
      "http://127.0.0.1:8787",
    );
    expect(local.status).toBe(303);
    expect(local.headers.get("set-cookie")).toMatch(/^payguard_admin=[^;]+;.*Path=\/admin;/);
  });
});

describe("time zone setting", () => {
  it("sets the operator's zone in its canonical spelling, and refuses an unknown one", async () => {
    const { cookie } = await signIn(someAddress());
    const csrf = await csrfOf("/admin/settings", cookie);
    const bad = await submit("/admin/settings/time-zone", cookie, { csrf, time_zone: "Mars/Olympus_Mons" });
    expect(cookiesSetBy(bad)).not.toContain("payguard_tz");
    expect(await follow(bad, cookie)).toContain("Failed: not a known time zone");

    const set = await submit("/admin/settings/time-zone", cookie, { csrf, time_zone: "asia/shanghai" });
    const zone =
      cookiesSetBy(set)
        .split("; ")
        .find((pair) => pair.startsWith("__Host-payguard_tz=")) ?? "";
    expect(zone).toBe("__Host-payguard_tz=Asia%2FShanghai");
    const page = await follow(set, `${cookie}; ${zone}`);
    expect(page).toContain("Done: time zone set to Asia/Shanghai");
    expect(page).toMatch(/id="time-zone"[^>]*>Asia\/Shanghai</);
    const jobs = await (await open("/admin/jobs", cookie)).text();
    expect(jobs).toMatch(/id="time-zone"[^>]*>UTC</);
  });
});

describe("refusals", () => {
  it("are pages in the page language", async () => {
    const { cookie } = await signIn(someAddress());
    const zh = `${cookie}; __Host-payguard_lang=zh`;
    const csrfRefused = await submit("/admin/jobs/reconcile/run", zh, { reason: "stale form", csrf: "x" });
    expect(csrfRefused.status).toBe(403);
    expect(csrfRefused.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await csrfRefused.text()).toContain("该表单不属于当前会话");
    const crossSite = await submit(
      "/admin/jobs/reconcile/run",
      cookie,
      { reason: "x" },
      env,
      "https://evil.example",
    );
    expect(crossSite.status).toBe(403);
    expect(await crossSite.text()).toContain("sent from another site");
  });
});

/**
 * Signing in and out, and the language switch. Sign-in is throttled per address before the token is
 * read (src/admin/ui/sign-in-limit.ts), takes a small body only, and lands on the page the browser
 * first asked for (`next`, checked by safeNext). Signing out ends the session server-side at once.
 */
import { Hono } from "hono";
import { readForm } from "../../http/request-body.ts";
import { adminTokens, identifyToken } from "../tokens.ts";
import { type DashboardEnv, endSession, pageContext, setLang, startSession } from "./context.ts";
import { loginBodyLimit, problem, requireSameOrigin } from "./guards.tsx";
import { langOf } from "./i18n.ts";
import { loginPathFor, safeNext, safePath } from "./next-path.ts";
import { LoginPage } from "./pages/login.tsx";
import { signInAllowed, THROTTLE_RETRY_AFTER_S } from "./sign-in-limit.ts";

/** Before the session check: nobody is signed in yet. */
export const signInPages = new Hono<DashboardEnv>()
  .get("/login", async (c) =>
    c.html(
      <LoginPage
        ctx={await pageContext(c)}
        failed={c.req.query("failed") === "1"}
        next={safeNext(c.req.query("next"))}
      />,
    ),
  )
  .post("/login", requireSameOrigin, async (c, next) => {
    if (await signInAllowed(c.env, c.req.header("cf-connecting-ip"))) return next();
    c.header("retry-after", String(THROTTLE_RETRY_AFTER_S));
    return problem(c, 429, "tooManySignIns");
  })
  .post("/login", loginBodyLimit, async (c) => {
    const body = await readForm(c);
    if (!body) return problem(c, 400, "formUnreadable");
    const token = typeof body.token === "string" ? body.token.trim() : "";
    const next = safeNext(typeof body.next === "string" ? body.next : null);
    const entry = await identifyToken(await adminTokens(c.env), token);
    if (!entry) {
      const failed = loginPathFor(next);
      return c.redirect(`${failed}${failed.includes("?") ? "&" : "?"}failed=1`, 303);
    }
    const started = await startSession(c, entry);
    if (!started.ok) return problem(c, 503, "unavailable");
    return c.redirect(next, 303);
  })
  .get("/lang/:lang", (c) => {
    setLang(c, langOf(c.req.param("lang")));
    return c.redirect(safePath(c.req.query("back")), 303);
  });

/** Behind the session check. */
export const signOutPages = new Hono<DashboardEnv>().post("/logout", async (c) => {
  const ended = await endSession(c);
  if (!ended.ok) return problem(c, 503, "signOutFailed");
  return c.redirect("/admin/login", 303);
});

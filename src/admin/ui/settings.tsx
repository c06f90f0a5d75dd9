/**
 * The operator's own settings (/admin/settings): the time zone the console shows times in, a cookie of
 * this browser (default REPORT_TIME_ZONE). The zone is checked against the runtime's IANA database and
 * stored in its canonical spelling; anything else is refused with nothing changed.
 */
import { Hono } from "hono";
import { z } from "zod";
import { getDeps } from "../../deps.ts";
import { backWith, type DashboardEnv, langFor, pageContext, setTimeZone } from "./context.ts";
import { validForm } from "./forms.ts";
import { ActionForm, Page, type PageContext } from "./layout.tsx";
import { SHELL_WORDS } from "./shell-words.ts";
import { canonicalTimeZone } from "./time.tsx";

const SETTINGS_PATH = "/admin/settings";
const ZONE_LENGTH_MAX = 64;
const zoneInput = z.object({
  time_zone: z.string().trim().max(ZONE_LENGTH_MAX),
  reset: z.string().optional(),
});

const knownZones = (): string[] =>
  typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

function SettingsPage({ ctx, defaultZone }: { ctx: PageContext; defaultZone: string }) {
  const w = SHELL_WORDS[ctx.lang];
  return (
    <Page ctx={ctx} title={w.settings}>
      <h1>{w.settings}</h1>
      <div class="panel">
        <ActionForm ctx={ctx} action={`${SETTINGS_PATH}/time-zone`} id="time-zone-form">
          <label for="time_zone">{w.timeZone}</label>
          <input
            id="time_zone"
            name="time_zone"
            list="time-zones"
            value={ctx.timeZone}
            maxlength={ZONE_LENGTH_MAX}
            autocomplete="off"
          />
          <datalist id="time-zones">
            {knownZones().map((zone) => (
              <option value={zone} />
            ))}
          </datalist>
          <button type="submit">{w.timeZoneSave}</button>
          <button type="submit" name="reset" value="1" class="quiet">
            {w.timeZoneReset}
          </button>
        </ActionForm>
        <p class="muted">{w.timeZoneHelp}</p>
        <p class="muted">
          {w.timeZoneDefault}: <code>{defaultZone}</code>
        </p>
      </div>
    </Page>
  );
}

export const settingsPages = new Hono<DashboardEnv>()
  .get("/settings", async (c) =>
    c.html(
      <SettingsPage ctx={await pageContext(c)} defaultZone={getDeps(c.env).config.ops.reportTimeZone} />,
    ),
  )
  .post(
    "/settings/time-zone",
    validForm(zoneInput, () => SETTINGS_PATH),
    async (c) => {
      const w = SHELL_WORDS[langFor(c)];
      const { time_zone, reset } = c.req.valid("form");
      const zone = reset ? getDeps(c.env).config.ops.reportTimeZone : canonicalTimeZone(time_zone);
      if (!zone) return backWith(c, SETTINGS_PATH, { ok: false, message: w.timeZoneUnknown });
      setTimeZone(c, reset ? null : zone);
      return backWith(c, SETTINGS_PATH, { ok: true, outcome: `${w.timeZoneSet} ${zone}` });
    },
  );

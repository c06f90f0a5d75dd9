/**
 * The one-click next actions of an incident page, chosen by the catalogue for its kind: sync an order,
 * a repair dry run prefilled with the payment's reference, a replay, the order page's review and
 * extra-payment refund, then acknowledge / mute / resolve. Orders that are not stored get no order action.
 * Each button posts to the action that already exists for it (attributed, with a fixed reason naming the
 * incident); triage comes back to this page with the outcome.
 */
import { incidentKind, type SuggestedAction } from "../../../incidents/catalogue.ts";
import { type IncidentPageData, namedOrderIds } from "../../incident-rows.ts";
import { refKind } from "../../provider-refs.ts";
import { ActionForm, type PageContext } from "../layout.tsx";
import { INCIDENT_WORDS, type IncidentWords } from "./words.ts";

/** Mute choices on the page, in minutes. */
export const MUTE_CHOICES_MIN = [60, 240, 1440] as const;

export const incidentPath = (key: string) => `/admin/incidents/${encodeURIComponent(key)}`;
export const repairDryRunHref = (ref: string) =>
  `/admin/runbook?repair_ref=${encodeURIComponent(ref)}#repair-form`;
const REPLAY_FORM_HREF = "/admin/runbook#replay-form";
const STRIPE_EVENT = /^evt_[A-Za-z0-9_]{1,200}$/;

const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

/** The reference a repair dry run starts from: the payment's, else the session's, else a WeChat order id. */
export function repairRefOf({
  incident,
  orders,
}: Pick<IncidentPageData, "incident" | "orders">): string | null {
  const d = incident.detail;
  const locator = (d.locator ?? {}) as Record<string, unknown>;
  const wechat = d.provider === "wechatpay" || incident.kind.startsWith("bill_");
  const candidates = [
    d.payment_ref,
    d.transactionId,
    locator.paymentIntentId,
    locator.sessionId,
    orders[0]?.payment_ref,
    orders[0]?.provider === "stripe" ? orders[0]?.provider_ref : null,
    ...(wechat ? namedOrderIds(d) : []),
  ];
  return candidates.map(text).find((ref): ref is string => ref !== null && refKind(ref) !== null) ?? null;
}

/** The Stripe event an incident is about, when it names one (it can be fetched again by id). */
export function stripeEventOf({ incident }: Pick<IncidentPageData, "incident">): string | null {
  const d = incident.detail;
  const subject = text(d.subject);
  const fromSubject = subject?.startsWith("stripe:") ? subject.slice("stripe:".length) : null;
  return (
    [d.event_id, d.first_event_id, fromSubject].map(text).find((id) => id && STRIPE_EVENT.test(id)) ?? null
  );
}

/** What an action started here records as its reason (admin_actions and the order timeline). */
const reasonFor = (key: string) => `from incident ${key}`;

function OrderActions(props: {
  ctx: PageContext;
  w: IncidentWords;
  data: IncidentPageData;
  action: SuggestedAction;
}) {
  const { ctx, w, data, action } = props;
  return (
    <>
      {data.orders.map((order) => {
        if (action === "sync_order")
          return (
            <ActionForm ctx={ctx} action={`/admin/orders/${order.id}/sync`}>
              <input type="hidden" name="reason" value={reasonFor(data.incident.key)} />
              <button type="submit" class="quiet">
                {w.syncOrder(order.id)}
              </button>
            </ActionForm>
          );
        if (action === "resolve_review")
          return <a href={`/admin/orders/${order.id}#review`}>{w.resolveReview(order.id)}</a>;
        return <a href={`/admin/orders/${order.id}#refund-extra`}>{w.refundExtra(order.id)}</a>;
      })}
    </>
  );
}

function Suggested({
  ctx,
  w,
  data,
  action,
}: {
  ctx: PageContext;
  w: IncidentWords;
  data: IncidentPageData;
  action: SuggestedAction;
}) {
  if (action === "sync_order" || action === "resolve_review" || action === "refund_extra_payment")
    return <OrderActions ctx={ctx} w={w} data={data} action={action} />;
  if (action === "repair_dry_run") {
    const ref = repairRefOf(data);
    return ref ? <a href={repairDryRunHref(ref)}>{w.repairDryRun(ref)}</a> : null;
  }
  if (action === "replay_events") {
    const event = stripeEventOf(data);
    if (!event) return <a href={REPLAY_FORM_HREF}>{w.replayFailed}</a>;
    return (
      <ActionForm ctx={ctx} action="/admin/stripe/events/replay">
        <input type="hidden" name="reason" value={reasonFor(data.incident.key)} />
        <input type="hidden" name="event_id" value={event} />
        <button type="submit" class="quiet">
          {w.replayEvent(event)}
        </button>
      </ActionForm>
    );
  }
  return null;
}

/** Acknowledge (no reason asked), mute for 1 / 4 / 24 h, resolve: each with an optional note. */
export function TriageForms({
  ctx,
  w,
  keys,
  back,
  acknowledged,
}: {
  ctx: PageContext;
  w: IncidentWords;
  keys: string[];
  back: string;
  acknowledged: boolean;
}) {
  const hidden = (
    <>
      {keys.map((key) => (
        <input type="hidden" name="key" value={key} />
      ))}
      <input type="hidden" name="back" value={back} />
    </>
  );
  return (
    <div class="triage">
      {!acknowledged && (
        <ActionForm ctx={ctx} action="/admin/incidents/acknowledge" id="acknowledge-form">
          {hidden}
          <input name="note" maxlength={500} placeholder={w.note} />
          <button type="submit">{w.acknowledge}</button>
        </ActionForm>
      )}
      <ActionForm ctx={ctx} action="/admin/incidents/mute" id="mute-form">
        {hidden}
        <span>{w.mute}</span>
        {MUTE_CHOICES_MIN.map((minutes) => (
          <button type="submit" name="minutes" value={String(minutes)} class="quiet">
            {w.muteFor[minutes]}
          </button>
        ))}
      </ActionForm>
      <ActionForm ctx={ctx} action="/admin/incidents/resolve" id="resolve-form">
        {hidden}
        <button type="submit" class="quiet">
          {w.resolve}
        </button>
      </ActionForm>
    </div>
  );
}

export function NextActions({ ctx, data }: { ctx: PageContext; data: IncidentPageData }) {
  const w = INCIDENT_WORDS[ctx.lang];
  const { incident } = data;
  const suggested = incidentKind(incident.kind).actions;
  return (
    <section id="next-actions" class="actions">
      <h2>{w.nextActions}</h2>
      <div class="next">
        {suggested.map((action) => (
          <Suggested ctx={ctx} w={w} data={data} action={action} />
        ))}
      </div>
      {incident.status === "open" ? (
        <TriageForms
          ctx={ctx}
          w={w}
          keys={[incident.key]}
          back={incidentPath(incident.key)}
          acknowledged={incident.acknowledged_by !== null}
        />
      ) : (
        <p class="muted">{w.resolvedIncident}</p>
      )}
    </section>
  );
}

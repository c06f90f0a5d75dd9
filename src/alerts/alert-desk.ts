/**
 * AlertDesk: one Durable Object per deployment (`idFromName("desk")`) that owns incidents, their
 * notifications, storm control, retries and the database mirror. Every incident source reaches it
 * through the AlertSink in src/alerts/desk-sink.ts.
 *
 * "Stored" (what an ok Result means): the incident is in the desk's SQLite (durable) AND the database
 * mirror has it. When the database is down the desk keeps the write journalled and retries it from its
 * alarm, and the caller gets a transient error (answers 5xx, the provider redelivers).
 *
 * Two queues keep the async parts in order: awaiting a fetch opens the input gate, so without them two
 * calls could drain the mirror journal twice or send the same message twice.
 */

import { EmailMessage } from "cloudflare:email";
import { DurableObject } from "cloudflare:workers";
import { getDeps } from "../deps.ts";
import { toHex } from "../hex.ts";
import type { IncidentInput } from "../ledger/ports.ts";
import type { InfraError, Result } from "../ledger/result.ts";
import { err, ok } from "../ledger/result.ts";
import { log } from "../log.ts";
import { SENDERS } from "./channels/index.ts";
import { CHANNEL_LIMITS, type SendIo } from "./channels/types.ts";
import { byteLength, cutUtf8 } from "./compose.ts";
import { type ChannelHealth, channelDueAt, deliverChannel, setHealth } from "./desk-delivery.ts";
import {
  nextReminderAt,
  queueReminders,
  type Router,
  recordAcknowledge,
  recordMute,
  recordRaise,
  recordResolve,
} from "./desk-incidents.ts";
import { answerFor, drain, journal, type MirrorAnswer, mirrorDueAt } from "./desk-mirror.ts";
import { type DeskStatus, deskStatus } from "./desk-status.ts";
import {
  claimSlackRequest,
  createTables,
  type IncidentRow,
  type MirrorOp,
  pruneHistory,
} from "./desk-tables.ts";
import { isSeverity } from "./notice.ts";
import { routeChannels } from "./routes.ts";
import type { AlertLanguage, AlertSettings, ChannelName, ChannelSettings } from "./settings.ts";

export type { ChannelStatus, DeskStatus } from "./desk-status.ts";

type Found = Result<{ found: boolean }, InfraError>;

/** What the Slack interactions route needs to know about an incident before it acts on it. */
export interface DeskIncident {
  key: string;
  kind: string;
  severity: IncidentRow["severity"];
  status: IncidentRow["status"];
  /** The incident's detail as JSON (RPC types cannot carry `unknown`). */
  detailJson: string;
}

/** Room a posted message keeps beside its lines for the title and a channel's extras (DingTalk @mentions). */
const POST_HEADER_RESERVE_BYTES = 300;

const badInput = (message: string) =>
  err<InfraError>({ kind: "permanent", code: "invalid_incident", message });

async function fingerprint(channel: ChannelSettings): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(
      `${channel.url}\n${channel.secret ?? ""}\n${JSON.stringify(channel.email ?? null)}`,
    ),
  );
  return toHex(new Uint8Array(digest).slice(0, 8));
}

export class AlertDesk extends DurableObject<Env> {
  /** The configured channels and reminder interval; tests point it at their own sandbox receivers. */
  settings: AlertSettings;
  private mirrorQueue: Promise<unknown> = Promise.resolve();
  /**
   * Answers for journalled writes whose caller is still waiting. A drain applies every entry it reaches,
   * including those of concurrent callers whose own drain comes later and finds them gone.
   */
  private mirrorAnswers = new Map<number, Result<MirrorAnswer, InfraError> | undefined>();
  private deliveryQueue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.settings = getDeps(env).config.alerts;
    createTables(ctx.storage.sql);
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  private channelNames(): ChannelName[] {
    return this.settings.channels.map((channel) => channel.name);
  }

  private readonly route: Router = (kind, severity) =>
    routeChannels(this.settings.routes, kind, severity, this.channelNames());

  private io(): SendIo {
    const binding = this.env.EMAIL as SendEmail | undefined;
    return {
      email: binding
        ? { binding, message: (from: string, to: string, raw: string) => new EmailMessage(from, to, raw) }
        : null,
    };
  }

  async raise(incident: IncidentInput, nowMs: number): Promise<Result<void, InfraError>> {
    if (!incident.key || !isSeverity(incident.severity))
      return badInput("incident needs a key and a known severity");
    const event = recordRaise(this.sql, incident, nowMs, this.route);
    if (event === "opened")
      log("warn", "incident_opened", { key: incident.key, severity: incident.severity });
    const mirrored = await this.mirror({ op: "open", incident, nowMs }, nowMs);
    return mirrored.ok ? ok(undefined) : mirrored;
  }

  async resolve(key: string, nowMs: number): Promise<Result<void, InfraError>> {
    if (recordResolve(this.sql, key, nowMs, this.route)) log("info", "incident_resolved", { key });
    const mirrored = await this.mirror({ op: "resolve", key, nowMs }, nowMs);
    return mirrored.ok ? ok(undefined) : mirrored;
  }

  async acknowledge(key: string, actor: string, nowMs: number): Promise<Found> {
    const here = recordAcknowledge(this.sql, key, actor, nowMs);
    const mirrored = await this.mirror({ op: "acknowledge", key, actor, nowMs }, nowMs);
    return mirrored.ok ? ok({ found: here || mirrored.value.found }) : mirrored;
  }

  async mute(key: string, untilMs: number, actor: string, nowMs: number): Promise<Found> {
    if (!(untilMs > nowMs)) return badInput("mute must end in the future");
    const here = recordMute(this.sql, key, untilMs, actor);
    const mirrored = await this.mirror({ op: "mute", key, untilMs, actor, nowMs }, nowMs);
    return mirrored.ok ? ok({ found: here || mirrored.value.found }) : mirrored;
  }

  /**
   * A message that is not about an incident (the weekly report): queued for every channel in the channel's
   * language, cut to the channel's size limit, then delivered, retried and rate-limited like the others.
   */
  async post(
    message: { title: Record<AlertLanguage, string>; lines: Record<AlertLanguage, string[]> },
    nowMs: number,
  ): Promise<DeskStatus> {
    const publicBaseUrl = getDeps(this.env).config.publicBaseUrl;
    for (const channel of this.settings.channels) {
      const { language } = channel;
      const title = message.title[language];
      const room = CHANNEL_LIMITS[channel.name].bodyBytesMax - byteLength(title) - POST_HEADER_RESERVE_BYTES;
      const text = cutUtf8(message.lines[language].join("\n"), room);
      const lines = [title, ...text.split("\n")];
      const payload = SENDERS[channel.name].payload(
        { title, lines, taken: 0, notices: [], digest: false, language, publicBaseUrl, atMs: nowMs },
        channel,
      );
      this.sql.exec(
        `insert into messages (channel, payload, incidents, created_at, attempts, next_at, status)
         values (?, ?, 0, ?, 0, ?, 'queued')`,
        channel.name,
        JSON.stringify(payload),
        nowMs,
        nowMs,
      );
    }
    await this.inDeliveryQueue(() => this.deliverAll(nowMs));
    await this.schedule(nowMs);
    return this.status();
  }

  /** Everything due at `nowMs`: mirror retries, reminders, deliveries. The alarm calls it with the wall clock. */
  async tick(nowMs: number): Promise<DeskStatus> {
    await this.inMirrorQueue(() => this.drainMirror(nowMs));
    queueReminders(this.sql, nowMs, this.settings.reminderIntervalMs, this.route);
    pruneHistory(this.sql, nowMs);
    await this.inDeliveryQueue(() => this.deliverAll(nowMs));
    await this.schedule(nowMs);
    return this.status();
  }

  override async alarm(): Promise<void> {
    await this.tick(Date.now());
  }

  /** The incident as the desk knows it (open or recently resolved); null when it never saw the key. */
  incident(key: string): DeskIncident | null {
    const row = this.sql.exec<IncidentRow>("select * from incidents where key = ?", key).toArray()[0];
    if (!row) return null;
    return {
      key: row.key,
      kind: row.kind,
      severity: row.severity,
      status: row.status,
      detailJson: row.detail,
    };
  }

  /**
   * Replay protection for Slack interactions: true the first time this (already verified) signature is
   * seen, false for a replay. Durable, so a restart does not reopen the window.
   */
  claimSlackRequest(signature: string, nowMs: number): boolean {
    return claimSlackRequest(this.sql, signature, nowMs);
  }

  /** For /health and the dashboard: are alerts on, and is each channel delivering. */
  status(): DeskStatus {
    return deskStatus(this.sql, this.settings.channels);
  }

  private async mirror(op: MirrorOp, nowMs: number): Promise<Found> {
    const id = journal(this.sql, op, nowMs);
    this.mirrorAnswers.set(id, undefined);
    try {
      await this.inMirrorQueue(() => this.drainMirror(nowMs));
      await this.schedule(nowMs);
      return answerFor(this.mirrorAnswers, id);
    } finally {
      this.mirrorAnswers.delete(id);
    }
  }

  private async drainMirror(nowMs: number): Promise<void> {
    const answers = await drain(this.sql, getDeps(this.env).store, nowMs);
    for (const [id, answer] of answers) if (this.mirrorAnswers.has(id)) this.mirrorAnswers.set(id, answer);
  }

  private async deliverAll(nowMs: number): Promise<void> {
    for (const channel of this.settings.channels) {
      const print = await fingerprint(channel);
      const state = this.sql
        .exec<{ fingerprint: string; state: ChannelHealth }>(
          "select fingerprint, state from channel_state where channel = ?",
          channel.name,
        )
        .toArray()[0];
      if (state?.state === "config_error") {
        if (state.fingerprint === print) continue;
        // The settings changed since the refusal: try the parked messages again.
        this.sql.exec(
          "update messages set status = 'queued', next_at = ? where channel = ? and status = 'failed'",
          nowMs,
          channel.name,
        );
        setHealth(this.sql, channel.name, print, "ok", null, nowMs);
      }
      await deliverChannel(
        this.sql,
        channel,
        print,
        getDeps(this.env).config.publicBaseUrl,
        this.io(),
        nowMs,
      );
    }
  }

  /** Sets the alarm for the earliest due work (blocked channels excluded); clears it when idle. */
  private async schedule(nowMs: number): Promise<void> {
    const blocked = new Set(
      this.sql
        .exec<{ channel: string }>("select channel from channel_state where state = 'config_error'")
        .toArray()
        .map((row) => row.channel),
    );
    const due = [
      mirrorDueAt(this.sql),
      nextReminderAt(this.sql, this.settings.reminderIntervalMs),
      ...this.settings.channels
        .filter((channel) => !blocked.has(channel.name))
        .map((channel) => channelDueAt(this.sql, channel, nowMs)),
    ].filter((at): at is number => at !== null);
    if (due.length === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.max(Math.min(...due), nowMs));
  }

  private inMirrorQueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.mirrorQueue.then(work);
    this.mirrorQueue = run.catch(() => undefined);
    return run;
  }

  private inDeliveryQueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.deliveryQueue.then(work);
    this.deliveryQueue = run.catch(() => undefined);
    return run;
  }
}

/** AlertDesk: one Durable Object per deployment that owns incidents, dedup, rate limits and retries. */
import { DurableObject } from "cloudflare:workers";

export class AlertDesk extends DurableObject<Env> {}

// Hosts that answer a public URL but are not the payguard deployment that owns it, for the hourly
// reachability probe: a parked domain (`/parked/...`: 200 HTML for any path) and another payguard
// deployment (`/other-deployment/health`: payguard's own /health answer, its proof made under a secret
// that is not ours). Point PUBLIC_BASE_URL at `<sandbox>/parked` or `<sandbox>/other-deployment`.
import { createHmac, randomBytes } from "node:crypto";
import { json, type SandboxRequest, type SandboxResponse } from "./http.ts";

const PARKED_PAGE = "<!doctype html><title>This domain is parked</title><p>This domain may be for sale.</p>";

export function createElsewhere() {
  const otherSecret = randomBytes(32);
  return (request: SandboxRequest): SandboxResponse | null => {
    if (request.path.startsWith("/parked/"))
      return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: PARKED_PAGE };
    if (request.path === "/other-deployment/health") {
      const nonce = request.query.get("probe") ?? "";
      const probe = createHmac("sha256", otherSecret).update(nonce).digest("hex");
      return json(200, { ok: true, version: "0.1.0", alerts: { on: false, channels: {} }, probe });
    }
    return null;
  };
}

// WeChat Pay's answer shapes: errors are `{code, message}` with WeChat's HTTP status and code names;
// request bodies are JSON objects or a PARAM_ERROR.
import { json, type SandboxResponse } from "../http.ts";

export const wechatError = (status: number, code: string, message: string): SandboxResponse =>
  json(status, { code, message });

export const paramError = (message: string): SandboxResponse => wechatError(400, "PARAM_ERROR", message);

export function parseJsonObject(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

// Stripe's error envelope: `{error: {type, code, message, param}}` with the HTTP status Stripe uses, so
// stripe-node raises the same error classes (StripeInvalidRequestError, StripeAuthenticationError ...).
import { json, type SandboxResponse } from "../http.ts";

export type StripeErrorType = "invalid_request_error" | "api_error" | "idempotency_error" | "card_error";

export interface StripeErrorInput {
  status: number;
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
}

export function stripeError(input: StripeErrorInput): SandboxResponse {
  const error: Record<string, string> = { type: input.type, message: input.message };
  if (input.code) {
    error.code = input.code;
    error.doc_url = `https://stripe.com/docs/error-codes/${input.code.replaceAll("_", "-")}`;
  }
  if (input.param) error.param = input.param;
  return json(input.status, { error });
}

export const missingResource = (objectName: string, id: string, param: string): SandboxResponse =>
  stripeError({
    status: 404,
    type: "invalid_request_error",
    code: "resource_missing",
    message: `No such ${objectName}: '${id}'`,
    param,
  });

export const invalidParam = (
  param: string,
  message: string,
  code = "parameter_invalid_empty",
): SandboxResponse => stripeError({ status: 400, type: "invalid_request_error", code, message, param });

export const unknownRoute = (method: string, path: string): SandboxResponse =>
  stripeError({
    status: 404,
    type: "invalid_request_error",
    message: `Unrecognized request URL (${method}: ${path}). This sandbox implements the subset of the Stripe API payguard uses.`,
  });

/**
 * Form input for the dashboard, validated with the same zod schemas as the API (through the zod
 * validator); a bad form goes back to its page with the problem in the flash line (303), nothing done.
 */
import { zValidator } from "@hono/zod-validator";
import type { Context } from "hono";
import type { z } from "zod";
import { backWith } from "./context.ts";

export function validForm<T extends z.ZodType>(schema: T, back: (c: Context) => string) {
  return zValidator("form", schema, (result, c) => {
    if (!result.success) {
      const fields = result.error.issues.map((issue) => issue.path.join(".") || "input").join(", ");
      return backWith(c, back(c), { ok: false, message: `invalid ${fields}` });
    }
  });
}

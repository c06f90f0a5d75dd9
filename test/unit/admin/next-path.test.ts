import { describe, expect, it } from "vitest";
import { loginPathFor, safeNext, safePath } from "../../../src/admin/ui/next-path.ts";

describe("where sign-in may land", () => {
  it("keeps console paths with their query and escapes", () => {
    for (const path of [
      "/admin",
      "/admin/orders/ord_x",
      "/admin/incidents/order%3Aord_x",
      "/admin/orders?status=pending&provider=stripe",
      "/admin/report?week=2026-11-30",
    ]) {
      expect(safeNext(path)).toBe(path);
    }
  });

  it("sends anything else to the overview", () => {
    for (const path of [
      "https://evil.example/admin",
      "//evil.example/admin",
      "/admin//evil.example",
      "/\\evil.example",
      "/admin/\\evil",
      "/admin/../api/orders",
      "/admin/%2e%2e/api/orders",
      "/admin/./orders",
      "/admin/x%zz",
      "/admin/x%",
      "/adminx",
      "/api/orders/ord_x",
      "/admin/orders#x",
      "/admin/orders\n",
      "javascript:alert(1)",
      "",
      null,
      undefined,
      `/admin/${"a".repeat(1000)}`,
      "/admin/login?next=/admin",
      "/admin/logout",
    ]) {
      expect(safeNext(path)).toBe("/admin");
    }
  });

  it("lets the language switch come back to the sign-in form with its target", () => {
    expect(safePath("/admin/login?next=%2Fadmin%2Forders")).toBe("/admin/login?next=%2Fadmin%2Forders");
    expect(loginPathFor("/admin/incidents/order%3Aord_x")).toBe(
      "/admin/login?next=%2Fadmin%2Fincidents%2Forder%253Aord_x",
    );
    expect(loginPathFor("/admin")).toBe("/admin/login");
    expect(loginPathFor("//evil.example")).toBe("/admin/login");
  });
});

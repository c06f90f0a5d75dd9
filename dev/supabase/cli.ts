/**
 * `node dev/supabase/cli.ts [--port N] [--data DIR] [--jwt-secret S]`: runs the stand-in on its own and
 * prints its URL and keys as one JSON line. DATABASE_URL, when set, is the admin URL of a Supabase-shaped
 * Postgres (`npm run db:cluster`): its database is prepared like a project and used as postgres.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { prepareSupabaseDatabase } from "./cluster.ts";
import { startStandIn } from "./standin.ts";

const { values } = parseArgs({
  options: { port: { type: "string" }, data: { type: "string" }, "jwt-secret": { type: "string" } },
});
const database = process.env.DATABASE_URL
  ? await prepareSupabaseDatabase(process.env.DATABASE_URL)
  : undefined;
const standIn = await startStandIn({
  port: values.port ? Number(values.port) : undefined,
  dataDir: values.data,
  databaseUrl: database?.ownerUrl,
  jwtSecret: values["jwt-secret"] ?? randomBytes(32).toString("hex"),
});
console.log(
  JSON.stringify({
    url: standIn.url,
    secretKey: standIn.secretKey,
    publishableKey: standIn.publishableKey,
    anonKey: standIn.anonKey,
    serviceRoleKey: standIn.serviceRoleKey,
  }),
);
const stop = () => void standIn.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

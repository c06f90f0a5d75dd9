// Runs the provider sandbox on its own:
//   node dev/sandbox/cli.ts --port 12111 --keys .payguard/sandbox-keys.json \
//     --stripe-webhook URL --wechat-notify URL --seed 7 --wechat-mode public_key
// Prints one JSON line (URL + credentials, for scripts to read) and runs until SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { startSandbox } from "./index.ts";

const WECHAT_MODES = ["public_key", "certificate", "mixed"] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      keys: { type: "string" },
      "stripe-webhook": { type: "string" },
      "wechat-notify": { type: "string" },
      "wechat-mode": { type: "string" },
      seed: { type: "string" },
    },
  });
  const mode = values["wechat-mode"] as (typeof WECHAT_MODES)[number] | undefined;
  if (mode !== undefined && !WECHAT_MODES.includes(mode))
    throw new Error(`--wechat-mode must be one of ${WECHAT_MODES.join(", ")}`);
  const sandbox = await startSandbox({
    port: values.port === undefined ? undefined : Number(values.port),
    seed: values.seed === undefined ? undefined : Number(values.seed),
    keysFile: values.keys,
    stripeWebhookUrl: values["stripe-webhook"],
    wechatNotifyUrl: values["wechat-notify"],
    wechatMode: mode,
  });
  const { close, ...described } = sandbox;
  console.log(JSON.stringify(described));
  const stop = () => void close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(`sandbox failed to start: ${(error as Error).message}`);
  process.exit(1);
});

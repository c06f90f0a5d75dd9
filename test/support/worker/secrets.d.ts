/**
 * Optional secrets: not in wrangler.toml's `required` list (a single-provider deployment must deploy
 * without them), so not generated, but the test worker's bindings always set them.
 */
declare namespace Cloudflare {
  interface Env {
    STRIPE_SECRET_KEY: string;
    STRIPE_WEBHOOK_SECRET: string;
    STRIPE_WEBHOOK_SECRET_PREVIOUS: string;
  }
}

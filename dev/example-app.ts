/**
 * The app side of `npm start`: examples/checkout-button.html served from an origin of its own, as an
 * app's page would be. The worker lists that origin in APP_ORIGINS (so the page may call `/api/*`) and
 * sends Stripe Checkout back to the page on success and cancel, so the whole purchase can be clicked
 * through in a browser. The file is read at every request: edits show on reload.
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";

export const EXAMPLE_PAGE = "checkout-button.html";
const EXAMPLES_DIR = new URL("../examples/", import.meta.url);

export interface ExampleApp {
  pageUrl: string;
  /** The worker variables that make the page an allowed app: CORS origin, success and cancel pages. */
  vars: Record<string, string>;
  close(): Promise<void>;
}

/** `port` 0 picks a free one. */
export async function startExampleApp(port: number): Promise<ExampleApp> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://app.local").pathname;
    if (request.method !== "GET" || (path !== "/" && path !== `/${EXAMPLE_PAGE}`)) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    readFile(new URL(EXAMPLE_PAGE, EXAMPLES_DIR)).then(
      (html) =>
        response
          .writeHead(200, {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            // The trial token may sit in the query string: never send it on as a Referer.
            "referrer-policy": "no-referrer",
          })
          .end(html),
      (error: Error) => response.writeHead(500, { "content-type": "text/plain" }).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : port}`;
  const pageUrl = `${origin}/${EXAMPLE_PAGE}`;
  return {
    pageUrl,
    vars: {
      APP_ORIGINS: origin,
      CHECKOUT_SUCCESS_URL: `${pageUrl}?order_id={ORDER_ID}&session_id={CHECKOUT_SESSION_ID}`,
      CHECKOUT_CANCEL_URL: `${pageUrl}?order_id={ORDER_ID}&cancelled=1`,
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

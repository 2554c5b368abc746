/**
 * What the transfer engine reports for `/metrics`. An interface so the orchestrator never
 * imports prom-client, and a run without metrics simply has none (every call is optional).
 */
export interface Metrics {
  /** One part Discord confirmed: its bytes, and the seconds of the upload request that carried it. */
  partPosted(bytes: number, seconds: number): void;
  /** One failed attempt about to be retried, by the failure's short reason (`http_502`, `timeout`, …). */
  retry(reason: string): void;
  /** discord.js waited for a rate limit before sending a request. */
  rateLimitWait(): void;
}

// Helpers of the load and fuzz scripts, which only ever target a `wrangler dev` on this machine.
export function localBase(url: string): URL {
  const base = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) {
    console.error(`refusing to send test traffic to ${base.host}: these scripts only target a local server (127.0.0.1)`);
    process.exit(2);
  }
  return base;
}

// wrangler dev's proxy answers this 503 itself when it loses its connection to the worker's workerd mid-request
// (a reload after a source edit, or under heavy local concurrency): not the app's answer, so counted apart.
export function isDevProxyRestart(status: number, body: string): boolean {
  return status === 503 && body.startsWith('Your worker restarted mid-request');
}

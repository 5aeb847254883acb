// The load and fuzz scripts only ever target a server on this machine.
export function localBase(url: string): URL {
  const base = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) {
    console.error(`refusing to send test traffic to ${base.host}: these scripts only target a local server (127.0.0.1)`);
    process.exit(2);
  }
  return base;
}

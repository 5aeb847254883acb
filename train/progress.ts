// A one-line progress bar on stderr (only when it is a terminal), with rate and ETA; plain lines otherwise.
export class Progress {
  private start = Date.now();
  private lastDraw = 0;
  private label: string;
  private total: number;
  private stream: NodeJS.WriteStream;
  constructor(label: string, total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.label = label;
    this.total = total;
    this.stream = stream;
  }

  update(done: number, extra = ''): void {
    const now = Date.now();
    if (now - this.lastDraw < 200 && done < this.total) return;
    this.lastDraw = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const elapsed = (now - this.start) / 1000;
    const eta = frac > 0 ? elapsed * (1 / frac - 1) : NaN;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const line = `${this.label} [${bar}] ${(frac * 100).toFixed(1)}% ${extra} eta ${formatSeconds(eta)}`;
    if (this.stream.isTTY) this.stream.write(`\r${line}\x1b[K`);
  }

  done(message = ''): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[K');
    if (message) this.stream.write(`${message}\n`);
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
}

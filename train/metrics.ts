// The metrics log (JSON lines next to the checkpoints) and an SVG plot of training and validation loss.
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface MetricsRow {
  kind: 'train' | 'valid' | 'eval';
  step: number;
  loss?: number;
  [key: string]: unknown;
}

export function appendMetrics(path: string, row: MetricsRow): void {
  appendFileSync(path, JSON.stringify({ time: new Date().toISOString(), ...row }) + '\n');
}

// Keeps the rows up to `step` (and the eval rows, which are not tied to training steps), atomically.
export function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());
  const kept = lines.filter((l) => {
    try {
      const r = JSON.parse(l) as MetricsRow;
      return r.kind === 'eval' || r.step <= step;
    } catch {
      return false;
    }
  });
  if (kept.length === lines.length) return;
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, kept.map((l) => l + '\n').join(''));
  renameSync(tmp, path);
}

export function readMetrics(path: string): MetricsRow[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as MetricsRow];
      } catch {
        return []; // a line cut by a kill is skipped, not fatal
      }
    });
}

// Loss against step, training (blue) and validation (orange), as a standalone SVG.
export function curvesSvg(rows: MetricsRow[]): string {
  const W = 640, H = 400, L = 56, R = 16, T = 24, B = 40;
  const series = (['train', 'valid'] as const).map((kind) => rows.filter((r) => r.kind === kind && Number.isFinite(r.loss)));
  const all = series.flat();
  const maxStep = Math.max(1, ...all.map((r) => r.step));
  const losses = all.map((r) => r.loss!);
  const lo = Math.min(...losses, Infinity);
  const hi = Math.max(...losses, -Infinity);
  const [y0, y1] = Number.isFinite(lo) ? [Math.floor(lo), Math.ceil(hi)] : [0, 1];
  const x = (s: number) => L + ((W - L - R) * s) / maxStep;
  const y = (v: number) => T + ((H - T - B) * (y1 - v)) / Math.max(y1 - y0, 1e-9);
  const colors = ['#1f77b4', '#ff7f0e'];
  const paths = series.map((rs, i) => rs.length ? `<polyline fill="none" stroke="${colors[i]}" stroke-width="1.5" points="${rs.map((r) => `${x(r.step).toFixed(1)},${y(r.loss!).toFixed(1)}`).join(' ')}"/>` : '');
  const ticks: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    ticks.push(`<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(2)}</text><line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    const s = Math.round((maxStep * i) / 4);
    ticks.push(`<text x="${x(s)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${s}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>${ticks.join('')}
<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>
${paths.join('\n')}
<text x="${W / 2}" y="${H - 6}" text-anchor="middle" font-size="12">step</text>
<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" font-size="12">loss per token</text>
<text x="${W - R - 150}" y="${T + 4}" font-size="12" fill="${colors[0]}">train</text><text x="${W - R - 90}" y="${T + 4}" font-size="12" fill="${colors[1]}">validation</text>
</svg>\n`;
}

export function writeCurves(metricsPath: string, svgPath: string): void {
  writeFileSync(svgPath, curvesSvg(readMetrics(metricsPath)));
}

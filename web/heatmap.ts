// Attention heatmap on a canvas: rows are target tokens, columns source tokens, darker is more attention.
// Sized to the container width and the device pixel ratio; returns a hit test for hover read-outs.

export interface HeatmapData {
  sourceTokens: string[];
  targetTokens: string[];
  weights: number[][]; // weights[t][s]
}

export interface Layout {
  cellAt(x: number, y: number): { t: number; s: number } | null;
}

const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
// A perceptually even ramp from paper to ink (after ColorBrewer's Blues).
const STOPS: Array<[number, number, number]> = [
  [247, 251, 255],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];

export function color(v: number): string {
  const x = Math.min(1, Math.max(0, v)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return `rgb(${a.map((c, k) => Math.round(c + (b[k] - c) * f)).join(',')})`;
}

// Long subwords are cut so one token cannot push the grid off the card.
const label = (tok: string) => (tok.length > 14 ? tok.slice(0, 13) + '…' : tok);

const LEGEND = 90; // px right of the grid: the colour scale

// `stretch` scales each row to its own maximum: weak patterns (an untrained model, a long source) show.
export function drawHeatmap(canvas: HTMLCanvasElement, data: HeatmapData, maxWidth: number, stretch = false): Layout {
  const ctx = canvas.getContext('2d')!;
  const { sourceTokens: src, targetTokens: tgt, weights } = data;
  ctx.font = FONT;
  const rowLabel = Math.ceil(Math.max(40, ...tgt.map((t) => ctx.measureText(label(t)).width))) + 12;
  // Cells need not be square: columns share the width (up to 36 px), rows fit ~720 px (at least one line).
  const cw = Math.max(14, Math.min(36, Math.floor((maxWidth - rowLabel - LEGEND) / Math.max(1, src.length))));
  const ch = Math.max(14, Math.min(28, Math.floor(720 / Math.max(1, tgt.length))));
  // Source labels slant at 45 degrees when columns are wide enough not to overlap, else stand upright.
  const angle = cw >= 18 ? Math.PI / 4 : Math.PI / 2;
  const colLabel = Math.ceil(Math.max(30, ...src.map((t) => ctx.measureText(label(t)).width)) * Math.sin(angle)) + 16;
  const width = rowLabel + cw * src.length + LEGEND;
  const height = colLabel + ch * tgt.length + 4;
  const dpr = globalThis.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;

  // Rows are probabilities (softmax over the source): the raw weight is shown, 0 paper to 1 ink.
  for (let t = 0; t < tgt.length; t++) {
    const row = weights[t] ?? [];
    const scale = stretch ? 1 / Math.max(1e-9, ...row) : 1;
    for (let s = 0; s < src.length; s++) {
      ctx.fillStyle = color((row[s] ?? 0) * scale);
      ctx.fillRect(rowLabel + s * cw, colLabel + t * ch, cw - 1, ch - 1);
    }
  }

  ctx.fillStyle = '#334155';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  tgt.forEach((tok, t) => ctx.fillText(label(tok), rowLabel - 8, colLabel + t * ch + ch / 2));
  ctx.textAlign = 'left';
  src.forEach((tok, s) => {
    ctx.save();
    ctx.translate(rowLabel + s * cw + cw / 2, colLabel - 8);
    ctx.rotate(-angle);
    ctx.fillText(label(tok), 0, 0);
    ctx.restore();
  });

  // Colour scale: a vertical bar from 1 (or the row maximum) down to 0.
  const lx = rowLabel + cw * src.length + 18;
  const lh = Math.max(40, Math.min(160, ch * tgt.length));
  for (let y = 0; y < lh; y++) {
    ctx.fillStyle = color(1 - y / (lh - 1));
    ctx.fillRect(lx, colLabel + y, 12, 1);
  }
  ctx.fillStyle = '#64748b';
  ctx.textAlign = 'left';
  ctx.fillText(stretch ? 'row max' : '1', lx + 17, colLabel + 5);
  ctx.fillText('0', lx + 17, colLabel + lh - 5);

  return {
    cellAt(x, y) {
      const s = Math.floor((x - rowLabel) / cw);
      const t = Math.floor((y - colLabel) / ch);
      return s >= 0 && s < src.length && t >= 0 && t < tgt.length ? { t, s } : null;
    },
  };
}

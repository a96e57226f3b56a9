// A val image with each model's detections drawn on it, side by side: boxes coloured by class and,
// for IR models, the relation graph among the detections as lines between box centres, coloured
// by the graph that chose the edge (semantic, spatial or both). An SVG overlay per panel is
// composited onto the enlarged image with sharp.
import sharp, { type OverlayOptions } from 'sharp';
import type { DetectionGraph, ImageResult } from '../detector';
import { PALETTE } from '../plot';

export interface DrawPanel {
  title: string;
  result: ImageResult;
}

export interface DrawOptions {
  /** Category names by id (the colours follow the ids). */
  categories: Map<number, string>;
  /** Detections below this score are not drawn (nor their edges). */
  minScore: number;
  /** Enlargement of the image, so that 8 px objects stay visible. */
  scale: number;
}

/** Edge colours by graph type (1 semantic, 2 spatial, 3 both); far from the class colours. */
export const EDGE_COLORS: Record<number, { color: string; name: string }> = {
  1: { color: '#17becf', name: 'semantic edge' },
  2: { color: '#bcbd22', name: 'spatial edge' },
  3: { color: '#ffffff', name: 'both' },
};

const TITLE_HEIGHT = 28;
const GAP = 8;
const FONT = 'font-family="DejaVu Sans, Arial, sans-serif"';

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function classColor(categoryId: number): string {
  return PALETTE[(categoryId - 1 + PALETTE.length) % PALETTE.length];
}

/** Undirected edges among the kept detections, each once, with its type. */
function keptEdges(graph: DetectionGraph, kept: Set<number>): { a: number; b: number; type: number }[] {
  const seen = new Map<string, { a: number; b: number; type: number }>();
  for (let e = 0; e < graph.src.length; e++) {
    const [a, b] = [Math.min(graph.src[e], graph.dst[e]), Math.max(graph.src[e], graph.dst[e])];
    if (a === b || !kept.has(a) || !kept.has(b)) continue;
    const key = `${a},${b}`;
    const known = seen.get(key);
    seen.set(key, { a, b, type: (known?.type ?? 0) | graph.type[e] });
  }
  return [...seen.values()];
}

function panelSvg(panel: DrawPanel, width: number, height: number, options: DrawOptions): string {
  const s = options.scale;
  const dets = panel.result.detections;
  const kept = new Set(dets.map((_, i) => i).filter((i) => dets[i].score >= options.minScore));
  const centre = (i: number): [number, number] => {
    const [x, y, w, h] = dets[i].bbox;
    return [(x + w / 2) * s, (y + h / 2) * s + TITLE_HEIGHT];
  };
  const parts: string[] = [`<rect width="${width}" height="${TITLE_HEIGHT}" fill="#202020"/>`];
  parts.push(`<text x="8" y="19" ${FONT} font-size="15" fill="#ffffff">${escapeXml(panel.title)} (score ≥ ${options.minScore})</text>`);
  // Edges first, so the boxes stay readable on top of them.
  const edges = panel.result.graph ? keptEdges(panel.result.graph, kept) : [];
  for (const { a, b, type } of edges) {
    const [x1, y1] = centre(a);
    const [x2, y2] = centre(b);
    const color = EDGE_COLORS[type]?.color ?? '#ffffff';
    parts.push(`<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${color}" stroke-width="1.2" stroke-opacity="0.7"/>`);
  }
  for (const i of kept) {
    const { bbox, score, categoryId } = dets[i];
    const [x, y, w, h] = bbox.map((v) => v * s);
    const color = classColor(categoryId);
    parts.push(`<rect x="${x.toFixed(1)}" y="${(y + TITLE_HEIGHT).toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="${color}" stroke-width="2"/>`);
    const name = options.categories.get(categoryId) ?? String(categoryId);
    parts.push(`<text x="${x.toFixed(1)}" y="${(y + TITLE_HEIGHT - 2).toFixed(1)}" ${FONT} font-size="10" fill="${color}">${escapeXml(`${name} ${score.toFixed(2)}`)}</text>`);
  }
  if (panel.result.graph) {
    Object.values(EDGE_COLORS).forEach(({ color, name }, row) => {
      const y = height - 8 - 16 * row;
      parts.push(`<line x1="8" y1="${y - 4}" x2="28" y2="${y - 4}" stroke="${color}" stroke-width="2"/>`);
      parts.push(`<text x="34" y="${y}" ${FONT} font-size="12" fill="${color}">${name}</text>`);
    });
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Writes `file` (PNG): the image once per panel, enlarged, with that panel's drawing on it. */
export async function drawDetections(image: string, panels: DrawPanel[], file: string, options: DrawOptions): Promise<void> {
  const meta = await sharp(image).metadata();
  if (!meta.width || !meta.height) throw new Error(`${image}: cannot read the image size`);
  const width = Math.round(meta.width * options.scale);
  const height = Math.round(meta.height * options.scale);
  const enlarged = await sharp(image).removeAlpha().resize(width, height, { kernel: 'nearest' }).png().toBuffer();
  const panelHeight = height + TITLE_HEIGHT;
  const layers: OverlayOptions[] = [];
  panels.forEach((panel, p) => {
    const left = p * (width + GAP);
    layers.push({ input: enlarged, left, top: TITLE_HEIGHT });
    layers.push({ input: Buffer.from(panelSvg(panel, width, panelHeight, options)), left, top: 0 });
  });
  const canvas = { width: panels.length * width + (panels.length - 1) * GAP, height: panelHeight, channels: 3 as const, background: '#000000' };
  try {
    await sharp({ create: canvas }).composite(layers).png().toFile(file);
  } catch (error) {
    throw new Error(`${file}: cannot write the drawing (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
}

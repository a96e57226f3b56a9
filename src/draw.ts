// Detections drawn on their image: boxes coloured by class with label and score and, for IR models
// (detect({ returnGraph: true })), the relation graph among the detections as lines between box
// centres, coloured by the graph that chose the edge (semantic, spatial or both). One panel per
// result side by side (the demo compares models this way); an SVG overlay per panel is composited
// onto the enlarged image with sharp. Detector.detect({ draw }) and the demo's val images use it.
import { promises as fsp } from 'fs';
import * as path from 'path';
import sharp, { type OverlayOptions } from 'sharp';
import type { DetectionGraph, ImageResult } from './detector';
import { PALETTE } from './plot';
import { escapeXml } from './plot/frame';
import { IrRcnnError } from './errors';
import { describeSource } from './image';
import type { ImageSource, RgbImage } from './types';

/** The options of Detector.detect that draw its results. */
export interface DetectDrawOptions {
  /** Writes each image with its detections (and relation graph, with returnGraph) into this folder, as drawingFiles names them. */
  draw?: string;
  /** Category names by id for the labels (default: the ids). */
  categoryNames?: Record<number, string>;
  /** Detections scoring below this are not drawn (default 0.5); the results keep them. */
  drawScoreThreshold?: number;
}

export interface DrawPanel {
  /** Shown above the panel, with the score threshold. */
  title: string;
  result: ImageResult;
}

export interface DrawOptions {
  /** Category names by id (the colours follow the ids); ids label the boxes it does not name. */
  categories?: ReadonlyMap<number, string>;
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
    const name = options.categories?.get(categoryId) ?? String(categoryId);
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
export async function drawDetections(image: RgbImage, panels: DrawPanel[], file: string, options: DrawOptions): Promise<void> {
  const width = Math.round(image.width * options.scale);
  const height = Math.round(image.height * options.scale);
  const pixels = { raw: { width: image.width, height: image.height, channels: 3 as const } };
  const enlarged = await sharp(image.data, pixels).resize(width, height, { kernel: 'nearest' }).png().toBuffer();
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

/**
 * The PNG file each image is drawn to in `dir`: its file's base name, `image-<index>` for a
 * Buffer, and the input's index appended where two inputs would share a name.
 */
export function drawingFiles(images: ImageSource[], dir: string): string[] {
  let names = images.map((source, i) => (typeof source === 'string' ? path.parse(source).name : `image-${i}`));
  // A second round is needed only when an input is itself named like a suffixed one ("x-1").
  while (new Set(names).size < names.length) {
    const counts = new Map<string, number>();
    for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
    names = names.map((name, i) => ((counts.get(name) ?? 0) > 1 ? `${name}-${i}` : name));
  }
  return names.map((name) => path.join(dir, `${name}.png`));
}

/** Detector.detect's drawing: each image in one panel, titled by its name, into its drawingFiles file. */
export class ResultDrawer {
  private constructor(
    private readonly images: ImageSource[],
    private readonly files: string[],
    private readonly options: DrawOptions,
  ) {}

  /** Creates the folder; undefined when `options` asks for no drawing. */
  static async create(images: ImageSource[], options: DetectDrawOptions): Promise<ResultDrawer | undefined> {
    const dir = options.draw;
    if (dir === undefined) return undefined;
    if (typeof dir !== 'string' || dir.trim() === '') throw new IrRcnnError('ERR_INVALID_ARGUMENT', 'detect: draw must be a folder path');
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (error) {
      throw new IrRcnnError('ERR_INVALID_ARGUMENT', `${dir}: cannot create the drawing folder (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    const categories = new Map(Object.entries(options.categoryNames ?? {}).map(([id, name]) => [Number(id), name]));
    return new ResultDrawer(images, drawingFiles(images, dir), { categories, minScore: options.drawScoreThreshold ?? 0.5, scale: 1 });
  }

  /** Draws images start, start + 1, ... (decoded as `pixels`) with their `results`. */
  async draw(start: number, pixels: RgbImage[], results: ImageResult[]): Promise<void> {
    for (let k = 0; k < results.length; k++) {
      const source = this.images[start + k];
      const title = typeof source === 'string' ? path.basename(source) : describeSource(source, start + k);
      await drawDetections(pixels[k], [{ title, result: results[k] }], this.files[start + k], this.options);
    }
  }
}

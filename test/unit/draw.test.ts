// Drawing detections (src/draw.ts): class-coloured boxes, relation edges in their type colour
// between box centres, the score threshold, and the file names Detector.detect({ draw }) gives.
import { strict as assert } from 'assert';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { drawDetections, drawingFiles, EDGE_COLORS } from '../../src/draw';
import { PALETTE } from '../../src/plot';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function hexRgb(hex: string): number[] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

describe('draw: detections and the relation graph', () => {
  it('draws class-coloured boxes and an edge in its type colour between the box centres', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ir-rcnn-draw-'));
    const image = { data: new Uint8Array(64 * 48 * 3).fill(0x40), width: 64, height: 48 };
    const result = {
      detections: [
        { bbox: [4, 20, 8, 8] as [number, number, number, number], score: 0.9, label: 1, categoryId: 1 },
        { bbox: [44, 20, 8, 8] as [number, number, number, number], score: 0.8, label: 3, categoryId: 3 },
        { bbox: [30, 2, 6, 6] as [number, number, number, number], score: 0.1, label: 2, categoryId: 2 },
      ],
      graph: { src: new Int32Array([0, 1, 0]), dst: new Int32Array([1, 0, 2]), type: new Uint8Array([1, 1, 2]), weight: new Float32Array([1, 1, 1]) },
    };
    const file = path.join(dir, 'out.png');
    await drawDetections(image, [{ title: 'a', result: { detections: result.detections } }, { title: 'b', result }], file, {
      categories: new Map([[1, 'disc'], [2, 'notched'], [3, 'striped']]),
      minScore: 0.5,
      scale: 2,
    });
    assert.deepEqual((await fsp.readFile(file)).subarray(0, 8), PNG_SIGNATURE);
    const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const panelWidth = 128;
    const gap = 8;
    const title = 28;
    assert.equal(info.width, 2 * panelWidth + gap);
    assert.equal(info.height, 96 + title);
    const pixel = (x: number, y: number) => [0, 1, 2].map((c) => data[(y * info.width + x) * 3 + c]);
    const near = (got: number[], want: number[], tol: number) => got.every((v, c) => Math.abs(v - want[c]) <= tol);
    // The left edge of detection 0's box (x = 8 at scale 2) in class 1's colour, in both panels.
    for (const left of [0, panelWidth + gap]) assert.ok(near(pixel(left + 8, title + 48), hexRgb(PALETTE[0]), 40), `box at ${left}: ${pixel(left + 8, title + 48)}`);
    // The semantic edge between the centres (16, 48) and (96, 48): only in the panel with the graph.
    // (a thin, half-transparent, anti-aliased line over grey: the cyan shows as green and blue over red)
    assert.equal(EDGE_COLORS[1].color, '#17becf');
    const [r, g, b] = pixel(panelWidth + gap + 56, title + 48);
    assert.ok(g - r > 40 && b - r > 40, `edge: ${[r, g, b]}`);
    assert.ok(near(pixel(56, title + 48), [0x40, 0x40, 0x40], 10), 'no edge without a graph');
    // Detection 2 scores under minScore: neither it nor its spatial edge is drawn.
    assert.ok(near(pixel(panelWidth + gap + 40, title + 26), [0x40, 0x40, 0x40], 10));
    await fsp.rm(dir, { recursive: true });
  });

  it('names each drawing after its input: the base name, image-<index> for a Buffer, the index added where names clash', () => {
    const png = Buffer.from('');
    assert.deepEqual(drawingFiles(['a/x.jpg', 'b/x.png', png, 'c/y.jpeg'], 'out'), ['out/x-0.png', 'out/x-1.png', 'out/image-2.png', 'out/y.png']);
    // An input named like a suffixed one ("x-1") gets a second suffix rather than overwriting.
    assert.deepEqual(drawingFiles(['x.jpg', 'd/x.jpg', 'x-1.png'], 'out'), ['out/x-0.png', 'out/x-1-1.png', 'out/x-1-2.png']);
    assert.deepEqual(drawingFiles([png, 'image-0.png'], 'out'), ['out/image-0-0.png', 'out/image-0-1.png']);
  });
});

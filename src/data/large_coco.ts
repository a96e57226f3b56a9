// Writes a COCO instances file shaped like instances_train2017.json (118k images, 860k boxes with
// polygon segmentations, ~450 MB) from a seed, streaming, for measuring the annotation loader at
// full scale without downloading COCO. The bench reuses it.
import * as fs from 'fs';
import { once } from 'events';
import { Random } from './random';

export interface LargeCocoOptions {
  images?: number;
  annotations?: number;
  categories?: number;
  /** Polygon vertices per segmentation (28 gives a file the size of COCO's); sets the file size. */
  polygonPoints?: number;
  seed?: number;
}

/** Writes the file and resolves to its size in bytes. */
export async function writeLargeCocoAnnotations(file: string, options: LargeCocoOptions = {}): Promise<number> {
  const { images = 118287, annotations = 860001, categories = 80, polygonPoints = 28, seed = 0 } = options;
  const random = new Random(seed);
  const out = fs.createWriteStream(file);
  const failed = once(out, 'error').then(([error]) => {
    throw new Error(`${file}: cannot write (${(error as NodeJS.ErrnoException).code ?? error})`);
  });
  let pending = '';
  const write = async (text: string) => {
    pending += text;
    if (pending.length < 1 << 20) return;
    const flushed = out.write(pending);
    pending = '';
    if (!flushed) await Promise.race([once(out, 'drain'), failed]);
  };

  const widths = new Int32Array(images);
  const heights = new Int32Array(images);
  await write('{"info":{"description":"synthetic COCO-sized annotations","version":"1.0"},"licenses":[],"images":[');
  for (let i = 0; i < images; i++) {
    widths[i] = random.int(320, 640);
    heights[i] = random.int(240, 640);
    const record = { license: 1, file_name: `${String(i + 1).padStart(12, '0')}.jpg`, height: heights[i], width: widths[i], id: i + 1 };
    await write((i ? ',' : '') + JSON.stringify(record));
  }
  await write('],"annotations":[');
  for (let k = 0; k < annotations; k++) {
    const image = random.int(0, images - 1);
    const w = 1 + random.next() * (widths[image] - 1) * 0.5;
    const h = 1 + random.next() * (heights[image] - 1) * 0.5;
    const x = random.next() * (widths[image] - w);
    const y = random.next() * (heights[image] - h);
    const polygon: string[] = [];
    for (let p = 0; p < polygonPoints; p++) {
      const angle = (2 * Math.PI * p) / polygonPoints;
      polygon.push((x + w / 2 + (w / 2) * Math.cos(angle)).toFixed(2));
      polygon.push((y + h / 2 + (h / 2) * Math.sin(angle)).toFixed(2));
    }
    const bbox = [x, y, w, h].map((v) => Math.round(v * 100) / 100);
    await write(
      `${k ? ',' : ''}{"segmentation":[[${polygon.join(',')}]],"area":${(w * h * 0.7).toFixed(4)},` +
        `"iscrowd":${random.next() < 0.01 ? 1 : 0},"image_id":${image + 1},"bbox":[${bbox.join(',')}],` +
        `"category_id":${1 + random.int(0, categories - 1)},"id":${k + 1}}`,
    );
  }
  await write('],"categories":[');
  for (let c = 0; c < categories; c++) {
    await write(`${c ? ',' : ''}{"supercategory":"thing","id":${c + 1},"name":"category ${c + 1}"}`);
  }
  await write(']}');
  out.end(pending);
  await Promise.race([once(out, 'finish'), failed]);
  return out.bytesWritten;
}

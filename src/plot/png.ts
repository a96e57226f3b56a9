// SVG → PNG with sharp (librsvg underneath), so charts come out as images anyone can open.
import * as fs from 'fs';
import sharp from 'sharp';

/** Renders SVG text to PNG bytes; with `file`, also writes them there. */
export async function svgToPng(svg: string, file?: string): Promise<Buffer> {
  let png: Buffer;
  try {
    png = await sharp(Buffer.from(svg)).png().toBuffer();
  } catch (error) {
    throw new Error(`plot: cannot render the chart (${error instanceof Error ? error.message : String(error)})`);
  }
  if (file !== undefined) {
    try {
      await fs.promises.writeFile(file, png);
    } catch (error) {
      throw new Error(`${file}: cannot write the chart (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  return png;
}

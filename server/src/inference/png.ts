/** PNG encode/decode (pngjs) for the image task. */
import { PNG } from 'pngjs';

/** Encodes RGB bytes (row-major, 3 per pixel) as an 8-bit RGB PNG. */
export function encodePngRgb(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  const bytes = PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes a PNG to RGBA (throws on an invalid file). */
export function decodePng(bytes: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
}

import { createHash } from 'node:crypto';

/** The image formats the shop shows, with the extension their stored files get. */
export const imageTypes = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/avif': 'avif',
} as const;

export type ImageType = keyof typeof imageTypes;

const ascii = (bytes: Uint8Array, start: number, length: number) => Buffer.from(bytes.subarray(start, start + length)).toString('latin1');
const startsWith = (bytes: Uint8Array, signature: number[]) => signature.every((byte, i) => bytes[i] === byte);

/**
 * The image format the bytes really are, whatever the upload claimed: a declared `image/png` that is
 * an HTML page must not be served back as an image from our origin.
 */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'image/webp';
  // ISO-BMFF: a leading `ftyp` box whose major or a compatible brand is AVIF (still or sequence).
  if (bytes.length >= 16 && ascii(bytes, 4, 4) === 'ftyp') {
    const boxSize = Math.min(Buffer.from(bytes.subarray(0, 4)).readUInt32BE(0), bytes.length);
    const brands = [ascii(bytes, 8, 4)];
    for (let at = 16; at + 4 <= boxSize; at += 4) brands.push(ascii(bytes, at, 4));
    if (brands.some((brand) => brand === 'avif' || brand === 'avis')) return 'image/avif';
  }
  return undefined;
}

/**
 * Content-addressed under the product: the same bytes always get the same key, so a stored file never
 * changes and can be cached forever. The product id keeps one product's deletion from removing another's image.
 */
export function mediaKey(productId: string, bytes: Uint8Array, type: ImageType): string {
  return `${productId}/${createHash('sha256').update(bytes).digest('hex')}.${imageTypes[type]}`;
}

const keyPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/([0-9a-f]{64})\.(jpg|png|webp|avif)$/;

/** Parses a key this module made; anything else (`../`, other extensions) is refused before touching storage. */
export function parseMediaKey(key: string): { sha256: string; contentType: ImageType } | undefined {
  const match = keyPattern.exec(key);
  if (!match) return undefined;
  const contentType = (Object.keys(imageTypes) as ImageType[]).find((type) => imageTypes[type] === match[2])!;
  return { sha256: match[1]!, contentType };
}

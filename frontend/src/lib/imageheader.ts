// What an image file is, read from its first bytes: the format by magic bytes (never the file name
// or the browser's guess from the extension) and the width and height from the header, without
// decoding a single pixel, so a 60000×60000 PNG is measured, not opened.

export type ImageFormat = 'PNG' | 'JPEG' | 'WEBP' | 'TIFF' | 'BMP'

export interface ImageHeader {
  format: ImageFormat
  width: number | null // null where the header does not say in the bytes read (the server checks it)
  height: number | null
}

/** How many leading bytes `readHeader` needs: JPEG's size marker can sit after large EXIF blocks. */
export const HEADER_BYTES = 256 * 1024

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length))
}

export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 4 && bytes[0] === 0x89 && ascii(bytes, 1, 3) === 'PNG') return 'PNG'
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'JPEG'
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'WEBP'
  if (bytes.length >= 4 && (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*')) return 'TIFF'
  if (bytes.length >= 2 && ascii(bytes, 0, 2) === 'BM') return 'BMP'
  return null
}

function pngSize(view: DataView): [number, number] | null {
  // IHDR is the first chunk: length(4) 'IHDR'(4) width(4) height(4), big-endian, after the 8-byte signature.
  if (view.byteLength < 24) return null
  return [view.getUint32(16), view.getUint32(20)]
}

function jpegSize(bytes: Uint8Array, view: DataView): [number, number] | null {
  let at = 2
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return null
    const marker = bytes[at + 1]
    if (marker === 0xff) {
      at += 1 // fill byte
      continue
    }
    const length = view.getUint16(at + 2)
    // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return [view.getUint16(at + 7), view.getUint16(at + 5)]
    }
    if (marker === 0xd9 || marker === 0xda) return null // end, or scan data before any frame header
    at += 2 + length
  }
  return null
}

function webpSize(bytes: Uint8Array, view: DataView): [number, number] | null {
  const chunk = ascii(bytes, 12, 4)
  if (chunk === 'VP8X' && bytes.length >= 30) {
    const u24 = (at: number) => bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16)
    return [u24(24) + 1, u24(27) + 1]
  }
  if (chunk === 'VP8 ' && bytes.length >= 30) {
    return [view.getUint16(26, true) & 0x3fff, view.getUint16(28, true) & 0x3fff]
  }
  if (chunk === 'VP8L' && bytes.length >= 25) {
    const bits = view.getUint32(21, true)
    return [(bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1]
  }
  return null
}

function bmpSize(view: DataView): [number, number] | null {
  if (view.byteLength < 26) return null
  return [Math.abs(view.getInt32(18, true)), Math.abs(view.getInt32(22, true))]
}

/** The server's words for a file that is not an image (aiorch/analysis/media.py), after the file's name. */
export const NOT_AN_IMAGE = 'is not an image (accepted: PNG, JPEG, WebP, TIFF, BMP)'

/** The format and size from the leading bytes (pass at least HEADER_BYTES, or the whole file if smaller). */
export function readHeader(bytes: Uint8Array): ImageHeader | null {
  const format = sniffFormat(bytes)
  if (format === null) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const size =
    format === 'PNG'
      ? pngSize(view)
      : format === 'JPEG'
        ? jpegSize(bytes, view)
        : format === 'WEBP'
          ? webpSize(bytes, view)
          : format === 'BMP'
            ? bmpSize(view)
            : null // TIFF keeps its size in an IFD anywhere in the file: the server measures it
  return { format, width: size?.[0] ?? null, height: size?.[1] ?? null }
}

/** Read a file's header: only its first HEADER_BYTES are read, whatever its size. */
export async function readFileHeader(file: Blob): Promise<ImageHeader | null> {
  const buffer = await file.slice(0, HEADER_BYTES).arrayBuffer()
  return readHeader(new Uint8Array(buffer))
}

import { describe, expect, it } from 'vitest'
import { readExifOrientation } from '../src/lib/exif'

/** A minimal JPEG: SOI, an APP1 Exif segment whose IFD0 holds only the orientation tag, then SOS. */
function jpegWithOrientation(orientation: number, littleEndian: boolean): ArrayBuffer {
  const tiff = new DataView(new ArrayBuffer(26))
  tiff.setUint16(0, littleEndian ? 0x4949 : 0x4d4d)
  tiff.setUint16(2, 42, littleEndian)
  tiff.setUint32(4, 8, littleEndian) // IFD0 right after the header
  tiff.setUint16(8, 1, littleEndian) // one entry
  tiff.setUint16(10, 0x0112, littleEndian) // Orientation
  tiff.setUint16(12, 3, littleEndian) // SHORT
  tiff.setUint32(14, 1, littleEndian)
  tiff.setUint16(18, orientation, littleEndian)
  const exifHeader = [0x45, 0x78, 0x69, 0x66, 0, 0] // "Exif\0\0"
  const segmentLength = 2 + exifHeader.length + tiff.byteLength
  const bytes = [
    0xff, 0xd8, // SOI
    0xff, 0xe1, segmentLength >> 8, segmentLength & 0xff, ...exifHeader, ...new Uint8Array(tiff.buffer),
    0xff, 0xda, 0x00, 0x02, // SOS
  ]
  return new Uint8Array(bytes).buffer
}

describe('readExifOrientation', () => {
  it.each([1, 3, 6, 8])('reads orientation %i from a big-endian (Motorola) EXIF block', (o) => {
    expect(readExifOrientation(jpegWithOrientation(o, false))).toBe(o)
  })

  it.each([2, 5, 6, 7])('reads orientation %i from a little-endian (Intel) EXIF block', (o) => {
    expect(readExifOrientation(jpegWithOrientation(o, true))).toBe(o)
  })

  it('treats a JPEG without EXIF as upright', () => {
    expect(readExifOrientation(new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0, 2]).buffer)).toBe(1)
  })

  it('treats other formats and broken files as upright', () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    expect(readExifOrientation(png.buffer)).toBe(1)
    expect(readExifOrientation(new ArrayBuffer(0))).toBe(1)
    const truncated = jpegWithOrientation(6, false).slice(0, 20)
    expect(readExifOrientation(truncated)).toBe(1)
  })

  it('ignores out-of-range values', () => {
    expect(readExifOrientation(jpegWithOrientation(9, true))).toBe(1)
  })
})

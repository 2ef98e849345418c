import { describe, expect, it } from 'vitest'
import { readFileHeader, readHeader, sniffFormat } from '../src/lib/imageheader'
import { pngHeader } from './fakes'

function jpeg(width: number, height: number, exifBytes = 0): Uint8Array<ArrayBuffer> {
  const app1 = [0xff, 0xe1, ((exifBytes + 2) >> 8) & 0xff, (exifBytes + 2) & 0xff, ...new Array(exifBytes).fill(0)]
  const sof = [0xff, 0xc0, 0, 17, 8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, ...new Array(9).fill(0)]
  return new Uint8Array([0xff, 0xd8, ...app1, ...sof, 0xff, 0xd9])
}

describe('readHeader', () => {
  it('measures a 60000×60000 PNG from its 33 header bytes', () => {
    expect(readHeader(pngHeader(60000, 60000))).toEqual({ format: 'PNG', width: 60000, height: 60000 })
  })

  it('finds the JPEG frame size after an EXIF block', () => {
    expect(readHeader(jpeg(640, 480, 3000))).toEqual({ format: 'JPEG', width: 640, height: 480 })
  })

  it('reads WebP (lossless VP8L) and BMP sizes', () => {
    const webp = new Uint8Array(30)
    webp.set([...'RIFF'].map((c) => c.charCodeAt(0)), 0)
    webp.set([...'WEBPVP8L'].map((c) => c.charCodeAt(0)), 8)
    new DataView(webp.buffer).setUint32(21, (300 - 1) | ((200 - 1) << 14), true)
    expect(readHeader(webp)).toEqual({ format: 'WEBP', width: 300, height: 200 })
    const bmp = new Uint8Array(54)
    bmp.set([0x42, 0x4d])
    new DataView(bmp.buffer).setInt32(18, 12, true)
    new DataView(bmp.buffer).setInt32(22, -34, true) // top-down rows: negative height
    expect(readHeader(bmp)).toEqual({ format: 'BMP', width: 12, height: 34 })
  })

  it('knows a text file by its bytes, whatever its name says', async () => {
    const text = new TextEncoder().encode('hello, I am not a picture')
    expect(sniffFormat(text)).toBeNull()
    expect(await readFileHeader(new File([text], 'photo.png', { type: 'image/png' }))).toBeNull()
  })

  it('reads only the head of a big file', async () => {
    const big = new Blob([pngHeader(128, 96), new Uint8Array(5_000_000)])
    expect(await readFileHeader(big)).toEqual({ format: 'PNG', width: 128, height: 96 })
  })
})

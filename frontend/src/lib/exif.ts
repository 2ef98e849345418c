// EXIF orientation: phones store pixels sideways and a tag that says how to turn them.
// Browsers honour the tag when they draw an image, so redrawing it on a canvas gives upright pixels;
// we do that only when the tag asks for a turn, and send every other file unchanged.

/** The EXIF orientation (1–8) of a JPEG, or 1 when there is none or the file is not a JPEG. */
export function readExifOrientation(buffer: ArrayBuffer): number {
  const view = new DataView(buffer)
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return 1 // not a JPEG
  let offset = 2
  while (offset + 4 <= view.byteLength) {
    const marker = view.getUint16(offset)
    const length = view.getUint16(offset + 2)
    if ((marker & 0xff00) !== 0xff00 || length < 2) return 1
    if (marker === 0xffe1 && offset + 10 <= view.byteLength && view.getUint32(offset + 4) === 0x45786966) {
      return orientationFromTiff(view, offset + 10, Math.min(view.byteLength, offset + 2 + length))
    }
    if (marker === 0xffda) return 1 // start of scan: no more metadata
    offset += 2 + length
  }
  return 1
}

function orientationFromTiff(view: DataView, tiff: number, end: number): number {
  if (tiff + 8 > end) return 1
  const little = view.getUint16(tiff) === 0x4949
  const u16 = (at: number) => view.getUint16(at, little)
  const u32 = (at: number) => view.getUint32(at, little)
  const ifd = tiff + u32(tiff + 4)
  if (ifd + 2 > end) return 1
  const entries = u16(ifd)
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12
    if (entry + 12 > end) return 1
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8)
      return value >= 1 && value <= 8 ? value : 1
    }
  }
  return 1
}

/** The file with upright pixels: re-encoded (same type) only when its EXIF tag asks for a turn. */
export async function uprightImage(file: Blob): Promise<{ image: Blob; rotated: boolean }> {
  const orientation = readExifOrientation(await file.arrayBuffer())
  if (orientation === 1) return { image: file, rotated: false }
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' })
  const canvas = document.createElement('canvas')
  canvas.width = bitmap.width
  canvas.height = bitmap.height
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0)
  const image = await new Promise<Blob>((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the image could not be turned'))), file.type, 0.95),
  )
  return { image, rotated: true }
}

// A camera for Chromium's fake capture device: a PNG of a QR (the wallet's 1-bit greyscale
// PNG) decoded here with node:zlib and written as a Y4M video that shows it, still, on a
// white frame. Chromium plays the file in a loop as the webcam
// (`--use-file-for-fake-video-capture`), so the page's camera path reads a real code.

import { readFileSync, writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

/** Decodes a non-interlaced greyscale PNG of bit depth 1 or 8 into one byte per pixel. */
export function decodeGreyPng(bytes) {
  if (bytes.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let offset = 8;
  let header;
  const data = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8], colour: body[9], interlace: body[12] };
    } else if (type === 'IDAT') {
      data.push(body);
    }
    offset += 12 + length;
  }
  const { width, height, depth, colour, interlace } = header;
  if (colour !== 0 || interlace !== 0 || (depth !== 1 && depth !== 8)) {
    throw new Error(`unsupported PNG: colour ${colour}, depth ${depth}, interlace ${interlace}`);
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = Math.ceil((width * depth) / 8);
  const rows = Buffer.alloc(stride * height);
  // Unfilter (PNG filter types 0–4; for depths under 8 the left neighbour is one byte back).
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x > 0 ? rows[y * stride + x - 1] : 0;
      const b = y > 0 ? rows[(y - 1) * stride + x] : 0;
      const c = x > 0 && y > 0 ? rows[(y - 1) * stride + x - 1] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      rows[y * stride + x] = v & 0xff;
    }
  }
  const pixels = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      pixels[y * width + x] = depth === 8 ? rows[y * stride + x] : (rows[y * stride + (x >> 3)] >> (7 - (x & 7))) & 1 ? 255 : 0;
    }
  }
  return { width, height, pixels };
}

/**
 * Writes `png` (a QR picture) as a Y4M video of `frames` identical frames, centred on a
 * white 640×480 (or larger) frame, as a phone held up to a webcam would fill it.
 */
export function qrPngToY4m(png, file, { frames = 10 } = {}) {
  const qr = decodeGreyPng(readFileSync(png));
  const even = (n) => n + (n % 2);
  const width = even(Math.max(640, qr.width + 64));
  const height = even(Math.max(480, qr.height + 64));
  const luma = Buffer.alloc(width * height, 235); // video white
  const left = (width - qr.width) >> 1;
  const top = (height - qr.height) >> 1;
  for (let y = 0; y < qr.height; y++) {
    for (let x = 0; x < qr.width; x++) {
      luma[(top + y) * width + left + x] = qr.pixels[y * qr.width + x] >= 128 ? 235 : 16;
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128); // no colour
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma]);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  writeFileSync(file, Buffer.concat([header, ...Array(frames).fill(frame)]));
  return file;
}

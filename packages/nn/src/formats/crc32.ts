/**
 * CRC-32 (IEEE 802.3, the zlib/PNG one) in plain TypeScript, so that the checkpoint formats run wherever
 * JavaScript does (browsers included) without node:zlib.
 */

let tables: Uint32Array[] | undefined;

/** T[0] is the classic byte table; T[k][n] is the CRC of byte n followed by k zero bytes (slicing-by-8). */
function crcTables(): Uint32Array[] {
  if (tables) return tables;
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c >>> 0;
  }
  tables = [t0];
  for (let k = 1; k < 8; k++) {
    const previous = tables[k - 1];
    const tk = new Uint32Array(256);
    for (let n = 0; n < 256; n++) tk[n] = (previous[n] >>> 8) ^ t0[previous[n] & 0xff];
    tables.push(tk);
  }
  return tables;
}

/** CRC-32 of the bytes, eight bytes per step (a checkpoint's data runs to hundreds of megabytes). */
export function crc32(bytes: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = crcTables();
  let crc = 0xffffffff;
  let i = 0;
  for (const end = bytes.length - 7; i < end; i += 8) {
    const low = crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    crc =
      t7[low & 0xff] ^
      t6[(low >>> 8) & 0xff] ^
      t5[(low >>> 16) & 0xff] ^
      t4[low >>> 24] ^
      t3[bytes[i + 4]] ^
      t2[bytes[i + 5]] ^
      t1[bytes[i + 6]] ^
      t0[bytes[i + 7]];
  }
  for (; i < bytes.length; i++) crc = t0[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The same CRC one byte per step: the textbook definition, kept as a check on the faster one. */
export function crc32Portable(bytes: Uint8Array): number {
  const t0 = crcTables()[0];
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = t0[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

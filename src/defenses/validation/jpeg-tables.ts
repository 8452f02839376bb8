/**
 * The pieces of baseline JPEG (ITU-T T.81 / ISO 10918-1) that JPEG-style quantisation needs:
 * the example quantisation tables of Annex K (Tables K.1 luminance, K.2 chrominance, natural
 * row-major order), their scaling by a quality setting as the IJG libjpeg does it
 * (jpeg_quality_scaling + jpeg_add_quant_table with force_baseline), the orthonormal 8×8 DCT-II,
 * and the JFIF RGB ↔ YCbCr conversion.
 */

// biome-ignore format: 8×8 table
export const LUMINANCE_TABLE: readonly number[] = [
  16, 11, 10, 16, 24, 40, 51, 61,
  12, 12, 14, 19, 26, 58, 60, 55,
  14, 13, 16, 24, 40, 57, 69, 56,
  14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77,
  24, 35, 55, 64, 81, 104, 113, 92,
  49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];

// biome-ignore format: 8×8 table
export const CHROMINANCE_TABLE: readonly number[] = [
  17, 18, 24, 47, 99, 99, 99, 99,
  18, 21, 26, 66, 99, 99, 99, 99,
  24, 26, 56, 99, 99, 99, 99, 99,
  47, 66, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99,
];

/**
 * A table scaled for quality 1–100 (libjpeg): scale = 5000/q below 50, else 200 − 2q; each entry
 * becomes floor((entry · scale + 50) / 100), kept in [1, 255]. Quality 50 is the table itself;
 * quality 100 is all ones.
 */
export function scaleQuantTable(table: readonly number[], quality: number): Float32Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  return Float32Array.from(table, (v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
}

/** The orthonormal 8-point DCT-II matrix: A[u][x] = c(u) cos((2x + 1)uπ/16), c(0) = √(1/8), else 1/2. */
export function dctMatrix(): Float64Array {
  const a = new Float64Array(64);
  for (let u = 0; u < 8; u++) {
    const c = u === 0 ? Math.sqrt(1 / 8) : 0.5;
    for (let x = 0; x < 8; x++) a[u * 8 + x] = c * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  }
  return a;
}

/** JFIF RGB → YCbCr (0–255 scale, Cb and Cr centred on 128), rows Y, Cb, Cr over columns R, G, B. */
// biome-ignore format: 3×3 matrix
export const RGB_TO_YCBCR: readonly number[] = [
  0.299, 0.587, 0.114,
  -0.168736, -0.331264, 0.5,
  0.5, -0.418688, -0.081312,
];

/** JFIF YCbCr → RGB for centred Cb, Cr: rows R, G, B over columns Y, Cb − 128, Cr − 128. */
// biome-ignore format: 3×3 matrix
export const YCBCR_TO_RGB: readonly number[] = [
  1, 0, 1.402,
  1, -0.344136, -0.714136,
  1, 1.772, 0,
];

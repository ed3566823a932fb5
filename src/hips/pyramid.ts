/**
 * The HiPS pyramid of image tiles (HIPS-07): the deepest order is resampled from the
 * originals, and each lower-order pixel is the mean of the four pixels under it, one order
 * deeper, so a tile at order k is the 2x2 mean of its four children at order k + 1.
 */

/**
 * The tile at order k from its four children (4N + c, c = 0..3, HIPS-03), each a W x W
 * array row by row from the top (PNG layout), undefined where a child has no data. With the
 * HIPS-05 layout, parent pixel (row r, column x) has sub-index interleave(r, x); its four
 * cells one order deeper are in child c = (r >> (S-1)) | ((x >> (S-1)) << 1), at rows
 * 2(r mod W/2) + {0, 1} and columns 2(x mod W/2) + {0, 1}: each child fills one quadrant
 * (0 top-left, 1 bottom-left, 2 top-right, 3 bottom-right). NaN pixels (no data) are left
 * out of the mean; a parent pixel with no finite child stays NaN.
 */
export function meanOfChildren(
  children: ReadonlyArray<Float32Array | undefined>,
  width: number,
): Float32Array | undefined {
  if (!children.some((c) => c)) return undefined;
  const half = width / 2;
  const out = new Float32Array(width * width).fill(Number.NaN);
  let any = false;
  for (let c = 0; c < 4; c++) {
    const child = children[c];
    if (!child) continue;
    const r0 = c & 1 ? half : 0;
    const x0 = c & 2 ? half : 0;
    for (let r = 0; r < half; r++)
      for (let x = 0; x < half; x++) {
        const i = 2 * r * width + 2 * x;
        let sum = 0;
        let n = 0;
        for (const v of [child[i], child[i + 1], child[i + width], child[i + width + 1]])
          if (Number.isFinite(v)) {
            sum += v;
            n++;
          }
        if (n > 0) {
          out[(r0 + r) * width + x0 + x] = sum / n;
          any = true;
        }
      }
  }
  return any ? out : undefined;
}

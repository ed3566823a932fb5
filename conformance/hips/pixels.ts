// Drawn pixels of screenshots: `tsx conformance/hips/pixels.ts KIND BEST PNG...` counts, in
// each, the grey image pixels (KIND image or cube) or the catalogue's red markers (KIND
// catalog), copies the screenshot with the most to BEST and prints that count.
import { copyFileSync } from 'node:fs';
import sharp from 'sharp';

const [kind, best, ...files] = process.argv.slice(2);
let most = 0;
for (const file of files) {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let p = 0; p < data.length; p += info.channels) {
    const [r, g, b] = [data[p], data[p + 1], data[p + 2]];
    if (
      kind === 'catalog'
        ? r > 150 && g < 90 && b < 90
        : r > 12 && Math.abs(r - g) < 10 && Math.abs(g - b) < 10
    )
      n++;
  }
  if (n > most || (n === most && most === 0)) {
    most = n;
    copyFileSync(file, best);
  }
}
console.log(most);
